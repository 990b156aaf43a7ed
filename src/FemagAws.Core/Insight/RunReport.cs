using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;

namespace FemagAws.Insight
{
    /// <summary>
    /// A run's jobs as one self-contained HTML page: a timeline of the jobs' runs by instance, the job table and the
    /// run's totals. Inline CSS and a little inline script only, so the file opens anywhere with no network.
    /// </summary>
    public static class RunReport
    {
        public const string DefaultTitle = "FEMAG run";

        // Each lane of a timeline row, in pixels: small, so 1,000 instances stay a page one can scroll through.
        private const int LaneHeight = 9;
        private const int LaneGap = 2;

        private static readonly FemagJobState[] States = (FemagJobState[])Enum.GetValues(typeof(FemagJobState));

        /// <summary>
        /// The page for <paramref name="jobs"/>. Runs that have not ended reach to the report's end: the latest time the
        /// jobs record, or <paramref name="now"/> while a job is still running or waiting.
        /// </summary>
        public static string Html(IReadOnlyCollection<FemagJob> jobs, string? title, DateTime now)
        {
            var html = new StringBuilder(2048 + jobs.Count * 900);
            var heading = string.IsNullOrWhiteSpace(title) ? DefaultTitle : title!;
            var end = EndOf(jobs, now);
            html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .Append("<meta name=\"generator\" content=\"FemagAws Export-FemagReport\">")
                .Append("<title>").Append(Escape(heading)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
            html.Append("<h1>").Append(Escape(heading)).Append("</h1>\n<p class=\"sub\">")
                .Append(jobs.Count.ToString(CultureInfo.InvariantCulture)).Append(" job(s); report made ")
                .Append(Escape(Time(now))).Append("</p>\n");
            Totals(html, RunTotals.Of(jobs));
            Timeline(html, jobs, end);
            Table(html, jobs);
            html.Append("<script>").Append(Script).Append("</script>\n</body></html>\n");
            return html.ToString();
        }

        private static void Totals(StringBuilder html, RunTotals totals)
        {
            html.Append("<h2>Totals</h2>\n<p id=\"summary\">").Append(Escape(totals.Summary)).Append("</p>\n<table class=\"totals\"><thead><tr>")
                .Append("<th>jobs</th><th>succeeded</th><th>failed</th><th>unfinished</th><th>instance-hours</th><th>cost</th></tr></thead><tbody><tr>");
            foreach (var count in new[] { totals.Jobs, totals.Succeeded, totals.Failed, totals.Unfinished })
            {
                html.Append("<td>").Append(count.ToString(CultureInfo.InvariantCulture)).Append("</td>");
            }

            html.Append("<td>").Append(RunTotals.Hours(totals.InstanceHours)).Append("</td><td>").Append(Escape(Cost(totals.Cost, totals.Unpriced))).Append("</td></tr></tbody></table>\n");
            if (totals.ByKind.Count == 0)
            {
                return;
            }

            html.Append("<table class=\"totals\"><thead><tr><th>instance type</th><th>Spot/On-Demand</th><th>jobs</th><th>instance-hours</th><th>cost</th></tr></thead><tbody>");
            foreach (var kind in totals.ByKind)
            {
                html.Append("<tr><td>").Append(Escape(kind.InstanceType)).Append("</td><td>").Append(Escape(kind.Lifecycle)).Append("</td><td>")
                    .Append(kind.Jobs.ToString(CultureInfo.InvariantCulture)).Append("</td><td>").Append(RunTotals.Hours(kind.Hours)).Append("</td><td>")
                    .Append(Escape(Cost(kind.Cost, kind.Unpriced))).Append("</td></tr>");
            }

            html.Append("</tbody></table>\n");
        }

        private static string Cost(decimal? cost, int unpriced) =>
            (cost is decimal usd ? RunTotals.Dollars(usd) : "no price") + (cost != null && unpriced > 0 ? $" ({unpriced} job(s) without a price)" : string.Empty);

        /// <summary>Where open runs end: the latest time known, or now while some job has not finished.</summary>
        private static DateTime EndOf(IEnumerable<FemagJob> jobs, DateTime now)
        {
            var list = jobs.ToList();
            if (list.Any(j => j.State == FemagJobState.Running || j.State == FemagJobState.Queued))
            {
                return now;
            }

            var times = list.SelectMany(j => j.Runs.SelectMany(r => new[] { (DateTime?)r.Start, r.End }).Concat(new[] { j.FinishTime, j.LaunchTime }))
                .Where(t => t.HasValue).Select(t => t!.Value).ToList();
            return times.Count == 0 ? now : times.Max();
        }

        private static void Timeline(StringBuilder html, IReadOnlyCollection<FemagJob> jobs, DateTime end)
        {
            var runs = jobs.SelectMany(j => j.Runs.Select(r => new Bar(j, r, end))).ToList();
            html.Append("<h2>Timeline</h2>\n");
            var unrun = jobs.Where(j => j.Runs.Count == 0).Select(j => j.Index).OrderBy(i => i).ToList();
            if (runs.Count == 0)
            {
                html.Append("<p class=\"note\">No job has a recorded run yet.</p>\n");
                return;
            }

            var start = runs.Min(b => b.Start);
            var span = Math.Max(1.0, (end - start).TotalSeconds);
            html.Append("<p class=\"legend\">");
            foreach (JobRunOutcome outcome in Enum.GetValues(typeof(JobRunOutcome)))
            {
                html.Append("<span class=\"key o-").Append(outcome).Append("\"></span>").Append(outcome).Append(' ');
            }

            html.Append("<span class=\"key open o-Running\"></span>not ended by the report's end <span class=\"key again o-Succeeded\"></span>a relaunch (attempt 2 or later)")
                .Append(" <label>Zoom <input id=\"zoom\" type=\"range\" min=\"800\" max=\"12000\" step=\"200\" value=\"1200\"></label></p>\n");
            if (unrun.Count > 0)
            {
                html.Append("<p class=\"note\">Without a recorded run: job(s) ").Append(string.Join(", ", unrun.Select(i => i.ToString(CultureInfo.InvariantCulture)))).Append(".</p>\n");
            }

            html.Append("<div id=\"timeline\" class=\"tl\"><div class=\"axis\"><div class=\"lbl\">instance; time UTC from ")
                .Append(start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append("</div><div class=\"track\">");
            Axis(html, start, span);
            html.Append("</div></div>\n");

            // One row per instance, in the order the instances started; a pool instance's jobs share its row.
            foreach (var row in runs.GroupBy(b => b.Run.InstanceId).OrderBy(g => g.Min(b => b.Start)).ThenBy(g => g.Key, StringComparer.Ordinal))
            {
                var bars = row.OrderBy(b => b.Start).ThenBy(b => b.Job.Index).ToList();
                var lanes = Lanes(bars);
                var first = bars[0].Run;
                html.Append("<div class=\"row\" data-instance=\"").Append(Escape(row.Key)).Append("\"><div class=\"lbl\" title=\"")
                    .Append(Escape(row.Key)).Append("\">").Append(Escape(row.Key.Length == 0 ? "(no instance)" : row.Key))
                    .Append(" <small>").Append(Escape(first.InstanceType ?? string.Empty)).Append(' ').Append(Escape(LifecycleName(first.Lifecycle)))
                    .Append(first.PoolId != null ? " pool" : string.Empty).Append("</small></div><div class=\"track\" style=\"height:")
                    .Append((lanes.Max() + 1) * (LaneHeight + LaneGap)).Append("px\">");
                for (var i = 0; i < bars.Count; i++)
                {
                    BarHtml(html, bars[i], lanes[i], start, span);
                }

                html.Append("</div></div>\n");
            }

            html.Append("</div>\n");
        }

        /// <summary>Ticks at a round step, about ten across the run.</summary>
        private static void Axis(StringBuilder html, DateTime start, double span)
        {
            var steps = new[] { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400 };
            var step = steps.FirstOrDefault(s => span / s <= 12);
            if (step == 0)
            {
                step = (int)Math.Ceiling(span / 12 / 86400) * 86400;
            }

            var first = Math.Ceiling((start - start.Date).TotalSeconds / step) * step;
            for (var t = first; t - (start - start.Date).TotalSeconds <= span; t += step)
            {
                var at = start.Date.AddSeconds(t);
                html.Append("<span class=\"tick\" style=\"left:").Append(Percent((at - start).TotalSeconds / span)).Append("%\">")
                    .Append(at.ToString(step >= 60 ? "HH:mm" : "HH:mm:ss", CultureInfo.InvariantCulture)).Append("</span>");
            }
        }

        private static void BarHtml(StringBuilder html, Bar bar, int lane, DateTime start, double span)
        {
            var run = bar.Run;
            var left = (bar.Start - start).TotalSeconds / span;
            var width = Math.Max(0.0, (bar.End - bar.Start).TotalSeconds / span);
            html.Append("<div class=\"bar o-").Append(run.Outcome).Append(run.End == null ? " open" : string.Empty).Append(run.Attempt > 1 ? " again" : string.Empty)
                .Append("\" data-job=\"").Append(bar.Job.Index.ToString(CultureInfo.InvariantCulture))
                .Append("\" data-attempt=\"").Append(run.Attempt.ToString(CultureInfo.InvariantCulture))
                .Append("\" data-outcome=\"").Append(run.Outcome)
                .Append("\" style=\"left:").Append(Percent(left)).Append("%;width:").Append(Percent(width)).Append("%;top:")
                .Append(lane * (LaneHeight + LaneGap)).Append("px\" title=\"")
                .Append(Escape(string.Format(CultureInfo.InvariantCulture, "job {0} ({1}), attempt {2}\n{3} to {4}\n{5}", bar.Job.Index, bar.Job.BucketName,
                    run.Attempt, Time(run.Start), run.End is DateTime e ? Time(e) : "still running at " + Time(bar.End), run.Outcome)))
                .Append("\"></div>");
        }

        /// <summary>
        /// The lane of each bar (sorted by start): the first lane free by then, so the overlapping jobs of a pool
        /// instance's slots lie one above the other.
        /// </summary>
        private static int[] Lanes(IList<Bar> bars)
        {
            var laneEnds = new List<DateTime>();
            var lanes = new int[bars.Count];
            for (var i = 0; i < bars.Count; i++)
            {
                var lane = laneEnds.FindIndex(e => e <= bars[i].Start);
                if (lane < 0)
                {
                    lane = laneEnds.Count;
                    laneEnds.Add(bars[i].End);
                }
                else
                {
                    laneEnds[lane] = bars[i].End;
                }

                lanes[i] = lane;
            }

            return lanes;
        }

        private static void Table(StringBuilder html, IReadOnlyCollection<FemagJob> jobs)
        {
            html.Append("<h2>Jobs</h2>\n<p class=\"filter\"><label>State <select id=\"state\"><option value=\"\">all</option>");
            foreach (var state in States.Where(s => jobs.Any(j => j.State == s)))
            {
                html.Append("<option>").Append(state).Append("</option>");
            }

            html.Append("</select></label> <label>Find <input id=\"find\" type=\"search\" placeholder=\"bucket, instance, reason\"></label> <span id=\"shown\"></span> Click a heading to sort.</p>\n");
            html.Append("<div class=\"jt\"><table id=\"jobs\"><thead><tr>");
            foreach (var heading in new[] { "#", "bucket", "state", "exit", "attempts", "instance(s)", "type", "Spot/On-Demand", "runtime", "billed s", "cost", "reason", "folder" })
            {
                html.Append("<th>").Append(Escape(heading)).Append("</th>");
            }

            html.Append("</tr></thead><tbody>\n");
            foreach (var job in jobs.OrderBy(j => j.Index))
            {
                var instances = job.Runs.Select(r => r.InstanceId).Concat(new[] { job.InstanceId ?? string.Empty })
                    .Where(i => i.Length > 0).Distinct().ToList();
                html.Append("<tr data-job=\"").Append(job.Index.ToString(CultureInfo.InvariantCulture)).Append("\" data-state=\"").Append(job.State).Append("\" class=\"s-").Append(job.State).Append("\">");
                Cell(html, job.Index.ToString(CultureInfo.InvariantCulture), job.Index);
                Cell(html, job.BucketName);
                Cell(html, job.State.ToString());
                Cell(html, job.ExitCode?.ToString(CultureInfo.InvariantCulture), job.ExitCode);
                Cell(html, job.Attempt.ToString(CultureInfo.InvariantCulture), job.Attempt);
                Cell(html, string.Join(" ", instances));
                Cell(html, job.InstanceType);
                Cell(html, LifecycleName(job.Lifecycle));
                Cell(html, job.Runtime is TimeSpan runtime ? Duration(runtime) : null, job.Runtime?.TotalSeconds);
                Cell(html, job.BilledSeconds?.ToString("0", CultureInfo.InvariantCulture), job.BilledSeconds);
                Cell(html, job.Cost is decimal cost ? RunTotals.Dollars(cost) : null, (double?)job.Cost);
                html.Append("<td class=\"why\">").Append(Escape(job.Reason ?? string.Empty)).Append("</td><td>");
                if (!string.IsNullOrEmpty(job.Folder))
                {
                    html.Append("<a href=\"").Append(Escape(FileUri(job.Folder!))).Append("\">").Append(Escape(Path.GetFileName(job.Folder!.TrimEnd('/', '\\')))).Append("</a>");
                }

                html.Append("</td></tr>\n");
            }

            html.Append("</tbody></table></div>\n");
        }

        private static void Cell(StringBuilder html, string? text, double? sortBy = null)
        {
            html.Append("<td");
            if (sortBy.HasValue)
            {
                html.Append(" data-v=\"").Append(sortBy.Value.ToString("R", CultureInfo.InvariantCulture)).Append('"');
            }

            html.Append('>').Append(Escape(text ?? string.Empty)).Append("</td>");
        }

        /// <summary>
        /// A file: URI for a local or UNC folder, each path segment percent-encoded, so names with spaces, '#', '%' or
        /// '?' still lead to the folder.
        /// </summary>
        public static string FileUri(string folder)
        {
            var path = folder.Replace('\\', '/');
            var host = string.Empty;
            if (path.StartsWith("//", StringComparison.Ordinal))
            {
                // \\server\share\folder: the server is the URI's host.
                var slash = path.IndexOf('/', 2);
                host = slash < 0 ? path.Substring(2) : path.Substring(2, slash - 2);
                path = slash < 0 ? "/" : path.Substring(slash);
            }
            else if (!path.StartsWith("/", StringComparison.Ordinal))
            {
                // C:/folder
                path = "/" + path;
            }

            var segments = path.Split('/').Select((s, i) => i == 1 && s.Length == 2 && s[1] == ':' ? s : Uri.EscapeDataString(s));
            return "file://" + host + string.Join("/", segments);
        }

        private static string LifecycleName(string? lifecycle) => lifecycle == null ? string.Empty : RunTotals.LifecycleName(lifecycle);

        private static string Duration(TimeSpan time) =>
            string.Format(CultureInfo.InvariantCulture, "{0}:{1:00}:{2:00}", (int)time.TotalHours, time.Minutes, time.Seconds);

        private static string Time(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

        private static string Percent(double fraction) => (100 * fraction).ToString("0.###", CultureInfo.InvariantCulture);

        /// <summary>Text for HTML content and quoted attributes: users name buckets, folders, and scripts write reasons.</summary>
        public static string Escape(string text) => WebUtility.HtmlEncode(text);

        private sealed class Bar
        {
            public Bar(FemagJob job, JobRun run, DateTime end)
            {
                Job = job;
                Run = run;
                Start = run.Start;
                End = run.End ?? (end > run.Start ? end : run.Start);
            }

            public FemagJob Job { get; }

            public JobRun Run { get; }

            public DateTime Start { get; }

            public DateTime End { get; }
        }

        private const string Css = @"
body{font:13px/1.35 system-ui,-apple-system,'Segoe UI',sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0}h2{font-size:15px;margin:18px 0 6px}.sub,.note{color:#555;margin:2px 0}
.legend{margin:4px 0}.key{display:inline-block;width:14px;height:9px;margin:0 3px 0 10px;position:relative;vertical-align:middle}
.tl{--w:max(800px,calc(100vw - 330px));overflow:auto;max-height:65vh;border:1px solid #ccc;position:relative}
.row,.axis{display:flex;width:calc(var(--w) + 270px);border-bottom:1px solid #eee}
.axis{position:sticky;top:0;z-index:3;background:#f6f6f6;height:18px}
.lbl{position:sticky;left:0;z-index:2;flex:0 0 262px;padding:0 4px;background:#fff;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font:11px/11px monospace;border-right:1px solid #ccc}
.axis .lbl{background:#f6f6f6;line-height:18px}.lbl small{color:#666}
.track{position:relative;flex:0 0 var(--w);min-height:11px}
.tick{position:absolute;top:0;font-size:10px;line-height:18px;border-left:1px solid #bbb;padding-left:2px;white-space:nowrap}
.bar{position:absolute;height:9px;min-width:2px;box-sizing:border-box;border-radius:2px}
.o-Running{background:#1e6fd9}.o-Succeeded{background:#2e9b48}.o-Failed{background:#d33}.o-Lost{background:#f0932b}
.o-Stopped{background:#888}.o-TimedOut{background:#8e44ad}
.open{background-image:repeating-linear-gradient(45deg,rgba(255,255,255,.55) 0 3px,transparent 3px 6px);border-right:2px dashed #000}
.again{border-left:3px solid #000}
.jt{overflow:auto;max-height:75vh;border:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;width:100%}
th{position:sticky;top:0;background:#f0f0f0;cursor:pointer;text-align:left;white-space:nowrap}
td,th{padding:1px 6px;border-bottom:1px solid #eee;vertical-align:top}
table.totals{width:auto;margin-bottom:6px}table.totals th{cursor:default}
td.why{max-width:480px;white-space:pre-wrap;word-break:break-word}
tr.s-Failed td:nth-child(3){color:#c00;font-weight:600}tr.s-Succeeded td:nth-child(3){color:#1a7a35}
tr.s-TimedOut td:nth-child(3){color:#8e44ad;font-weight:600}
";

        // Zoom for the timeline; filter by state or text and sort by a heading for the table. Rows stay in the DOM.
        private const string Script = @"
(function(){
var tl=document.getElementById('timeline'),z=document.getElementById('zoom');
if(tl&&z){z.value=tl.querySelector('.track').offsetWidth;z.oninput=function(){tl.style.setProperty('--w',z.value+'px')}}
var t=document.getElementById('jobs'),b=t.tBodies[0],st=document.getElementById('state'),f=document.getElementById('find'),n=document.getElementById('shown');
function filter(){var s=st.value,q=f.value.toLowerCase(),k=0;
for(var r of b.rows){var on=(!s||r.dataset.state===s)&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);r.hidden=!on;if(on)k++}
n.textContent=k+' of '+b.rows.length+' shown.'}
st.onchange=filter;f.oninput=filter;filter();
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(h,i){var up=true;h.onclick=function(){
var rows=Array.prototype.slice.call(b.rows);rows.sort(function(x,y){var a=x.cells[i],c=y.cells[i];
var p=a.dataset.v,q=c.dataset.v,d=(p!==undefined&&q!==undefined)?p-q:(p===undefined)-(q===undefined)||a.textContent.localeCompare(c.textContent);return up?d:-d});
up=!up;rows.forEach(function(r){b.appendChild(r)})}})
})();
";
    }
}

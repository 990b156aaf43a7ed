using System.Text.RegularExpressions;
using FemagAws.Insight;
using Xunit.Abstractions;

namespace FemagAws.Core.Tests;

/// <summary>The HTML report: every job in the table and each of its runs on the timeline, escaped, with no network.</summary>
public sealed class RunReportTests
{
    private static readonly DateTime T0 = new(2026, 12, 6, 8, 0, 0, DateTimeKind.Utc);
    private readonly ITestOutputHelper _output;

    public RunReportTests(ITestOutputHelper output) => _output = output;

    private static JobRun Run(int attempt, string instance, int from, int? to, JobRunOutcome outcome, string? pool = null) => new()
    {
        Attempt = attempt, InstanceId = instance, InstanceType = "c5.xlarge", Lifecycle = FemagJob.Spot, PoolId = pool,
        Start = T0.AddSeconds(from), End = to is int end ? T0.AddSeconds(end) : null, Outcome = outcome,
    };

    private static FemagJob Job(int index, FemagJobState state, params JobRun[] runs) => new()
    {
        Index = index, BucketName = $"b-{index}", State = state, Folder = $"/work/parvar/{index}", Attempt = runs.Length,
        InstanceId = runs.LastOrDefault()?.InstanceId, InstanceType = "c5.xlarge", Lifecycle = FemagJob.Spot,
        LaunchTime = runs.FirstOrDefault()?.Start, FinishTime = runs.LastOrDefault()?.End, Runs = runs.ToList(),
    };

    private static List<string> Attr(string html, string element, string name) =>
        Regex.Matches(html, $"<{element}\\b[^>]*\\b{name}=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();

    private static List<Match> Bars(string html) =>
        Regex.Matches(html, "<div class=\"bar ([^\"]*)\" data-job=\"(\\d+)\" data-attempt=\"(\\d+)\" data-outcome=\"(\\w+)\" style=\"left:([\\d.]+)%;width:([\\d.]+)%;top:(\\d+)px\"").ToList();

    [Fact]
    public void Every_job_has_a_table_row_with_its_state_and_exit_code_and_each_run_a_bar_by_outcome()
    {
        var ok = Job(0, FemagJobState.Succeeded, Run(1, "i-a", 0, 100, JobRunOutcome.Succeeded));
        ok.ExitCode = 0;
        var failed = Job(1, FemagJobState.Failed, Run(1, "i-b", 0, 50, JobRunOutcome.Failed));
        failed.ExitCode = 3;
        var relaunched = Job(2, FemagJobState.Succeeded, Run(1, "i-c", 0, 40, JobRunOutcome.Lost), Run(2, "i-d", 45, 200, JobRunOutcome.Succeeded));
        relaunched.ExitCode = 0;

        var html = RunReport.Html(new[] { ok, failed, relaunched }, "W6", T0.AddHours(1));

        Assert.Equal(new[] { "0", "1", "2" }, Attr(html, "tr", "data-job"));
        Assert.Equal(new[] { "Succeeded", "Failed", "Succeeded" }, Attr(html, "tr", "data-state"));
        Assert.Contains("<td data-v=\"3\">3</td>", html);
        var bars = Bars(html);
        Assert.Equal(4, bars.Count);
        Assert.Equal(new[] { "0:1:Succeeded", "1:1:Failed", "2:1:Lost", "2:2:Succeeded" },
            bars.Select(b => $"{b.Groups[2].Value}:{b.Groups[3].Value}:{b.Groups[4].Value}").OrderBy(s => s));
        var relaunch = bars.Single(b => b.Groups[3].Value == "2");
        Assert.Contains("again", relaunch.Groups[1].Value);
        Assert.Equal("22.5", relaunch.Groups[5].Value);   // 45 s of the 200 s the runs span
        Assert.Equal(new[] { "i-a", "i-b", "i-c", "i-d" }, Attr(html, "div", "data-instance"));
        Assert.Contains("<title>W6</title>", html);
    }

    [Fact]
    public void The_totals_are_the_run_totals_with_instance_hours_and_cost_by_kind()
    {
        var spot = Job(0, FemagJobState.Succeeded, Run(1, "i-a", 0, 3600, JobRunOutcome.Succeeded));
        spot.BilledSeconds = 3600;
        spot.Cost = 0.07m;
        var onDemand = Job(1, FemagJobState.Failed, Run(1, "i-b", 0, 1800, JobRunOutcome.Failed));
        onDemand.Lifecycle = FemagJob.OnDemand;
        onDemand.BilledSeconds = 1800;
        var jobs = new[] { spot, onDemand };

        var html = RunReport.Html(jobs, null, T0);

        Assert.Contains($"<p id=\"summary\">{RunReport.Escape(RunTotals.Of(jobs).Summary)}</p>", html);
        Assert.Contains("<td>2</td><td>1</td><td>1</td><td>0</td><td>1.50</td><td>$0.070 (1 job(s) without a price)</td>", html);
        Assert.Contains("<tr><td>c5.xlarge</td><td>Spot</td><td>1</td><td>1.00</td><td>$0.070</td></tr>", html);
        Assert.Contains("<tr><td>c5.xlarge</td><td>On-Demand</td><td>1</td><td>0.50</td><td>no price</td></tr>", html);
        Assert.Contains("<td data-v=\"3600\">3600</td><td data-v=\"0.07\">$0.070</td>", html);
    }

    [Fact]
    public void A_pool_instance_has_one_row_with_overlapping_jobs_in_lanes()
    {
        var jobs = new[]
        {
            Job(0, FemagJobState.Succeeded, Run(1, "i-pool", 0, 100, JobRunOutcome.Succeeded, "p1")),
            Job(1, FemagJobState.Succeeded, Run(1, "i-pool", 10, 60, JobRunOutcome.Succeeded, "p1")),
            Job(2, FemagJobState.Succeeded, Run(1, "i-pool", 70, 120, JobRunOutcome.Succeeded, "p1")),
        };

        var html = RunReport.Html(jobs, null, T0.AddHours(1));

        Assert.Equal(new[] { "i-pool" }, Attr(html, "div", "data-instance"));
        var lanes = Bars(html).ToDictionary(b => b.Groups[2].Value, b => b.Groups[7].Value);
        Assert.Equal("0", lanes["0"]);
        Assert.Equal("11", lanes["1"]);
        Assert.Equal("11", lanes["2"]);   // slot 2 is free again once job 1 ended
        Assert.Contains("height:22px", html);
        Assert.Contains("<title>FEMAG run</title>", html);
    }

    [Fact]
    public void A_run_without_an_end_reaches_to_the_report_end_and_is_marked_open()
    {
        var done = Job(0, FemagJobState.Succeeded, Run(1, "i-a", 0, 100, JobRunOutcome.Succeeded));
        var timedOut = Job(1, FemagJobState.TimedOut, Run(1, "i-b", 0, null, JobRunOutcome.TimedOut));
        timedOut.FinishTime = T0.AddSeconds(300);

        var html = RunReport.Html(new[] { done, timedOut }, null, T0.AddDays(3));

        var open = Bars(html).Single(b => b.Groups[2].Value == "1");
        Assert.Contains("open", open.Groups[1].Value);
        Assert.Equal("100", open.Groups[6].Value);   // to the latest time the jobs record, not to days later
        Assert.Contains("still running at 2026-12-06 08:05:00Z", html);

        timedOut.State = FemagJobState.Running;
        var running = RunReport.Html(new[] { done, timedOut }, null, T0.AddSeconds(1000));
        Assert.Equal("100", Bars(running).Single(b => b.Groups[2].Value == "1").Groups[6].Value);
        Assert.Contains("still running at 2026-12-06 08:16:40Z", running);
    }

    [Fact]
    public void What_users_wrote_is_escaped_and_nothing_is_loaded_from_the_network()
    {
        var job = Job(0, FemagJobState.Failed, Run(1, "i-a\"><b>", 0, 10, JobRunOutcome.Failed));
        job.BucketName = "<script>alert(1)</script>";
        job.Reason = "exit 2 & 'quotes' \"here\" </td>";
        job.Folder = "/home/o'brien/a b#1/<x>&%";

        var html = RunReport.Html(new[] { job }, "<i>title</i>", T0);

        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<i>title", html);
        Assert.DoesNotContain("<b>", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("exit 2 &amp; &#39;quotes&#39; &quot;here&quot; &lt;/td&gt;", html);
        Assert.Contains("href=\"file:///home/o%27brien/a%20b%231/%3Cx%3E%26%25\"", html);
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotContain("url(", html);
    }

    [Theory]
    [InlineData("/tmp/parvar/0", "file:///tmp/parvar/0")]
    [InlineData("/tmp/a b#c%d?e", "file:///tmp/a%20b%23c%25d%3Fe")]
    [InlineData(@"C:\Users\Jo Do\parvar\0", "file:///C:/Users/Jo%20Do/parvar/0")]
    [InlineData(@"\\server\share\parvar\0", "file://server/share/parvar/0")]
    [InlineData("/tmp/ü", "file:///tmp/%C3%BC")]
    [InlineData("/home/o'brien/a b#1/<x>&%", "file:///home/o%27brien/a%20b%231/%3Cx%3E%26%25")]
    public void A_folder_becomes_a_file_uri_with_each_segment_encoded(string folder, string uri)
    {
        Assert.Equal(uri, RunReport.FileUri(folder));
        Assert.True(Uri.TryCreate(uri, UriKind.Absolute, out var parsed));
        Assert.Equal(Uri.UriSchemeFile, parsed!.Scheme);
    }

    [Fact]
    public void A_thousand_jobs_on_instances_of_their_own_and_in_a_pool_are_all_in_the_page()
    {
        var jobs = new List<FemagJob>();
        for (var i = 0; i < 1000; i++)
        {
            var outcome = i % 10 == 3 ? JobRunOutcome.Failed : JobRunOutcome.Succeeded;
            var run = i < 500
                ? Run(1, $"i-{i:x17}", i, i + 600, outcome)
                : Run(1, $"i-pool{i % 20:00}", i, i + 300, outcome, "pool-1");
            var job = Job(i, outcome == JobRunOutcome.Failed ? FemagJobState.Failed : FemagJobState.Succeeded, run);
            job.BucketName = $"926c39a7-db69-42f8-bf86-2fd1f8559188-{i}";
            job.ExitCode = outcome == JobRunOutcome.Failed ? 1 : 0;
            job.Reason = outcome == JobRunOutcome.Failed ? "FEMAG returned exit code 1" : null;
            jobs.Add(job);
        }

        var html = RunReport.Html(jobs, null, T0.AddHours(2));

        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString()), Attr(html, "tr", "data-job"));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString()), Bars(html).Select(b => b.Groups[2].Value).OrderBy(int.Parse));
        Assert.Equal(520, Attr(html, "div", "data-instance").Count);
        _output.WriteLine($"1,000 jobs on 520 instances: {System.Text.Encoding.UTF8.GetByteCount(html):N0} bytes");
    }

    [Fact]
    public void The_file_is_replaced_unless_no_clobber_and_a_read_only_one_only_with_force()
    {
        var folder = Directory.CreateTempSubdirectory("femag-report-").FullName;
        try
        {
            var path = Path.Combine(folder, "run.html");
            File.WriteAllText(path, "old");
            var refused = Assert.Throws<FemagException>(() => ReportFile.Write(path, "new", noClobber: true, force: false));
            Assert.Equal("FemagReportExists", refused.ErrorId);
            Assert.Equal("old", File.ReadAllText(path));

            Assert.Equal(3, ReportFile.Write(path, "new", noClobber: false, force: false).Length);
            Assert.Equal("new", File.ReadAllText(path));

            new FileInfo(path).IsReadOnly = true;
            Assert.Equal("FemagReportReadOnly", Assert.Throws<FemagException>(() => ReportFile.Write(path, "newer", false, false)).ErrorId);
            Assert.Equal("new", File.ReadAllText(path));
            ReportFile.Write(path, "newer", false, force: true);
            Assert.Equal("newer", File.ReadAllText(path));

            var missing = Assert.Throws<FemagException>(() => ReportFile.Write(Path.Combine(folder, "no", "run.html"), "x", false, false));
            Assert.Equal("FemagReportFolderMissing", missing.ErrorId);
            Assert.Equal(FemagErrorKind.ObjectNotFound, missing.Kind);
            Assert.Equal("FemagReportPathIsFolder", Assert.Throws<FemagException>(() => ReportFile.Write(folder, "x", false, false)).ErrorId);
            Assert.Equal(new[] { "run.html" }, Directory.GetFiles(folder).Select(Path.GetFileName));
        }
        finally
        {
            foreach (var file in Directory.GetFiles(folder))
            {
                File.SetAttributes(file, FileAttributes.Normal);
            }

            Directory.Delete(folder, true);
        }
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace FemagAws.Runners.Pool
{
    /// <summary>
    /// The objects a pool's worker (and Stop-FemagInstance) write under femag-aws/ in a job's bucket, and what they say.
    /// </summary>
    public static class JobMarkers
    {
        public const string Prefix = "femag-aws/";

        /// <summary>Written by the worker when it takes the job: instance, attempt, slot, time.</summary>
        public const string TakenKey = Prefix + "taken";

        /// <summary>Written by the worker whenever the job's script has ended: status, finish, why, time, last lines.</summary>
        public const string EndedKey = Prefix + "ended";

        /// <summary>Stdout and stderr of the job's script; Receive-FemagResult brings it into the folder.</summary>
        public const string LogKey = Prefix + "job.log";

        /// <summary>Written by Stop-FemagInstance: a worker skips the job or ends it.</summary>
        public const string WithdrawnKey = Prefix + "withdrawn";

        /// <summary>True for the module's markers in a bucket, which are neither results nor part of an archive.</summary>
        public static bool IsMarker(string key) => key.StartsWith(Prefix, StringComparison.Ordinal);

        /// <summary>The key=value lines of a marker, up to a '--- ' line.</summary>
        internal static Dictionary<string, string> Fields(string text, out string rest)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            var lines = text.Replace("\r\n", "\n").Split('\n');
            var i = 0;
            for (; i < lines.Length && !lines[i].StartsWith("--- ", StringComparison.Ordinal); i++)
            {
                var eq = lines[i].IndexOf('=');
                if (eq > 0)
                {
                    fields[lines[i].Substring(0, eq).Trim()] = lines[i].Substring(eq + 1).Trim();
                }
            }

            rest = i + 1 < lines.Length ? string.Join("\n", lines.Skip(i + 1)).TrimEnd('\n') : string.Empty;
            return fields;
        }

        internal static DateTime? Time(Dictionary<string, string> fields) =>
            fields.TryGetValue("time", out var text) && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
                ? time
                : (DateTime?)null;
    }

    /// <summary>femag-aws/taken: which instance took the job, on which attempt.</summary>
    public sealed class TakenMarker
    {
        private TakenMarker(string instanceId, int attempt, DateTime? time)
        {
            InstanceId = instanceId;
            Attempt = attempt;
            Time = time;
        }

        public string InstanceId { get; }

        /// <summary>SQS's receive count of the job's message: 1 for the first run, 2 after one loss, ...</summary>
        public int Attempt { get; }

        public DateTime? Time { get; }

        /// <summary>The marker's fields, or null for a text that names no instance.</summary>
        public static TakenMarker? Parse(string? text)
        {
            if (text == null)
            {
                return null;
            }

            var fields = JobMarkers.Fields(text, out _);
            if (!fields.TryGetValue("instance", out var instance) || instance.Length == 0)
            {
                return null;
            }

            var attempt = fields.TryGetValue("attempt", out var a) && int.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 1;
            return new TakenMarker(instance, attempt, JobMarkers.Time(fields));
        }
    }

    /// <summary>femag-aws/ended: how the job's script ended.</summary>
    public sealed class EndedMarker
    {
        private EndedMarker(string status, bool finish, string why, DateTime? time, string lastLines)
        {
            Status = status;
            Finish = finish;
            Why = why;
            Time = time;
            LastLines = lastLines;
        }

        /// <summary>The script's exit status, or the signal that ended it (KILL, TERM).</summary>
        public string Status { get; }

        /// <summary>Whether the finish file was in the bucket when the script ended.</summary>
        public bool Finish { get; }

        /// <summary>exit, shutdown (the script called shutdown/poweroff/halt), max_runtime or withdrawn.</summary>
        public string Why { get; }

        public DateTime? Time { get; }

        /// <summary>The last lines of the job's log.</summary>
        public string LastLines { get; }

        public static EndedMarker? Parse(string? text)
        {
            if (text == null)
            {
                return null;
            }

            var fields = JobMarkers.Fields(text, out var rest);
            string Field(string name) => fields.TryGetValue(name, out var value) ? value : string.Empty;
            return new EndedMarker(Field("status"), Field("finish") == "yes", Field("why"), JobMarkers.Time(fields), rest);
        }
    }

    /// <summary>What one read of a job's bucket found: the markers and, when the job ended with it, the finish file.</summary>
    public sealed class JobMarkerTexts
    {
        public JobMarkerTexts(string? taken, string? ended, string? finish, bool withdrawn)
        {
            Taken = TakenMarker.Parse(taken);
            Ended = EndedMarker.Parse(ended);
            Finish = finish;
            Withdrawn = withdrawn;
        }

        public TakenMarker? Taken { get; }

        public EndedMarker? Ended { get; }

        /// <summary>The finish file's text, read only once the job has ended with it.</summary>
        public string? Finish { get; }

        public bool Withdrawn { get; }
    }
}

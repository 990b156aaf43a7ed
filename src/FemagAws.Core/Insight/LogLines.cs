using System;
using System.Collections.Generic;
using System.Linq;

namespace FemagAws.Insight
{
    /// <summary>The lines of a job's log: how a log text splits into lines, and the last lines a failed job's reason carries.</summary>
    public static class LogLines
    {
        /// <summary>How many lines of its log the reason of a job that failed without an exit code, or timed out, carries.</summary>
        public const int InReason = 5;

        /// <summary>What precedes the last lines in a reason.</summary>
        public const string ReasonLead = " Last lines of its output:\n";

        /// <summary>
        /// The complete lines of a log text (ended by \n, \r\n or \r) and, apart, the last line when no line end follows it
        /// yet: it may still be being written.
        /// </summary>
        public static List<string> Split(string text, out string partial)
        {
            var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n').ToList();
            partial = lines[lines.Count - 1];
            lines.RemoveAt(lines.Count - 1);
            return lines;
        }

        /// <summary>
        /// The last <paramref name="count"/> lines of a log that hold more than white space, oldest first, as a terminal
        /// shows them: a line rewritten after a carriage return (the aws CLI's progress) is only its last text. None for no log.
        /// </summary>
        public static List<string> LastNonEmpty(string? text, int count = InReason)
        {
            if (text == null)
            {
                return new List<string>();
            }

            var kept = text.Replace("\r\n", "\n").Split('\n').Select(l => l.Substring(l.LastIndexOf('\r') + 1)).Where(l => l.Trim().Length > 0).ToList();
            return kept.Skip(Math.Max(0, kept.Count - count)).ToList();
        }

        /// <summary>What a reason gains from a log's last lines: nothing without any.</summary>
        public static string ForReason(IReadOnlyCollection<string>? lastLines) =>
            lastLines == null || lastLines.Count == 0 ? string.Empty : ReasonLead + string.Join("\n", lastLines);
    }

    /// <summary>
    /// Follows a log read again and again, as Get-FemagJobLog -Wait does, and gives each line once. Each read is a snapshot
    /// of the whole log that has grown since (a pool job's job.log), or only its end (EC2 keeps the last 64 KB of an
    /// instance's console output), whose first line may be cut. The lines given are matched against the snapshot's, so
    /// only those after them are new. A snapshot that shares no line with them (a new instance of a relaunched job) is
    /// new throughout. A last line without a line end is held back until the log is complete.
    /// </summary>
    public sealed class LogFollower
    {
        /// <summary>Lines of the log kept to match the next snapshot against: more than 64 KB of console output can hold.</summary>
        internal const int KeptLines = 70000;

        private readonly List<string> _given = new List<string>();
        private int? _tail;
        private bool _forgot;

        /// <param name="tail">Gives only the last this many lines of the first snapshot; null gives them all.</param>
        public LogFollower(int? tail)
        {
            _tail = tail;
        }

        /// <summary>The lines of <paramref name="snapshot"/> not given yet; with <paramref name="complete"/> (the job ended), the last line too.</summary>
        public List<string> Next(string snapshot, bool complete)
        {
            var lines = LogLines.Split(snapshot, out var partial);
            if (complete && partial.Length > 0)
            {
                lines.Add(partial);
            }

            // Lines left out by -Tail count as given: the next snapshot starts with them too.
            var news = lines.Skip(NewFrom(lines)).ToList();
            _given.AddRange(news);
            if (_given.Count > KeptLines)
            {
                _given.RemoveRange(0, _given.Count - KeptLines);
                _forgot = true;
            }

            if (_tail is int tail)
            {
                news = news.Skip(Math.Max(0, news.Count - tail)).ToList();
                _tail = null;
            }

            return news;
        }

        /// <summary>
        /// Where the new lines of a snapshot start: after its last line that, with the lines before it, ends the lines given
        /// so far. Its first line may be the end of a given one, cut off where the 64 KB window begins.
        /// </summary>
        private int NewFrom(List<string> lines)
        {
            for (var i = lines.Count - 1; i >= 0 && _given.Count > 0; i--)
            {
                if (EndsGiven(lines, i))
                {
                    return i + 1;
                }
            }

            return 0;
        }

        private bool EndsGiven(List<string> lines, int last)
        {
            for (var k = 0; k <= last; k++)
            {
                var g = _given.Count - 1 - k;
                if (g < 0)
                {
                    // More lines before than were given: the same log only if the oldest given were forgotten.
                    return _forgot;
                }

                var line = lines[last - k];
                if (k == last ? !_given[g].EndsWith(line, StringComparison.Ordinal) : _given[g] != line)
                {
                    return false;
                }
            }

            return true;
        }
    }
}

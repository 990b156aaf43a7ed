using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Runners;

namespace FemagAws.Insight
{
    /// <summary>One read of a job's log by its runner (<see cref="IJobRunner.ReadLogAsync"/>).</summary>
    public sealed class JobLogSnapshot
    {
        public JobLogSnapshot(FemagJobState state, bool started, string? text, string? missing, bool writerEnded = false)
        {
            State = state;
            Started = started;
            Text = text;
            Missing = missing;
            WriterEnded = writerEnded;
        }

        /// <summary>
        /// What writes the log has ended although the job has not: its instance was lost and only a relaunch (by
        /// Wait-FemagJob) would run it again, with a log of its own.
        /// </summary>
        public bool WriterEnded { get; }

        /// <summary>The job's state as the account shows it now, judged as Get-FemagJob judges it.</summary>
        public FemagJobState State { get; }

        /// <summary>Whether anything has run the job yet: its instance was launched, or a pool instance took it.</summary>
        public bool Started { get; }

        /// <summary>The whole log as it stands (or its end, where the store keeps only that); empty when nothing is in it yet.</summary>
        public string? Text { get; }

        /// <summary>Why there is no log although the job ran (EC2 no longer has the console output), or null.</summary>
        public string? Missing { get; }

        /// <summary>Nothing more will be written: the job has reached an end state, or what wrote the log has ended.</summary>
        public bool Ended => State == FemagJobState.Succeeded || State == FemagJobState.Failed || WriterEnded;
    }

    /// <summary>
    /// Get-FemagJobLog's reader of one job's log: each read asks the job's runner for the log as it stands and gives the
    /// lines not given before, so that -Wait follows the job like Get-Content -Wait follows a file.
    /// </summary>
    public sealed class JobLogReader
    {
        private readonly IJobRunner _runner;
        private readonly FemagJob _job;
        private readonly LogFollower _follower;

        public JobLogReader(IJobRunner runner, FemagJob job, int? tail)
        {
            _runner = runner;
            _job = job;
            _follower = new LogFollower(tail);
        }

        /// <summary>The state the last read found.</summary>
        public FemagJobState State { get; private set; }

        /// <summary>True once the last read found the job ended: its log is complete.</summary>
        public bool Ended { get; private set; }

        /// <summary>
        /// One read: the lines not given yet. With <paramref name="wait"/> a job queued to start gives no lines yet;
        /// otherwise a job that never ran throws <see cref="ErrorIds.JobLogNotStarted"/>, and one whose log is gone
        /// <see cref="ErrorIds.JobLogGone"/>.
        /// </summary>
        public async Task<List<string>> ReadAsync(bool wait, CancellationToken ct)
        {
            var snapshot = await _runner.ReadLogAsync(_job, ct).ConfigureAwait(false);
            State = snapshot.State;
            Ended = snapshot.Ended;
            if (!snapshot.Started)
            {
                if (wait && (snapshot.State == FemagJobState.Queued || _job.State == FemagJobState.Queued))
                {
                    return new List<string>();
                }

                Ended = true;
                throw new FemagException(ErrorIds.JobLogNotStarted, FemagErrorKind.ObjectNotFound,
                    $"Job {_job.Index} (bucket {_job.BucketName}) has no log: it never ran ({snapshot.State}). Start it with Start-FemagInstance" +
                    (wait ? "." : ", or follow a queued job until it starts."));
            }

            if (snapshot.Text == null)
            {
                Ended = true;
                throw new FemagException(ErrorIds.JobLogGone, FemagErrorKind.ObjectNotFound, $"Job {_job.Index} (bucket {_job.BucketName}) has no log any more: {snapshot.Missing}");
            }

            return _follower.Next(snapshot.Text, snapshot.Ended);
        }
    }
}

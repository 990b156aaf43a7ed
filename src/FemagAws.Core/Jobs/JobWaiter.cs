using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;

namespace FemagAws.Jobs
{
    /// <summary>
    /// Wait-FemagJob's engine. One <see cref="PollAsync"/> is one poll cycle: one DescribeInstances per 1,000 jobs and
    /// per target, and S3 requests only for jobs still unfinished. A job is done when its finish file (exit_code) is
    /// in the bucket and its results have stopped arriving: the instance has ended, or the bucket listing held still for
    /// <see cref="SettleTime"/> with no upload in progress. femagtools' script writes exit_code before its last sync.
    /// </summary>
    public sealed class JobWaiter
    {
        private readonly AwsClientCache _clients;
        private readonly Dictionary<FemagJob, Track> _tracks = new Dictionary<FemagJob, Track>();
        private readonly int _parallelism;

        public JobWaiter(IEnumerable<FemagJob> jobs, AwsClientCache clients, TimeSpan settleTime, bool keepInstances, int parallelism)
        {
            _clients = clients;
            SettleTime = settleTime;
            KeepInstances = keepInstances;
            _parallelism = Math.Max(1, parallelism);
            foreach (var job in jobs)
            {
                job.State = FemagJobState.Running;
                _tracks[job] = new Track();
            }
        }

        public TimeSpan SettleTime { get; }

        public bool KeepInstances { get; }

        public IReadOnlyCollection<FemagJob> Pending => _tracks.Keys.ToList();

        /// <summary>Jobs whose finish file has been seen but whose results may still be arriving.</summary>
        public int Finishing => _tracks.Values.Count(t => t.FinishSeen);

        /// <summary>One poll cycle; returns the jobs that reached an end state in it.</summary>
        public async Task<List<FemagJob>> PollAsync(CancellationToken ct)
        {
            var finished = new List<FemagJob>();
            foreach (var group in _tracks.Keys.GroupBy(AwsTarget.Of).ToList())
            {
                var clients = _clients.Get(group.Key);
                var jobs = group.ToList();
                var statuses = await JobInstances.DescribeAsync(clients.Ec2, jobs.Select(j => j.InstanceId!).ToList(), ct).ConfigureAwait(false);
                using (var slots = new SemaphoreSlim(_parallelism))
                {
                    var checks = jobs.Select(async job =>
                    {
                        await slots.WaitAsync(ct).ConfigureAwait(false);
                        try
                        {
                            return await CheckAsync(clients, job, statuses[job.InstanceId!], ct).ConfigureAwait(false) ? job : null;
                        }
                        finally
                        {
                            slots.Release();
                        }
                    });
                    var done = (await Task.WhenAll(checks).ConfigureAwait(false)).Where(j => j != null).Select(j => j!).ToList();
                    if (done.Count == 0)
                    {
                        continue;
                    }

                    var toTerminate = done.Where(j => !statuses[j.InstanceId!].HasEnded || statuses[j.InstanceId!].State == "stopped").Select(j => j.InstanceId!).ToList();
                    if (!KeepInstances && toTerminate.Count > 0)
                    {
                        await JobInstances.TerminateAsync(clients.Ec2, toTerminate, ct).ConfigureAwait(false);
                    }

                    foreach (var job in done)
                    {
                        _tracks.Remove(job);
                        job.FinishTime = DateTime.UtcNow;
                        finished.Add(job);
                    }
                }
            }

            return finished;
        }

        /// <summary>Marks every unfinished job as timed out and hands them back; their instances keep running.</summary>
        public List<FemagJob> TimeOut(TimeSpan waited)
        {
            var left = _tracks.Keys.ToList();
            foreach (var job in left)
            {
                job.State = FemagJobState.TimedOut;
                job.Reason = $"Still running after waiting {waited.TotalSeconds:0} s; instance {job.InstanceId} was left running.";
            }

            _tracks.Clear();
            return left;
        }

        private async Task<bool> CheckAsync(AwsClients clients, FemagJob job, InstanceStatus instance, CancellationToken ct)
        {
            var track = _tracks[job];
            if (!track.FinishSeen)
            {
                var text = await JobBuckets.TryReadTextAsync(clients.S3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false);
                if (text == null)
                {
                    if (!instance.HasEnded)
                    {
                        return false;
                    }

                    job.State = FemagJobState.Failed;
                    job.Reason = $"Instance {job.InstanceId} ended ({instance.State}{(instance.Reason != null ? ": " + instance.Reason : string.Empty)}) without writing {job.Config.FinishTaskFilename}.";
                    return true;
                }

                track.FinishSeen = true;
                track.FinishText = text;
            }

            if (!instance.HasEnded)
            {
                // The instance may still be syncing results: wait until the bucket holds still.
                if (await JobBuckets.HasUploadsInProgressAsync(clients.S3, job.BucketName, ct).ConfigureAwait(false))
                {
                    track.Snapshot = null;
                    return false;
                }

                var objects = await JobBuckets.ListAsync(clients.S3, job.BucketName, ct).ConfigureAwait(false);
                var snapshot = string.Join("\n", objects.Select(o => o.Key + "\t" + o.Size + "\t" + o.ETag).OrderBy(s => s, StringComparer.Ordinal));
                var now = DateTime.UtcNow;
                if (snapshot != track.Snapshot)
                {
                    track.Snapshot = snapshot;
                    track.SnapshotSince = now;
                    if (SettleTime > TimeSpan.Zero)
                    {
                        return false;
                    }
                }

                if (now - track.SnapshotSince < SettleTime)
                {
                    return false;
                }
            }

            RecordExitCode(job, track.FinishText!);
            return true;
        }

        private static void RecordExitCode(FemagJob job, string text)
        {
            var trimmed = text.Trim();
            if (int.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code))
            {
                job.ExitCode = code;
                job.State = code == 0 ? FemagJobState.Succeeded : FemagJobState.Failed;
                job.Reason = code == 0 ? null : $"FEMAG exited with code {code}; see femag.err and the *.PROT log among the results.";
            }
            else
            {
                job.ExitCode = null;
                job.State = FemagJobState.Failed;
                job.Reason = $"{job.Config.FinishTaskFilename} holds '{(trimmed.Length > 40 ? trimmed.Substring(0, 40) + "…" : trimmed)}', not an exit code.";
            }
        }

        private sealed class Track
        {
            public bool FinishSeen;
            public string? FinishText;
            public string? Snapshot;
            public DateTime SnapshotSince;
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Aws.S3;
using FemagAws.Jobs;

namespace FemagAws.Runners.InstancePerJob
{
    /// <summary>What one check found out about a running job.</summary>
    public enum JobCheck
    {
        /// <summary>Still running, or its results are still arriving.</summary>
        Running,

        /// <summary>Reached an end state: finished with an exit code, or ended for good.</summary>
        Finished,

        /// <summary>Its instance ended without the finish file and nobody asked for it: a candidate for a relaunch.</summary>
        Lost,
    }

    /// <summary>
    /// Watches running jobs: a job is done when its finish file (exit_code) is in the bucket and its results have stopped
    /// arriving: the instance has ended, or the bucket listing held still for <see cref="SettleTime"/> with no upload in
    /// progress (femagtools' script writes exit_code before its last sync). An instance that ended without the finish file
    /// is either an end (the module, the user or the max_runtime watchdog ended it) or a loss (see <see cref="IsLoss"/>).
    /// </summary>
    public sealed class JobWatcher
    {
        private static readonly TimeSpan LaunchGrace = TimeSpan.FromMinutes(5);
        private readonly Dictionary<FemagJob, Track> _tracks = new Dictionary<FemagJob, Track>();

        public JobWatcher(TimeSpan settleTime)
        {
            SettleTime = settleTime;
        }

        public TimeSpan SettleTime { get; }

        /// <summary>Forgets what was seen of the job's bucket, when the job ends or is launched again.</summary>
        public void Forget(FemagJob job)
        {
            lock (_tracks)
            {
                _tracks.Remove(job);
            }
        }

        /// <summary>
        /// One check of a job against its instance's status: S3 requests only. A lost job is left as it was, with the
        /// loss reason saying what happened, for the caller to relaunch or fail.
        /// </summary>
        public async Task<(JobCheck Check, string? LossReason)> CheckAsync(AwsClients clients, FemagJob job, InstanceStatus instance, CancellationToken ct)
        {
            Track track;
            lock (_tracks)
            {
                if (!_tracks.TryGetValue(job, out track!))
                {
                    track = _tracks[job] = new Track();
                }
            }

            var readNow = !track.FinishSeen;
            if (readNow)
            {
                var text = await JobBuckets.TryReadTextAsync(clients.S3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false);
                if (text == null)
                {
                    if (!EndedWithoutFinish(job, instance, DateTime.UtcNow))
                    {
                        return (JobCheck.Running, null);
                    }

                    if (IsLoss(instance))
                    {
                        return (JobCheck.Lost, LossReason(job, instance));
                    }

                    JobStates.EndedWithoutFinish(job, instance, null, await ConsoleOutputs.TryLastLinesAsync(clients.Ec2, instance.InstanceId, ct).ConfigureAwait(false));
                    return (JobCheck.Finished, null);
                }

                track.FinishSeen = true;
                track.FinishText = text;
            }

            if (!instance.HasEnded)
            {
                // The instance may still be syncing results: wait until the bucket holds still.
                if (await JobBuckets.HasUploadsInProgressAsync(clients.S3, job.BucketName, ct).ConfigureAwait(false))
                {
                    track.Settle.Reset();
                    return (JobCheck.Running, null);
                }

                var objects = await JobBuckets.ListAsync(clients.S3, job.BucketName, ct).ConfigureAwait(false);
                if (!track.Settle.HeldStill(SettleWatch.SnapshotOf(objects), DateTime.UtcNow, SettleTime))
                {
                    return (JobCheck.Running, null);
                }
            }

            // The finish file first seen may not be the last: a script can sync an old one (a rerun folder's) before
            // it writes FEMAG's own, so the one in the bucket now, when the job is judged complete, is the exit code.
            var finish = readNow ? null : await JobBuckets.TryReadTextAsync(clients.S3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false);
            JobStates.FinishWith(job, finish ?? track.FinishText!, null);
            return (JobCheck.Finished, null);
        }

        /// <summary>
        /// True when an instance that ended without the finish file was lost rather than ended on purpose: not marked by
        /// the module's stop, not the max_runtime watchdog, and either on Spot (any end is an interruption) or ended by
        /// EC2 itself (a Server.* state reason such as hardware failure). An On-Demand instance whose own script shut it
        /// down, or that someone terminated, was not lost.
        /// </summary>
        internal static bool IsLoss(InstanceStatus instance)
        {
            if (instance.StoppedBy != null || ByWatchdog(instance))
            {
                return false;
            }

            return instance.Lifecycle == FemagJob.Spot || IsServerEnd(instance);
        }

        /// <summary>
        /// True when no finish file will come: the instance has ended. An id EC2 does not list yet is not an end while
        /// the launch is recent, because EC2 is eventually consistent right after RunInstances.
        /// </summary>
        internal static bool EndedWithoutFinish(FemagJob job, InstanceStatus instance, DateTime now)
        {
            var justLaunched = instance.State == "missing" && job.LaunchTime > now - LaunchGrace;

            // While shutting down or stopping, its script may still write exit_code or sync: not over until it is down.
            var goingDown = instance.State == "shutting-down" || instance.State == "stopping";
            return instance.HasEnded && !justLaunched && !goingDown;
        }

        /// <summary>What happened to an instance that ended without the finish file.</summary>
        internal static string LossReason(FemagJob job, InstanceStatus instance) =>
            $"Instance {instance.InstanceId} ended ({instance.State}{(instance.Reason != null ? ": " + instance.Reason : string.Empty)}) without writing {job.Config.FinishTaskFilename}.";

        // The watchdog starts with the script, after the launch, and shuts the instance down max_runtime minutes later, so
        // it never ends one sooner; EC2 gives both times only to the second. An end before that, or one EC2 gives no time
        // for, is not known to be the watchdog's: a script that crashed is not told to ask for more runtime.
        // EC2's own end (Server.*: a Spot interruption, a hardware failure) is never the watchdog's, however late it came.
        internal static bool ByWatchdog(InstanceStatus instance) =>
            instance.MaxRuntime is double minutes && !IsServerEnd(instance) &&
            instance.EndTime - instance.LaunchTime >= TimeSpan.FromMinutes(minutes) - TimeSpan.FromSeconds(2);

        private static bool IsServerEnd(InstanceStatus instance) => instance.ReasonCode?.StartsWith("Server.", StringComparison.Ordinal) ?? false;

        private sealed class Track
        {
            public readonly SettleWatch Settle = new SettleWatch();
            public bool FinishSeen;
            public string? FinishText;
        }
    }

    /// <summary>Whether a bucket's listing has held still for the settle time, polled once per cycle.</summary>
    internal sealed class SettleWatch
    {
        private string? _snapshot;
        private DateTime _since;

        /// <summary>Key, size and ETag of every object, in ordinal order: any upload or overwrite changes it.</summary>
        public static string SnapshotOf(IEnumerable<S3Object> objects) =>
            string.Join("\n", objects.Select(o => o.Key + "\t" + o.Size + "\t" + o.ETag).OrderBy(s => s, StringComparer.Ordinal));

        /// <summary>Forgets the last listing, e.g. while an upload is in progress; the next one starts the clock again.</summary>
        public void Reset() => _snapshot = null;

        /// <summary>
        /// True once the listing has been the same since at least <paramref name="settleTime"/> ago; a changed listing
        /// starts the clock again. With no settle time, the first listing is enough.
        /// </summary>
        public bool HeldStill(string snapshot, DateTime now, TimeSpan settleTime)
        {
            if (snapshot != _snapshot)
            {
                _snapshot = snapshot;
                _since = now;
            }

            return now - _since >= settleTime;
        }
    }
}

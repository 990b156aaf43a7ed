using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
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
        private bool _capacityFreed;

        // EC2's last refusal for capacity holds back every queued job (not only the refused one) until this time.
        private DateTime _nextCapacityTry;
        private int _capacityRefusals;

        /// <summary>A job fails after this many polls in a row that could not check it.</summary>
        public const int MaxFailedPolls = 5;

        private static readonly TimeSpan LaunchGrace = TimeSpan.FromMinutes(5);

        public JobWaiter(IEnumerable<FemagJob> jobs, AwsClientCache clients, TimeSpan settleTime, bool keepInstances, int parallelism)
        {
            _clients = clients;
            SettleTime = settleTime;
            KeepInstances = keepInstances;
            _parallelism = Math.Max(1, parallelism);
            foreach (var job in jobs)
            {
                if (job.State != FemagJobState.Queued)
                {
                    job.State = FemagJobState.Running;
                }

                _tracks[job] = new Track();
            }
        }

        public TimeSpan SettleTime { get; }

        public bool KeepInstances { get; }

        public IReadOnlyCollection<FemagJob> Pending => _tracks.Keys.ToList();

        /// <summary>Problems met in the last poll that did not end a job, for the cmdlet to show as warnings.</summary>
        public List<string> Warnings { get; } = new List<string>();

        /// <summary>What happened in the last poll that the cmdlet shows with -Verbose, such as queued jobs launched.</summary>
        public List<string> Notes { get; } = new List<string>();

        /// <summary>Jobs waiting for a launch (max_instances or EC2 capacity).</summary>
        public int Queued => _tracks.Keys.Count(j => j.InstanceId == null);

        /// <summary>One poll cycle; returns the jobs that reached an end state in it.</summary>
        public async Task<List<FemagJob>> PollAsync(CancellationToken ct)
        {
            Warnings.Clear();
            Notes.Clear();
            var finished = await LaunchQueuedAsync(ct).ConfigureAwait(false);
            foreach (var group in _tracks.Keys.Where(j => j.InstanceId != null).GroupBy(AwsTarget.Of).ToList())
            {
                var clients = _clients.Get(group.Key);
                var jobs = group.ToList();
                Dictionary<string, InstanceStatus> statuses;
                try
                {
                    statuses = await JobInstances.DescribeAsync(clients.Ec2, jobs.Select(j => j.InstanceId!).ToList(), ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    Warnings.Add($"Could not describe the instances in {group.Key}: {ex.Message} Trying again at the next poll.");
                    var givenUp = jobs.Where(job => GiveUpAfter(job, ex)).ToList();
                    if (givenUp.Count > 0)
                    {
                        Warnings.Add($"Gave up on {givenUp.Count} job(s); their instances may still be running and billing: {string.Join(", ", givenUp.Select(j => j.InstanceId))}.");
                    }

                    finished.AddRange(givenUp);
                    continue;
                }

                var done = new List<FemagJob>();
                using (var slots = new SemaphoreSlim(_parallelism))
                {
                    var checks = jobs.Select(async job =>
                    {
                        await slots.WaitAsync(ct).ConfigureAwait(false);
                        try
                        {
                            var finishedNow = await CheckAsync(clients, job, statuses[job.InstanceId!], ct).ConfigureAwait(false);
                            _tracks[job].Errors = 0;
                            return finishedNow;
                        }
                        catch (Exception ex) when (!ct.IsCancellationRequested)
                        {
                            return GiveUpAfter(job, ex);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }).ToList();
                    var results = await Task.WhenAll(checks).ConfigureAwait(false);
                    done.AddRange(jobs.Where((job, i) => results[i]));
                }

                var toTerminate = done.Select(j => statuses[j.InstanceId!]).Where(i => !i.HasEnded || i.State == "stopped").Select(i => i.InstanceId).ToList();
                if (!KeepInstances && toTerminate.Count > 0)
                {
                    try
                    {
                        await JobInstances.TerminateAsync(clients.Ec2, toTerminate, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested)
                    {
                        Warnings.Add($"{ex.Message} These instances may still be running and billing: terminate them in the EC2 console or with 'aws ec2 terminate-instances --instance-ids {string.Join(" ", toTerminate)}'.");
                    }
                }

                finished.AddRange(done);
            }

            foreach (var job in finished)
            {
                _tracks.Remove(job);
                job.FinishTime = DateTime.UtcNow;
            }

            _capacityFreed = finished.Any(j => j.InstanceId != null);
            return finished;
        }

        /// <summary>
        /// Launches queued jobs while fewer than their max_instances run. After EC2 turned one away for capacity, they
        /// are tried again as soon as another job finishes, or else after a growing pause. Returns jobs whose launch failed for good.
        /// </summary>
        private async Task<List<FemagJob>> LaunchQueuedAsync(CancellationToken ct)
        {
            var failed = new List<FemagJob>();
            var running = _tracks.Keys.Count(j => j.InstanceId != null);
            var now = DateTime.UtcNow;
            foreach (var job in _tracks.Keys.Where(j => j.InstanceId == null).OrderBy(j => j.Index).ToList())
            {
                var track = _tracks[job];
                if (running >= (job.Config.MaxInstances ?? int.MaxValue) || (now < _nextCapacityTry && !_capacityFreed))
                {
                    continue;
                }

                job.Reason = null;
                try
                {
                    var userData = InstanceStarter.PrepareUserData(job);
                    await InstanceStarter.StartAsync(_clients.Get(job), job, userData, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    job.State = FemagJobState.Failed;
                    job.Reason = job.Reason ?? ex.Message;
                    Warnings.Add($"Job {job.Index} could not be launched: {job.Reason}");
                    failed.Add(job);
                    continue;
                }

                if (job.InstanceId != null)
                {
                    running++;
                    _capacityRefusals = 0;
                    Notes.Add($"Job {job.Index}: queued job launched as instance {job.InstanceId}.");
                }
                else if (job.State == FemagJobState.Queued)
                {
                    // The others would only be refused too, each after the SDK's retries: pause all of them.
                    _capacityRefusals++;
                    _nextCapacityTry = now + CapacityPause(_capacityRefusals);
                    _capacityFreed = false;
                    if (!track.Warned)
                    {
                        Warnings.Add($"Job {job.Index}: {job.Reason} It is tried again as jobs finish and every few minutes; -Timeout ends the wait.");
                    }

                    track.Warned = true;
                    Notes.Add($"Job {job.Index}: {job.Reason}");
                }
                else
                {
                    // dry_run: EC2 checked the launch and started nothing; the job has nothing more to wait for.
                    failed.Add(job);
                }
            }

            return failed;
        }

        /// <summary>
        /// Marks every unfinished job as timed out and hands them back; their instances keep running. Jobs never
        /// launched stay queued, so a later Wait-FemagJob launches them.
        /// </summary>
        public List<FemagJob> TimeOut(TimeSpan waited)
        {
            var left = _tracks.Keys.ToList();
            foreach (var job in left.Where(j => j.InstanceId != null))
            {
                job.State = FemagJobState.TimedOut;
                job.Reason = $"Still running after waiting {waited.TotalSeconds:0} s; instance {job.InstanceId} was left running.";
            }

            _tracks.Clear();
            return left;
        }

        /// <summary>
        /// Counts a failed check. A permanent error (the bucket is gone, access denied) fails the job at once; others
        /// (the SDK has already retried them) are tried again at the next poll, up to <see cref="MaxFailedPolls"/> in a row.
        /// </summary>
        private bool GiveUpAfter(FemagJob job, Exception ex)
        {
            var track = _tracks[job];
            track.Errors++;
            if (!IsPermanent(ex) && track.Errors < MaxFailedPolls)
            {
                lock (Warnings)
                {
                    Warnings.Add($"Job {job.Index}: {ex.Message} Trying again at the next poll.");
                }

                return false;
            }

            job.State = FemagJobState.Failed;
            job.Reason = ex.Message;
            return true;
        }

        /// <summary>
        /// Errors that another poll cannot mend: the bucket or object is gone, access is denied, the credentials or a
        /// setting are wrong. Anything else (throttling, a dropped connection) may pass.
        /// </summary>
        internal static bool IsPermanent(Exception ex) =>
            ex is FemagException f && (f.Kind == FemagErrorKind.ObjectNotFound || f.Kind == FemagErrorKind.PermissionDenied ||
                                       f.Kind == FemagErrorKind.AuthenticationError || f.Kind == FemagErrorKind.InvalidArgument);

        /// <summary>How long queued jobs wait after EC2's n-th capacity refusal in a row: 10 s, doubling, at most 5 min.</summary>
        internal static TimeSpan CapacityPause(int refusals) =>
            TimeSpan.FromSeconds(Math.Min(300, 10 * Math.Pow(2, refusals - 1)));

        /// <summary>
        /// True when no finish file will come: the instance has ended. An id EC2 does not list yet is not an end while
        /// the launch is recent, because EC2 is eventually consistent right after RunInstances.
        /// </summary>
        internal static bool EndedWithoutFinish(FemagJob job, InstanceStatus instance, DateTime now)
        {
            var justLaunched = instance.State == "missing" && job.LaunchTime > now - LaunchGrace;
            return instance.HasEnded && !justLaunched;
        }

        private async Task<bool> CheckAsync(AwsClients clients, FemagJob job, InstanceStatus instance, CancellationToken ct)
        {
            var track = _tracks[job];
            if (!track.FinishSeen)
            {
                var text = await JobBuckets.TryReadTextAsync(clients.S3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false);
                if (text == null)
                {
                    if (!EndedWithoutFinish(job, instance, DateTime.UtcNow))
                    {
                        return false;
                    }

                    RecordEndedWithoutFinish(job, instance);
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
                    track.Settle.Reset();
                    return false;
                }

                var objects = await JobBuckets.ListAsync(clients.S3, job.BucketName, ct).ConfigureAwait(false);
                if (!track.Settle.HeldStill(SettleWatch.SnapshotOf(objects), DateTime.UtcNow, SettleTime))
                {
                    return false;
                }
            }

            RecordExitCode(job, track.FinishText!);
            return true;
        }

        /// <summary>Fails a job whose instance ended before the finish file arrived, saying whether the max_runtime watchdog stopped it.</summary>
        internal static void RecordEndedWithoutFinish(FemagJob job, InstanceStatus instance)
        {
            job.State = FemagJobState.Failed;
            var ran = (instance.EndTime ?? DateTime.UtcNow) - instance.LaunchTime;

            // The watchdog shuts the instance down max_runtime minutes after it started; EC2 gives both times only to
            // the second, and an instance that ended much earlier was stopped by something else.
            if (instance.MaxRuntime is double minutes && ran >= TimeSpan.FromMinutes(minutes * 0.9))
            {
                job.Reason = $"Instance {instance.InstanceId} was stopped by the max_runtime watchdog after {minutes:0.#} minutes, before {job.Config.FinishTaskFilename} was written. Raise max_runtime if the calculation needs longer.";
                return;
            }

            job.Reason = $"Instance {instance.InstanceId} ended ({instance.State}{(instance.Reason != null ? ": " + instance.Reason : string.Empty)}) without writing {job.Config.FinishTaskFilename}.";
        }

        internal static void RecordExitCode(FemagJob job, string text)
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
            public readonly SettleWatch Settle = new SettleWatch();
            public bool Warned;
            public bool FinishSeen;
            public string? FinishText;
            public int Errors;
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

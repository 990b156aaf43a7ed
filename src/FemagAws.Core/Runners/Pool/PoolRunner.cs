using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Aws.S3;
using FemagAws.Aws.Sqs;
using FemagAws.Insight;
using FemagAws.Jobs;
using FemagAws.Runners.InstancePerJob;

namespace FemagAws.Runners.Pool
{
    /// <summary>
    /// Runs jobs in a worker pool (pool_size above 0): Start-FemagInstance sends each job to the pool's queue as it comes
    /// and launches the pool's instances after its last job; Wait-FemagJob polls the jobs' markers and keeps the pool at
    /// its size; Stop-FemagInstance withdraws jobs; Get-FemagJob reads their state and lists pools whose jobs are gone.
    /// </summary>
    public sealed class PoolRunner : IJobRunner
    {
        private readonly AwsClientCache _clients;
        private readonly Func<AwsTarget, WorkerPool> _newPool;
        private readonly ConcurrentDictionary<AwsTarget, WorkerPool> _pools = new ConcurrentDictionary<AwsTarget, WorkerPool>();

        // The pools this call's Start-FemagInstance made, by target and launch settings, each created once.
        private readonly ConcurrentDictionary<(AwsTarget, string), Lazy<Task<string>>> _started = new ConcurrentDictionary<(AwsTarget, string), Lazy<Task<string>>>();
        private readonly ConcurrentDictionary<string, (AwsTarget Target, FemagConfig Config, int Jobs)> _sent = new ConcurrentDictionary<string, (AwsTarget, FemagConfig, int)>(StringComparer.Ordinal);

        public PoolRunner(AwsClientCache clients)
            : this(clients, null)
        {
        }

        /// <summary>With <paramref name="newPool"/> making each target's pool (the unit tests' fakes), else on the target's clients.</summary>
        internal PoolRunner(AwsClientCache clients, Func<AwsTarget, WorkerPool>? newPool)
        {
            _clients = clients;
            _newPool = newPool ?? (t =>
            {
                var aws = clients.Get(t);
                return new WorkerPool(new PoolQueues(aws.Sqs), new PoolInstances(aws.Ec2), new PoolBuckets(clients, t), t.Region);
            });
        }

        /// <summary>How the bucket name of a job stands for a pool whose jobs are gone (Get-FemagJob), for Stop-FemagInstance to clean up.</summary>
        public static string RemnantName(string poolId) => PoolQueues.QueueName(poolId);

        public bool Claims(FemagJob job) => job.PoolId != null;

        public string Prepare(FemagJob job, string? expectedBucketOwner) => WorkerPool.Prepare(job, expectedBucketOwner);

        /// <summary>A pool's worker shuts its instance down once the queue has stayed empty, whatever the job's script does.</summary>
        public bool EndsItself(string cloudInit) => true;

        public (string Target, string Action) Describe(FemagJob job, AwsTarget target) =>
            ($"bucket {job.BucketName}: a job in a pool of up to {job.Config.PoolSize} {job.Config.InstanceType} instance(s) of {job.Config.ImageId}, {job.Config.SlotsPerInstance} job(s) each, in {target}",
                "Send job to pool queue");

        /// <summary>Never held back: the pool's queue holds the jobs its instances have no slot for.</summary>
        public string? HoldReason(FemagJob job) => null;

        public async Task<FemagJob> StartAsync(FemagJob job, string cloudInit, CancellationToken ct)
        {
            var target = AwsTarget.Of(job);
            var pool = PoolOf(target);
            var key = (target, LaunchKey(job.Config));
            var created = _started.GetOrAdd(key, _ => new Lazy<Task<string>>(() => pool.CreateAsync(job.Config, ct)));
            string poolId;
            try
            {
                poolId = await created.Value.ConfigureAwait(false);
            }
            catch
            {
                // The next job of the call tries again.
                _started.TryRemove(key, out _);
                throw;
            }

            await pool.AddAsync(poolId, job, cloudInit, ct).ConfigureAwait(false);
            _sent.AddOrUpdate(poolId, _ => (target, job.Config, 1), (_, sent) => (sent.Target, sent.Config, sent.Jobs + 1));
            return job;
        }

        public async Task<IReadOnlyList<string>> EndStartAsync(CancellationToken ct)
        {
            var notes = new List<string>();
            foreach (var pair in _sent)
            {
                var pool = PoolOf(pair.Value.Target);
                try
                {
                    await pool.LaunchFirstAsync(pair.Key, pair.Value.Config, pair.Value.Jobs, ct).ConfigureAwait(false);
                    notes.Add($"Pool {pair.Key}: {pair.Value.Jobs} job(s) in its queue.");
                }
                catch (FemagException ex) when (!ct.IsCancellationRequested)
                {
                    // One pool's failure leaves the others to launch; its jobs wait in its queue with no instance.
                    notes.Add($"WARNING: Pool {pair.Key}: launching its instances failed: {ex.Message} Its {pair.Value.Jobs} job(s) wait in its queue with no instance: " +
                        $"Wait-FemagJob launches instances for them at its next poll once the cause is fixed, or withdraw them and remove the pool with:\n  {_clients.Commands.RemovePool(pair.Value.Target, pair.Key)}");
                }

                notes.AddRange(pool.Notes);
                notes.AddRange(pool.Warnings.Select(w => "WARNING: " + w));
                pool.Notes.Clear();
                pool.Warnings.Clear();
            }

            _sent.Clear();
            return notes;
        }

        public IJobWatch Watch(IReadOnlyCollection<FemagJob> jobs, WatchOptions options) => new PoolWatch(jobs, PoolOf);

        public (string Target, string Action)? DescribeStop(FemagJob job) =>
            job.BucketName == RemnantName(job.PoolId!)
                ? ($"pool {job.PoolId}: its instances and queues", "Remove pool")
                : ($"job {job.Index} (bucket {job.BucketName}) in pool {job.PoolId}", "Withdraw job from pool");

        public async Task<IReadOnlyList<JobStop>> StopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            var pool = PoolOf(target);
            var stops = new List<JobStop>();
            foreach (var group in jobs.GroupBy(j => j.PoolId!))
            {
                var real = group.Where(j => j.BucketName != RemnantName(group.Key)).ToList();
                // A pool whose jobs are gone has none to withdraw: it is removed unless another job of it is unfinished.
                var withdrawn = await pool.WithdrawAsync(group.Key, real, ct).ConfigureAwait(false);

                var notes = string.Join(" ", pool.Notes);
                pool.Notes.Clear();
                foreach (var job in group)
                {
                    stops.Add(new JobStop(job)
                    {
                        Note = (withdrawn.Contains(job) ? $"Withdrew job {job.Index} from pool {group.Key}." : $"Job {job.Index} of pool {group.Key} had ended.") + (notes.Length > 0 ? " " + notes : string.Empty),
                    });
                }
            }

            return stops;
        }

        /// <summary>Withdraws the unfinished jobs; a pool left without unfinished jobs is removed.</summary>
        public async Task<IReadOnlyList<FemagJob>> EndAfterStopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            var pool = PoolOf(target);
            var withdrawn = new List<FemagJob>();
            foreach (var group in jobs.GroupBy(j => j.PoolId!))
            {
                withdrawn.AddRange(await pool.WithdrawAsync(group.Key, group.Where(j => j.BucketName != RemnantName(group.Key)).ToList(), ct).ConfigureAwait(false));
            }

            pool.Notes.Clear();
            return withdrawn;
        }

        /// <summary>
        /// Each pool of the jobs, and each this call made in the target (its first job's send may have been cut off):
        /// whether its queue is left, and its instances, running or ended.
        /// </summary>
        public async Task EnterStopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, StopLedger ledger, CancellationToken ct)
        {
            var made = _started.Where(p => p.Key.Item1.Equals(target) && p.Value.IsValueCreated && p.Value.Value.Status == TaskStatus.RanToCompletion).Select(p => p.Value.Value.Result);
            foreach (var poolId in jobs.Select(j => j.PoolId!).Concat(made).Distinct())
            {
                ledger.Pool(await PoolOf(target).SeeAsync(poolId, ct).ConfigureAwait(false));
            }
        }

        public async Task<List<FemagJob>> FindAsync(AwsTarget target, FemagConfig config, IReadOnlyList<FemagJob> listed, bool bucketsOnly, CancellationToken ct)
        {
            var pool = PoolOf(target);
            await pool.RefreshAsync(listed, ct).ConfigureAwait(false);
            var jobs = listed.ToList();
            if (bucketsOnly)
            {
                return jobs;
            }

            // A pool whose jobs are all gone still bills for its instances and keeps its queues: it shows, so
            // Get-FemagJob | Stop-FemagInstance removes it. Its live instances are only looked for in such a pool.
            var known = new HashSet<string>(listed.Select(j => j.PoolId!), StringComparer.Ordinal);
            foreach (var remnant in (await pool.FindAsync(known, ct).ConfigureAwait(false)))
            {
                var job = target.NewJob(0, RemnantName(remnant.PoolId), config);
                JobStates.PoolLeftOver(job, remnant.PoolId, remnant.LiveInstances.Count, remnant.QueueUrls.Count);
                jobs.Add(job);
            }

            return jobs;
        }

        /// <summary>
        /// The log the worker keeps in the job's bucket, which it writes every 30 s while the job runs and once more when
        /// it ends. The job has ended once Get-FemagJob would say so: the ended marker is there, or it was lost for good.
        /// </summary>
        public async Task<JobLogSnapshot> ReadLogAsync(FemagJob job, CancellationToken ct)
        {
            var target = AwsTarget.Of(job);
            var pool = PoolOf(target);
            var settled = target.NewJob(job.Index, job.BucketName, job.Config);
            settled.PoolId = job.PoolId;
            await pool.RefreshAsync(new[] { settled }, ct).ConfigureAwait(false);
            var text = await pool.ReadLogAsync(settled, ct).ConfigureAwait(false);
            var started = text != null || settled.InstanceId != null || settled.IsFinished;
            return text == null && settled.IsFinished && started
                ? new JobLogSnapshot(settled.State, true, null, $"bucket {job.BucketName} holds no {JobMarkers.LogKey} (Receive-FemagResult brings it into the job's folder).")
                : new JobLogSnapshot(settled.State, started, text ?? string.Empty, null);
        }

        /// <summary>Every instance of the jobs' pools, ended ones too: a pool's jobs share what all of them billed.</summary>
        public async Task<IReadOnlyList<InstanceStatus>> BilledInstancesAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            var instances = new List<InstanceStatus>();
            foreach (var poolId in jobs.Select(j => j.PoolId!).Distinct())
            {
                instances.AddRange(await PoolOf(target).InstancesAsync(poolId, ct).ConfigureAwait(false));
            }

            // An instance that ran a job but is no longer listed ended over an hour ago: it still billed, from the job's runs.
            var listed = new HashSet<string>(instances.Select(i => i.InstanceId), StringComparer.Ordinal);
            instances.AddRange(jobs.SelectMany(j => j.Runs).Select(r => r.InstanceId).Where(id => id.Length > 0 && listed.Add(id)).Select(InstanceStatus.Forgotten));
            return instances;
        }

        private WorkerPool PoolOf(AwsTarget target) => _pools.GetOrAdd(target, _newPool);

        /// <summary>Jobs whose pools would launch alike share a pool; those with other launch settings get their own.</summary>
        private static string LaunchKey(FemagConfig config) =>
            string.Join("\n", config.ImageId, config.InstanceType, config.Spot, config.SpotFallback, config.IamInstanceProfile, config.KeyName,
                string.Join(",", config.SecurityGroupIds), config.PoolSize, config.SlotsPerInstance, config.MaxAttempts, config.DryRun);
    }

    /// <summary>Wait-FemagJob's watch over pool jobs: one poll per pool and target.</summary>
    internal sealed class PoolWatch : IJobWatch
    {
        private readonly List<FemagJob> _pending;
        private readonly Func<AwsTarget, WorkerPool> _poolOf;

        // Polls in a row that failed, per pool.
        private readonly Dictionary<string, int> _failedPolls = new Dictionary<string, int>(StringComparer.Ordinal);

        public PoolWatch(IReadOnlyCollection<FemagJob> jobs, Func<AwsTarget, WorkerPool> poolOf)
        {
            _pending = jobs.ToList();
            _poolOf = poolOf;
        }

        public IReadOnlyCollection<FemagJob> Pending => _pending.ToList();

        public int Queued => _pending.Count(j => j.State == FemagJobState.Queued);

        /// <summary>A pool instance serves many jobs: no job falls back on its own.</summary>
        public int FellBack => 0;

        /// <summary>Lost jobs the queue handed out again, over the whole wait.</summary>
        public int Relaunched { get; private set; }

        public List<string> Warnings { get; } = new List<string>();

        public List<string> Notes { get; } = new List<string>();

        public async Task<List<FemagJob>> PollAsync(CancellationToken ct)
        {
            Warnings.Clear();
            Notes.Clear();
            var finished = new List<FemagJob>();
            foreach (var group in _pending.GroupBy(j => (Target: AwsTarget.Of(j), PoolId: j.PoolId!)).ToList())
            {
                var pool = _poolOf(group.Key.Target);
                var losses = group.Sum(j => j.Losses.Count);
                var givenUp = new List<FemagJob>();
                try
                {
                    await pool.PollAsync(group.Key.PoolId, group.ToList(), ct).ConfigureAwait(false);
                    _failedPolls.Remove(group.Key.PoolId);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested && ex is FemagException)
                {
                    // As for jobs on instances of their own: a permanent error, or too many in a row, gives the jobs up
                    // as TimedOut, since the pool may still run them.
                    var failed = _failedPolls[group.Key.PoolId] = (_failedPolls.TryGetValue(group.Key.PoolId, out var n) ? n : 0) + 1;
                    if (!InstanceWatch.IsPermanent(ex) && failed < InstanceWatch.MaxFailedPolls)
                    {
                        Warnings.Add($"Pool {group.Key.PoolId}: {ex.Message} Trying again at the next poll.");
                    }
                    else
                    {
                        // Only unfinished jobs: one whose end was read keeps its real state.
                        givenUp.AddRange(group.Where(j => !j.IsFinished));
                        foreach (var job in givenUp)
                        {
                            JobStates.TimeOut(job, $"Gave up: pool {group.Key.PoolId} could not be checked ({ex.Message}); its instances may still run the job and bill. Wait for the job again, or withdraw it with Stop-FemagInstance.");
                        }
                    }
                }

                // Whatever failed, every job whose end is known leaves the wait.
                finished.AddRange(group.Where(j => j.IsFinished).Concat(givenUp));

                Relaunched += group.Sum(j => j.Losses.Count) - losses;
                Warnings.AddRange(pool.Warnings);
                Notes.AddRange(pool.Notes);
            }

            foreach (var job in finished)
            {
                _pending.Remove(job);
                if (job.FinishTime == null)
                {
                    JobStates.LeftWait(job, DateTime.UtcNow);
                }
            }

            return finished;
        }

        public async Task<List<FemagJob>> TimeOutAsync(TimeSpan waited, CancellationToken ct)
        {
            var left = _pending.ToList();
            var logs = await WorkQueue.MapAsync(left, BucketFinder.LookupsInFlight, (job, token) => TryReadLogAsync(job, token), ct).ConfigureAwait(false);
            for (var i = 0; i < left.Count; i++)
            {
                var job = left[i];
                JobStates.TimeOut(job, $"Still {(job.InstanceId != null ? "running on instance " + job.InstanceId : "queued")} in pool {job.PoolId} after waiting {waited.TotalSeconds:0} s; the pool goes on. Wait for the job again, or withdraw it with Stop-FemagInstance.",
                    LogLines.LastNonEmpty(logs[i]));
            }

            _pending.Clear();
            return left;
        }

        /// <summary>The log of a job a pool instance runs; null for a queued job, or when it cannot be read, which must not hide the timeout.</summary>
        private async Task<string?> TryReadLogAsync(FemagJob job, CancellationToken ct)
        {
            if (job.InstanceId == null)
            {
                return null;
            }

            try
            {
                return await _poolOf(AwsTarget.Of(job)).ReadLogAsync(job, ct).ConfigureAwait(false);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                return null;
            }
        }
    }
}

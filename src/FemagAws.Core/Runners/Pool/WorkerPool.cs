using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws.Ec2;
using FemagAws.Aws.S3;
using FemagAws.Aws.Sqs;
using FemagAws.Jobs;
using FemagAws.Runners.InstancePerJob;

namespace FemagAws.Runners.Pool
{
    /// <summary>What is left of one pool in the account: its queues and live instances, for Get-FemagJob and clean-up.</summary>
    public sealed class PoolRemnant
    {
        public PoolRemnant(string poolId, IReadOnlyList<string> queueUrls, IReadOnlyList<string> liveInstances)
        {
            PoolId = poolId;
            QueueUrls = queueUrls;
            LiveInstances = liveInstances;
        }

        public string PoolId { get; }

        public IReadOnlyList<string> QueueUrls { get; }

        public IReadOnlyList<string> LiveInstances { get; }
    }

    /// <summary>
    /// A worker pool of one target: jobs go to an SQS queue, and at most pool_size instances take them, slots_per_instance
    /// at once (see README, Pools). Start, one poll for Wait-FemagJob, the state for Get-FemagJob, withdrawal for
    /// Stop-FemagInstance, and clean-up when no job of a pool is left.
    /// </summary>
    public sealed class WorkerPool
    {
        /// <summary>Bucket reads in flight per poll.</summary>
        private const int ReadsInFlight = 16;

        /// <summary>How many spent ordinals one launch steps over (EC2 answers a spent token with its ended instance).</summary>
        private const int OrdinalRounds = 8;

        private readonly IPoolQueues _queues;
        private readonly IPoolInstances _instances;
        private readonly IPoolBuckets _buckets;
        private readonly string _region;
        private readonly Func<DateTime> _clock;
        private readonly Random _random;

        /// <summary>Per pool, the next instance ordinal to launch, so this session never asks for one twice.</summary>
        private readonly Dictionary<string, int> _nextOrdinal = new Dictionary<string, int>(StringComparer.Ordinal);

        /// <summary>The job queue of each pool this object made.</summary>
        private readonly Dictionary<string, string> _queueUrls = new Dictionary<string, string>(StringComparer.Ordinal);

        public WorkerPool(IPoolQueues queues, IPoolInstances instances, IPoolBuckets buckets, string region, Func<DateTime>? clock = null, Random? random = null)
        {
            _queues = queues;
            _instances = instances;
            _buckets = buckets;
            _region = region;
            _clock = clock ?? (() => DateTime.UtcNow);
            _random = random ?? new Random();
        }

        /// <summary>Problems met that did not end a job, for the cmdlet to show as warnings.</summary>
        public List<string> Warnings { get; } = new List<string>();

        /// <summary>What happened that the cmdlet shows with -Verbose.</summary>
        public List<string> Notes { get; } = new List<string>();

        /// <summary>
        /// How many instances a pool needs now: enough slots for its unfinished jobs, at most pool_size in all, less those
        /// alive. None while no job waits in the queue: an instance that took its jobs has slots for them already.
        /// </summary>
        internal static int InstancesToLaunch(int poolSize, int slots, int unfinished, int waiting, int live) =>
            waiting == 0 ? 0 : Math.Max(0, Math.Min(poolSize, (unfinished + slots - 1) / slots) - live);

        /// <summary>
        /// Checks what a pool job needs that can be checked locally (the launch settings, a shell script that fits into a
        /// message) and returns the job's script. Nothing is created.
        /// </summary>
        public static string Prepare(FemagJob job, string? expectedBucketOwner)
        {
            RefuseUnfinished(job);

            // A dry run launches nothing, but a pool would make its queues and send the jobs before it launches.
            if (job.Config.DryRun)
            {
                throw new FemagException("FemagPoolDryRun", FemagErrorKind.InvalidArgument,
                    $"dry_run = 1 checks single launches only; a pool would create its queues and send the jobs first. Set pool_size = 0 in {job.Config} for the dry run.");
            }

            InstanceStarter.CheckLaunchSettings(job.Config);
            PoolScripts.CheckShellScript(job.Config);
            var script = PoolScripts.Script(job, expectedBucketOwner);
            PoolScripts.Message(job, script);

            // The worker's size is checked with a long stand-in URL.
            PoolScripts.WorkerUserData(new string('q', 256), job.Region, PoolIds.New(DateTime.UtcNow, new Random()), job.Config.SlotsPerInstance, expectedBucketOwner);
            return script;
        }

        /// <summary>
        /// Refuses to start a pool job that has not finished, in a pool or on an instance of its own: its pool would
        /// still run it, and the job would run twice. A finished one may start again as a new job.
        /// </summary>
        public static void RefuseUnfinished(FemagJob job)
        {
            if (job.PoolId != null && !job.IsFinished)
            {
                throw new FemagException("FemagJobAlreadyStarted", FemagErrorKind.ResourceExists,
                    $"Job {job.Index} (bucket {job.BucketName}) is already in pool {job.PoolId}. Wait for it with Wait-FemagJob, or withdraw it with Stop-FemagInstance before starting it again.");
            }
        }

        /// <summary>A new pool: its id and its queues. Jobs are added with <see cref="AddAsync"/>, instances launched with <see cref="LaunchFirstAsync"/>.</summary>
        public async Task<string> CreateAsync(FemagConfig config, CancellationToken ct)
        {
            var poolId = PoolIds.New(_clock(), _random);
            _queueUrls[poolId] = await _queues.CreateAsync(poolId, config.MaxAttempts, ct).ConfigureAwait(false);
            return poolId;
        }

        /// <summary>
        /// Puts a prepared job into the pool: its bucket cleared of an earlier run's finish file and markers and tagged with
        /// the pool, then its message sent. The job comes back Queued with its PoolId.
        /// </summary>
        public async Task AddAsync(string poolId, FemagJob job, string script, CancellationToken ct)
        {
            await _buckets.PrepareAsync(job, poolId, ct).ConfigureAwait(false);
            await _queues.SendAsync(_queueUrls[poolId], new[] { PoolScripts.Message(job, script) }, ct).ConfigureAwait(false);
            JobStates.SentToPool(job, poolId);
        }

        /// <summary>Launches the instances a new pool of <paramref name="jobs"/> jobs needs: up to pool_size, fewer when fewer are needed.</summary>
        public async Task LaunchFirstAsync(string poolId, FemagConfig config, int jobs, CancellationToken ct) =>
            await LaunchAsync(config, poolId, await WorkerUserDataAsync(_queueUrls[poolId], poolId, config, ct).ConfigureAwait(false),
                InstancesToLaunch(config.PoolSize, config.SlotsPerInstance, jobs, jobs, 0), 0, ct).ConfigureAwait(false);

        private async Task<string> WorkerUserDataAsync(string queueUrl, string poolId, FemagConfig config, CancellationToken ct) =>
            PoolScripts.WorkerUserData(queueUrl, _region, poolId, config.SlotsPerInstance, await _buckets.ExpectedOwnerAsync(ct).ConfigureAwait(false));

        /// <summary>
        /// One poll of a pool's jobs for Wait-FemagJob: their states from their markers, then instances launched for lost or
        /// idle-ended ones while jobs wait (never more than pool_size alive), and, when no job of the pool is left, its
        /// instances terminated and its queues deleted. Returns the jobs that reached an end state.
        /// </summary>
        public async Task<List<FemagJob>> PollAsync(string poolId, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            Warnings.Clear();
            Notes.Clear();
            var instances = await _instances.ListAsync(poolId, ct).ConfigureAwait(false);
            var open = jobs.Where(j => !j.IsFinished).ToList();
            await RefreshAsync(instances, open, ct).ConfigureAwait(false);
            try
            {
                await KeepUpAsync(poolId, jobs, instances, ct).ConfigureAwait(false);
            }
            catch (FemagException ex) when (!ct.IsCancellationRequested)
            {
                // The jobs' states are read; what failed after (the counts, a launch, the clean-up) must not hide them.
                Warnings.Add(jobs.All(j => j.IsFinished)
                    ? $"Pool {poolId}: {ex.Message} Its instances and queues may be left: Get-FemagJob lists the pool, and Stop-FemagInstance removes it."
                    : $"Pool {poolId}: {ex.Message} Trying again at the next poll.");
            }

            return open.Where(j => j.IsFinished).ToList();
        }

        /// <summary>After a poll's read: launches what the pool's unfinished jobs need, or removes the pool when none is left.</summary>
        private async Task KeepUpAsync(string poolId, IReadOnlyList<FemagJob> jobs, List<InstanceStatus> instances, CancellationToken ct)
        {
            var live = instances.Where(i => !i.HasEnded).ToList();
            var unfinished = jobs.Where(j => !j.IsFinished).ToList();
            if (unfinished.Count == 0)
            {
                await CleanUpIfDoneAsync(poolId, jobs, ct).ConfigureAwait(false);
                return;
            }

            var counts = await _queues.CountsAsync(poolId, ct).ConfigureAwait(false);
            if (counts == null)
            {
                Warnings.Add($"The queue of pool {poolId} is gone; its {unfinished.Count} unfinished job(s) cannot run. Start them again with Start-FemagInstance.");
                return;
            }

            // For -Verbose: what SQS counts (approximately) in the pool's queues.
            Notes.Add($"Pool {poolId}: {counts.Visible + counts.Delayed} message(s) waiting in its queue, {counts.NotVisible} taken, {counts.DeadLetter} in its dead-letter queue; {live.Count} instance(s) alive.");
            if (counts.Total == 0 && counts.DeadLetter > 0)
            {
                // No message left to take: a job neither ended nor run by a live instance had its message moved to the
                // dead-letter queue (a worker could not read its bucket, or its instance ended before writing taken).
                foreach (var job in unfinished.Where(j => j.State == FemagJobState.Queued))
                {
                    JobStates.DeadLettered(job);
                }

                if (unfinished.All(j => j.IsFinished))
                {
                    await CleanUpIfDoneAsync(poolId, jobs, ct).ConfigureAwait(false);
                    return;
                }
            }

            // Instances are launched only for messages the queue still holds: one launched for a dead-lettered job would idle out, billing.
            var config = unfinished[0].Config;
            var toLaunch = counts.Total == 0 ? 0 : InstancesToLaunch(config.PoolSize, config.SlotsPerInstance, unfinished.Count, unfinished.Count(j => j.State == FemagJobState.Queued), live.Count);
            if (toLaunch > 0)
            {
                var queueUrl = _queueUrls.TryGetValue(poolId, out var known) ? known : await _queues.UrlAsync(poolId, ct).ConfigureAwait(false);
                _queueUrls[poolId] = queueUrl ?? throw new FemagException("FemagPoolQueueGone", FemagErrorKind.ObjectNotFound, $"The queue of pool {poolId} is gone; its {unfinished.Count} unfinished job(s) cannot run. Start them again with Start-FemagInstance.");
                await LaunchAsync(config, poolId, await WorkerUserDataAsync(queueUrl, poolId, config, ct).ConfigureAwait(false), toLaunch, instances.Count, ct).ConfigureAwait(false);
            }
        }

        /// <summary>The log the worker keeps of the job's script, or null when there is none (yet).</summary>
        public Task<string?> ReadLogAsync(FemagJob job, CancellationToken ct) => _buckets.ReadLogAsync(job, ct);

        /// <summary>The jobs' states now, for Get-FemagJob (nothing is launched or removed); jobs of several pools may be mixed.</summary>
        public async Task RefreshAsync(IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            foreach (var pool in jobs.Where(j => j.PoolId != null).GroupBy(j => j.PoolId!))
            {
                await RefreshAsync(await _instances.ListAsync(pool.Key, ct).ConfigureAwait(false), pool.ToList(), ct).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// Withdraws the pool's jobs for Stop-FemagInstance: each one still unfinished by its markers gets
        /// femag-aws/withdrawn (a worker skips it or ends it within a heartbeat) and fails; one that ended since it was
        /// read keeps its real state. When no job of the pool is left unfinished, its instances are terminated and its
        /// queues deleted.
        /// </summary>
        public async Task<List<FemagJob>> WithdrawAsync(string poolId, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            var open = jobs.Where(j => !j.IsFinished).ToList();
            if (open.Count > 0)
            {
                await RefreshAsync(await _instances.ListAsync(poolId, ct).ConfigureAwait(false), open, ct).ConfigureAwait(false);
            }

            var withdrawn = open.Where(j => !j.IsFinished).ToList();
            await WorkQueue.MapAsync(withdrawn, ReadsInFlight, async (job, token) =>
            {
                await _buckets.WithdrawAsync(job, token).ConfigureAwait(false);
                JobStates.Withdrawn(job, DateTime.UtcNow);
                return job;
            }, ct).ConfigureAwait(false);
            await CleanUpIfDoneAsync(poolId, jobs, ct).ConfigureAwait(false);
            return withdrawn;
        }

        /// <summary>The pool's instances EC2 still lists, ended ones too.</summary>
        public Task<List<InstanceStatus>> InstancesAsync(string poolId, CancellationToken ct) => _instances.ListAsync(poolId, ct);

        /// <summary>The pool as a stop finds it, for the stop's account: whether its queue is left, its instances running or ended.</summary>
        public async Task<StoppedPool> SeeAsync(string poolId, CancellationToken ct)
        {
            var instances = await _instances.ListAsync(poolId, ct).ConfigureAwait(false);
            var queueLeft = await _queues.UrlAsync(poolId, ct).ConfigureAwait(false) != null;
            return new StoppedPool(poolId, PoolQueues.QueueName(poolId), queueLeft,
                instances.Where(i => i.MayStillBill).Select(i => i.InstanceId).ToList(), instances.Where(i => !i.MayStillBill).Select(i => i.InstanceId).ToList());
        }

        /// <summary>
        /// Every pool with a queue in the region but <paramref name="known"/>, with its live instances, for Get-FemagJob and a
        /// clean-up after a crash.
        /// Queues are enough to find pools: a pool's queues are made before its instances and deleted after them.
        /// </summary>
        /// <param name="known">Pools to leave out: those whose jobs the caller has.</param>
        /// <param name="ct">Stops the requests.</param>
        public async Task<List<PoolRemnant>> FindAsync(ISet<string> known, CancellationToken ct)
        {
            var remnants = new List<PoolRemnant>();
            foreach (var pool in (await _queues.ListAsync(ct).ConfigureAwait(false)).Where(q => !known.Contains(q.PoolId)).GroupBy(q => q.PoolId).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var live = (await _instances.ListAsync(pool.Key, ct).ConfigureAwait(false)).Where(i => i.MayStillBill).Select(i => i.InstanceId).ToList();
                remnants.Add(new PoolRemnant(pool.Key, pool.Select(q => q.Url).ToList(), live));
            }

            return remnants;
        }

        /// <summary>Terminates the pool's live instances and deletes its queues.</summary>
        private async Task CleanUpAsync(string poolId, IReadOnlyCollection<string> liveInstances, CancellationToken ct)
        {
            if (liveInstances.Count > 0)
            {
                await _instances.TerminateAsync(liveInstances, ct).ConfigureAwait(false);
            }

            await _queues.DeleteAsync(poolId, ct).ConfigureAwait(false);
            Notes.Add($"Pool {poolId} has no job left: terminated {liveInstances.Count} instance(s) and deleted its queues.");
        }

        private async Task<List<FemagJob>> RefreshAsync(List<InstanceStatus> instances, List<FemagJob> jobs, CancellationToken ct)
        {
            var byId = instances.GroupBy(i => i.InstanceId).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var markers = await WorkQueue.MapAsync(jobs, ReadsInFlight, (job, token) => _buckets.ReadMarkersAsync(job, token), ct).ConfigureAwait(false);
            var finished = new List<FemagJob>();
            for (var i = 0; i < jobs.Count; i++)
            {
                var job = jobs[i];
                if (markers[i] == null)
                {
                    JobStates.Fail(job, $"Bucket {job.BucketName} is gone; the job of pool {job.PoolId} cannot run.", DateTime.UtcNow);
                }
                else
                {
                    PoolJobStates.Apply(job, markers[i]!, id => byId.TryGetValue(id, out var status) ? status : null);
                }

                if (job.IsFinished)
                {
                    finished.Add(job);
                }
            }

            return finished;
        }

        /// <summary>
        /// Ends the pool once none of its jobs is left unfinished: those given here are finished, and so is every other
        /// job whose bucket carries the pool's tag (a pipeline may wait for part of a pool).
        /// </summary>
        private async Task CleanUpIfDoneAsync(string poolId, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            if (jobs.Any(j => !j.IsFinished))
            {
                return;
            }

            var live = (await _instances.ListAsync(poolId, ct).ConfigureAwait(false)).Where(i => !i.HasEnded).ToList();
            var known = new HashSet<string>(jobs.Select(j => j.BucketName), StringComparer.Ordinal);
            var others = (await _buckets.JobsOfPoolAsync(poolId, ct).ConfigureAwait(false)).Where(j => !known.Contains(j.BucketName)).ToList();
            if (others.Count > 0)
            {
                var markers = await WorkQueue.MapAsync(others, ReadsInFlight, (job, token) => _buckets.ReadMarkersAsync(job, token), ct).ConfigureAwait(false);
                if (markers.Any(m => m != null && m.Ended == null && !m.Withdrawn))
                {
                    return;
                }
            }

            await CleanUpAsync(poolId, live.Select(i => i.InstanceId).ToList(), ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Launches <paramref name="count"/> instances, each with the launch options of a single job in order (Spot, then
        /// On-Demand, each instance_type). Ordinals start after the <paramref name="known"/> instances EC2 lists; one EC2
        /// answers with an ended instance was spent before and is stepped over. No capacity for any option leaves the
        /// rest to the next poll.
        /// </summary>
        private async Task LaunchAsync(FemagConfig config, string poolId, string userData, int count, int known, CancellationToken ct)
        {
            var ordinal = Math.Max(known + 1, _nextOrdinal.TryGetValue(poolId, out var next) ? next : 1);
            var options = LaunchPolicy.Options(config);
            for (var launched = 0; launched < count; launched++)
            {
                string? id = null;
                FemagException? refusal = null;
                for (var round = 0; round < OrdinalRounds && id == null; round++, ordinal++)
                {
                    try
                    {
                        var at = ordinal;
                        id = (await LaunchPolicy.LaunchFirstAvailableAsync(options, option => _instances.LaunchAsync(config, poolId, at, userData, option.InstanceType, option.Spot, ct)).ConfigureAwait(false)).Result;
                    }
                    catch (FemagException ex) when (LaunchPolicy.IsCapacityError(ex.ErrorId))
                    {
                        refusal = ex;
                        break;
                    }
                }

                _nextOrdinal[poolId] = ordinal;
                if (refusal != null)
                {
                    Warnings.Add($"Pool {poolId}: EC2 launched {launched} of {count} instance(s): {refusal.Message} Wait-FemagJob tries again at its next poll.");
                    return;
                }

                if (id != null)
                {
                    Notes.Add($"Pool {poolId}: launched instance {id}.");
                }
            }
        }
    }
}

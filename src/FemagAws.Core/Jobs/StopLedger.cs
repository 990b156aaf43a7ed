using System;
using System.Collections.Generic;
using System.Linq;

namespace FemagAws.Jobs
{
    /// <summary>
    /// One account of what a stopped pipeline leaves in the cloud. The cmdlets of a pipeline join one ledger when they
    /// begin; when stopped, each enters what it knows of the jobs it handled, and the last to leave gets the account to
    /// tell. Facts only add up (a bucket is uploaded, then holds results, then is received; an instance runs, then ends),
    /// so the order in which the cmdlets report does not matter, and a job passed down the pipeline is told once, where
    /// it got to.
    /// </summary>
    public sealed class StopLedger
    {
        private enum BucketStage
        {
            Uploaded,
            AwaitingRelaunch,

            // Sent to a pool: it waits or runs there until it ends or is withdrawn.
            InPool,

            // Withdrawn from its pool by the stop: its bucket keeps the upload.
            Withdrawn,
            Finished,
            Received,
        }

        private enum InstanceFate
        {
            Running,
            Ended,
            TerminatedByStop,
        }

        private sealed class Bucket
        {
            public Bucket(FemagJob job, BucketStage stage)
            {
                Job = job;
                Stage = stage;
            }

            public FemagJob Job { get; }

            public BucketStage Stage { get; set; }
        }

        private sealed class Instance
        {
            public Instance(string id, FemagJob job, InstanceFate fate)
            {
                Id = id;
                Job = job;
                Fate = fate;
            }

            public string Id { get; }

            public FemagJob Job { get; }

            public InstanceFate Fate { get; set; }
        }

        private readonly object _lock = new object();
        private readonly HashSet<object> _members = new HashSet<object>();
        private readonly Dictionary<string, Bucket> _buckets = new Dictionary<string, Bucket>(StringComparer.Ordinal);
        private readonly Dictionary<string, Instance> _instances = new Dictionary<string, Instance>(StringComparer.Ordinal);
        private readonly List<FemagJob> _cutOff = new List<FemagJob>();
        private readonly Dictionary<string, StoppedPool> _pools = new Dictionary<string, StoppedPool>(StringComparer.Ordinal);
        private readonly List<string> _leftBehind = new List<string>();

        /// <summary>A cmdlet of the pipeline begins.</summary>
        public void Join(object member)
        {
            lock (_lock)
            {
                _members.Add(member);
            }
        }

        /// <summary>
        /// A cmdlet of the pipeline ends. The last one gets the account of everything entered, if anything is left to
        /// tell, and the ledger starts empty for the next pipeline; the others get null.
        /// </summary>
        public StopAccount? Leave(object member)
        {
            lock (_lock)
            {
                if (!_members.Remove(member) || _members.Count > 0)
                {
                    return null;
                }

                var account = Account();
                _buckets.Clear();
                _instances.Clear();
                _cutOff.Clear();
                _pools.Clear();
                _leftBehind.Clear();
                return account;
            }
        }

        /// <summary>The job's bucket holds its upload.</summary>
        public void Uploaded(FemagJob job) => Record(job, BucketStage.Uploaded);

        /// <summary>
        /// The job's instance was lost and its next launch had not started: Get-FemagJob finds it Running with the lost
        /// instance, and Wait-FemagJob (not Start-FemagInstance) launches it again.
        /// </summary>
        public void AwaitingRelaunch(FemagJob job) => Record(job, BucketStage.AwaitingRelaunch);

        /// <summary>The job has finished; its results are in its bucket and were not (all) received.</summary>
        public void ResultsInBucket(FemagJob job) => Record(job, BucketStage.Finished);

        /// <summary>The job's results were received; its bucket needs no word.</summary>
        public void Received(FemagJob job) => Record(job, BucketStage.Received);

        /// <summary>
        /// A pool of the pipeline's jobs as the stop found it (<see cref="Runners.IJobRunner.EnterStopAsync"/>); looks at
        /// one pool by several cmdlets add up.
        /// </summary>
        public void Pool(StoppedPool pool)
        {
            lock (_lock)
            {
                _pools[pool.PoolId] = _pools.TryGetValue(pool.PoolId, out var known) ? known.Merge(pool) : pool;
            }
        }

        /// <summary>The job's instance runs on, and bills, after the stop.</summary>
        public void InstanceRunning(FemagJob job) => Record(job, InstanceFate.Running);

        /// <summary>The job's instance has ended with its job.</summary>
        public void InstanceEnded(FemagJob job) => Record(job, InstanceFate.Ended);

        /// <summary>The stop terminated the job's instance, or withdrew it from its pool; its bucket keeps the upload.</summary>
        public void InstanceTerminatedByStop(FemagJob job) => Record(job, InstanceFate.TerminatedByStop);

        /// <summary>The stop cut off the job's upload, and its bucket was removed: its folder is not in the cloud.</summary>
        public void UploadCutOff(FemagJob job)
        {
            lock (_lock)
            {
                _cutOff.Add(job);
            }
        }

        /// <summary>Something the stop could not settle, told as given: what it is and what to do about it.</summary>
        public void LeftBehind(string what)
        {
            lock (_lock)
            {
                _leftBehind.Add(what);
            }
        }

        private void Record(FemagJob job, BucketStage stage)
        {
            // A pool job with only its upload is in its pool's queue.
            if (job.PoolId != null && stage < BucketStage.InPool)
            {
                stage = BucketStage.InPool;
            }

            lock (_lock)
            {
                if (!_buckets.TryGetValue(job.BucketName, out var bucket))
                {
                    _buckets[job.BucketName] = new Bucket(job, stage);
                }
                else if (stage > bucket.Stage)
                {
                    bucket.Stage = stage;
                }
            }
        }

        private void Record(FemagJob job, InstanceFate fate)
        {
            // A pool job's instances serve its whole pool, which tells them (Pool); a stop that ended a pool job withdrew it.
            if (job.PoolId != null)
            {
                Record(job, fate == InstanceFate.TerminatedByStop ? BucketStage.Withdrawn : BucketStage.InPool);
                return;
            }

            Record(job, BucketStage.Uploaded);
            if (job.InstanceId == null)
            {
                return;
            }

            lock (_lock)
            {
                if (!_instances.TryGetValue(job.InstanceId, out var instance))
                {
                    _instances[job.InstanceId] = new Instance(job.InstanceId, job, fate);
                }
                else if (fate > instance.Fate)
                {
                    instance.Fate = fate;
                }
            }
        }

        private StopAccount? Account()
        {
            var running = _instances.Values.Where(i => i.Fate == InstanceFate.Running).OrderBy(i => i.Job.Index).Select(i => new StoppedInstance(i.Id, i.Job)).ToList();
            var terminated = _instances.Values.Where(i => i.Fate == InstanceFate.TerminatedByStop).OrderBy(i => i.Job.Index).Select(i => new StoppedInstance(i.Id, i.Job)).ToList();

            // A job whose instance runs on is told with its instance: going on waits for it, whatever its bucket holds.
            var busy = new HashSet<string>(running.Select(i => i.Job.BucketName), StringComparer.Ordinal);
            var idle = _buckets.Values.Where(b => !busy.Contains(b.Job.BucketName)).OrderBy(b => b.Job.Index).ToList();
            var uploaded = idle.Where(b => b.Stage == BucketStage.Uploaded || b.Stage == BucketStage.Withdrawn).Select(b => b.Job).ToList();
            var inPool = idle.Where(b => b.Stage == BucketStage.InPool).Select(b => b.Job).ToList();
            var pools = _pools.Values.OrderBy(p => p.PoolId, StringComparer.Ordinal).ToList();
            foreach (var pool in pools)
            {
                pool.Jobs = inPool.Where(j => j.PoolId == pool.PoolId).ToList();
            }

            // A job sent to a pool the stop could not look at is still told, with its pool.
            pools.AddRange(inPool.Where(j => !_pools.ContainsKey(j.PoolId!)).GroupBy(j => j.PoolId!).Select(g => SetJobs(StoppedPool.Unseen(g.Key), g.ToList())));
            var lost = idle.Where(b => b.Stage == BucketStage.AwaitingRelaunch).Select(b => b.Job).ToList();
            var finished = idle.Where(b => b.Stage == BucketStage.Finished).Select(b => b.Job).ToList();
            if (running.Count + terminated.Count + uploaded.Count + inPool.Count + pools.Count + lost.Count + finished.Count + _cutOff.Count + _leftBehind.Count == 0)
            {
                return null;
            }

            // Each job still in the cloud with its next step, in the order the account tells them; cleaning up takes the same jobs.
            var steps = running.Select(i => Step(i.Job, GoOnStep.Wait)).Concat(inPool.Select(j => Step(j, GoOnStep.Wait))).Concat(uploaded.Select(j => Step(j, GoOnStep.Start)))
                .Concat(lost.Select(j => Step(j, GoOnStep.Wait))).Concat(finished.Select(j => Step(j, GoOnStep.Receive))).ToList();
            var jobs = running.Select(i => i.Job).Concat(inPool).Concat(uploaded).Concat(lost).Concat(finished).ToList();
            // Keys given on the command line live in memory only, so the commands cannot carry them.
            var given = jobs.Where(j => j.Credentials != null).Select(j => j.Credentials!.Source).Distinct().ToList();
            return new StopAccount(running, terminated, uploaded, lost, finished, _cutOff.OrderBy(j => j.Index).ToList(), pools, _leftBehind.ToList(), steps, jobs, given);
        }

        private static StoppedPool SetJobs(StoppedPool pool, List<FemagJob> jobs)
        {
            pool.Jobs = jobs;
            return pool;
        }

        private static KeyValuePair<FemagJob, GoOnStep> Step(FemagJob job, GoOnStep step) => new KeyValuePair<FemagJob, GoOnStep>(job, step);
    }
}

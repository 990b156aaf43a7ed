using System.Collections.Generic;
using System.Linq;

namespace FemagAws.Jobs
{
    /// <summary>What the next step of a stopped job is, for the stop account's "Go on" lines.</summary>
    public enum GoOnStep
    {
        /// <summary>Its instance runs on or is to be launched again: wait for the job, then receive it.</summary>
        Wait,

        /// <summary>Only its upload is in the cloud: start it, wait for it, receive it.</summary>
        Start,

        /// <summary>It has finished: receive it.</summary>
        Receive,
    }

    /// <summary>One of a stopped pipeline's instances, with its job.</summary>
    public sealed class StoppedInstance
    {
        public StoppedInstance(string instanceId, FemagJob job)
        {
            InstanceId = instanceId;
            Job = job;
        }

        public string InstanceId { get; }

        public FemagJob Job { get; }
    }

    /// <summary>
    /// A worker pool as a stop found it: its queue, its instances, and the pipeline's jobs in it. A stop that withdrew
    /// the pool's jobs (-StopOnCancel) removed it: its queue is gone.
    /// </summary>
    public sealed class StoppedPool
    {
        public StoppedPool(string poolId, string queueName, bool queueLeft, IReadOnlyList<string> running, IReadOnlyList<string> ended)
        {
            PoolId = poolId;
            QueueName = queueName;
            QueueLeft = queueLeft;
            Running = running;
            Ended = ended;
        }

        public string PoolId { get; }

        public string QueueName { get; }

        /// <summary>False once the pool was removed (its queues deleted).</summary>
        public bool QueueLeft { get; }

        /// <summary>Instances of the pool that run on, and bill, after the stop.</summary>
        public IReadOnlyList<string> Running { get; }

        /// <summary>Instances of the pool that have ended; with none running or ended, none was launched yet.</summary>
        public IReadOnlyList<string> Ended { get; }

        /// <summary>False for a pool of the pipeline's jobs whose queue and instances the stop could not look at.</summary>
        public bool Seen { get; private set; } = true;

        /// <summary>A pool only known from its jobs: the stop could not look at it.</summary>
        internal static StoppedPool Unseen(string poolId) =>
            new StoppedPool(poolId, Aws.Sqs.PoolQueues.QueueName(poolId), true, new string[0], new string[0]) { Seen = false };

        /// <summary>The pipeline's jobs that wait or run in the pool, in job order (set by the ledger).</summary>
        public IReadOnlyList<FemagJob> Jobs { get; internal set; } = new FemagJob[0];

        /// <summary>Two looks at one pool: what either saw end has ended, and a queue either saw gone is gone.</summary>
        internal StoppedPool Merge(StoppedPool other)
        {
            var ended = Ended.Union(other.Ended).ToList();
            return new StoppedPool(PoolId, QueueName, QueueLeft && other.QueueLeft, Running.Union(other.Running).Except(ended).ToList(), ended);
        }
    }

    /// <summary>
    /// What a stopped pipeline leaves in the cloud, as <see cref="StopLedger"/> adds it up: the facts only, each list in
    /// job order; the module tells them in its words, with the command lines to go on or clean up.
    /// </summary>
    public sealed class StopAccount
    {
        internal StopAccount(
            IReadOnlyList<StoppedInstance> running,
            IReadOnlyList<StoppedInstance> terminated,
            IReadOnlyList<FemagJob> uploaded,
            IReadOnlyList<FemagJob> awaitingRelaunch,
            IReadOnlyList<FemagJob> finished,
            IReadOnlyList<FemagJob> cutOff,
            IReadOnlyList<StoppedPool> pools,
            IReadOnlyList<string> leftBehind,
            IReadOnlyList<KeyValuePair<FemagJob, GoOnStep>> goOn,
            IReadOnlyList<FemagJob> cleanUp,
            IReadOnlyList<string> givenCredentialSources)
        {
            Running = running;
            Terminated = terminated;
            Uploaded = uploaded;
            AwaitingRelaunch = awaitingRelaunch;
            Finished = finished;
            CutOff = cutOff;
            Pools = pools;
            LeftBehind = leftBehind;
            GoOn = goOn;
            CleanUp = cleanUp;
            GivenCredentialSources = givenCredentialSources;
        }

        /// <summary>Instances that run on, and bill, after the stop.</summary>
        public IReadOnlyList<StoppedInstance> Running { get; }

        /// <summary>Instances the stop terminated; their buckets keep the uploads.</summary>
        public IReadOnlyList<StoppedInstance> Terminated { get; }

        /// <summary>Jobs whose bucket holds the upload and that have no instance.</summary>
        public IReadOnlyList<FemagJob> Uploaded { get; }

        /// <summary>Jobs whose instance was lost, waiting for Wait-FemagJob to launch them again.</summary>
        public IReadOnlyList<FemagJob> AwaitingRelaunch { get; }

        /// <summary>Finished jobs whose results are in their bucket and were not (all) received.</summary>
        public IReadOnlyList<FemagJob> Finished { get; }

        /// <summary>Jobs whose upload the stop cut off and whose bucket was removed: their folders are not in the cloud.</summary>
        public IReadOnlyList<FemagJob> CutOff { get; }

        /// <summary>The worker pools of the pipeline's jobs, each with its jobs, in pool order.</summary>
        public IReadOnlyList<StoppedPool> Pools { get; }

        /// <summary>What the stop could not settle, each saying what it is and what to do about it.</summary>
        public IReadOnlyList<string> LeftBehind { get; }

        /// <summary>Each job still in the cloud with its next step: those running on or in a pool, uploaded, lost, finished.</summary>
        public IReadOnlyList<KeyValuePair<FemagJob, GoOnStep>> GoOn { get; }

        /// <summary>The same jobs, for removing their buckets.</summary>
        public IReadOnlyList<FemagJob> CleanUp { get; }

        /// <summary>
        /// True when cleaning up has to stop something first: instances run on, or a pool is left (Stop-FemagInstance
        /// withdraws its jobs and removes it).
        /// </summary>
        public bool CleanUpStopsInstances => Running.Count > 0 || Pools.Any(p => p.QueueLeft);

        /// <summary>
        /// Where the keys given on the command line came from, for the jobs still in the cloud: they live in memory
        /// only, so no command line can carry them.
        /// </summary>
        public IReadOnlyList<string> GivenCredentialSources { get; }
    }
}

using System.Collections.Generic;

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

        /// <summary>What the stop could not settle, each saying what it is and what to do about it.</summary>
        public IReadOnlyList<string> LeftBehind { get; }

        /// <summary>Each job still in the cloud with its next step: those running on, uploaded, lost, finished.</summary>
        public IReadOnlyList<KeyValuePair<FemagJob, GoOnStep>> GoOn { get; }

        /// <summary>The same jobs, for removing their buckets.</summary>
        public IReadOnlyList<FemagJob> CleanUp { get; }

        /// <summary>True when cleaning up has to terminate instances first (some run on).</summary>
        public bool CleanUpStopsInstances => Running.Count > 0;

        /// <summary>
        /// Where the keys given on the command line came from, for the jobs still in the cloud: they live in memory
        /// only, so no command line can carry them.
        /// </summary>
        public IReadOnlyList<string> GivenCredentialSources { get; }
    }
}

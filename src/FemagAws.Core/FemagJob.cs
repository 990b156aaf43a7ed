using System;
using System.Collections.Generic;
using FemagAws.Aws;
using FemagAws.Aws.Credentials;
using FemagAws.Insight;

namespace FemagAws
{
    /// <summary>Where a job is in its life.</summary>
    public enum FemagJobState
    {
        /// <summary>The folder is packed into its bucket; no instance yet.</summary>
        Uploaded,

        /// <summary>
        /// Approved to launch but not launched yet: max_instances jobs already run, or EC2 had no capacity. Wait-FemagJob
        /// launches it as others finish.
        /// </summary>
        Queued,

        /// <summary>An instance was launched and the finish file has not been seen yet.</summary>
        Running,

        /// <summary>The finish file holds 0 and the results are complete in the bucket.</summary>
        Succeeded,

        /// <summary>FEMAG returned another exit code, the instance ended without one, or the launch failed.</summary>
        Failed,

        /// <summary>Wait-FemagJob gave up waiting; the instance may still run.</summary>
        TimedOut,
    }

    /// <summary>
    /// One FEMAG calculation: a local folder, its S3 bucket and the EC2 instance that runs it.
    /// It carries its config, region and endpoint so that each cmdlet, even in a new session, can go on with it.
    /// </summary>
    public sealed class FemagJob
    {
        /// <summary>Position in the parameter variation; the archive is <c>&lt;Index&gt;.tar.gz</c>.</summary>
        public int Index { get; set; }

        public string BucketName { get; set; } = string.Empty;

        /// <summary>Full path of the local folder the job came from and its results go to.</summary>
        public string? Folder { get; set; }

        /// <summary>The region of the bucket and of the instance; it wins over the SDK's default region.</summary>
        public string Region { get; set; } = FemagConfig.DefaultServerLocation;

        /// <summary>An S3/EC2-compatible endpoint, or null for AWS itself.</summary>
        public string? EndpointUrl { get; set; }

        /// <summary>The AWS profile used to create the job, or null for the SDK's default chain.</summary>
        public string? ProfileName { get; set; }

        /// <summary>The shared credentials file the profile is in, when it is not ~/.aws/credentials.</summary>
        public string? ProfileLocation { get; set; }

        /// <summary>Keys given to the command that made the job; in memory only, never a public property.</summary>
        internal GivenCredentials? Credentials { get; set; }

        /// <summary>The instance that runs the job: its own, or the pool instance that took it from the queue.</summary>
        public string? InstanceId { get; set; }

        /// <summary>The worker pool whose queue holds the job (pool_size above 0), or null for a job with an instance of its own.</summary>
        public string? PoolId { get; set; }

        /// <summary>The instance type the job's instance got: the first of instance_type that EC2 had capacity for.</summary>
        public string? InstanceType { get; set; }

        /// <summary>"spot" or "on-demand": how the job's instance was bought; null before a launch.</summary>
        public string? Lifecycle { get; set; }

        /// <summary>Which launch of the job this is (1-based); lost instances are relaunched up to max_attempts.</summary>
        public int Attempt { get; set; }

        /// <summary>Why each earlier launch of the job was lost, oldest first.</summary>
        public List<string> Losses { get; set; } = new List<string>();

        /// <summary>Set only by the transitions of <see cref="Jobs.JobStates"/> (and when a saved job is read back).</summary>
        public FemagJobState State { get; internal set; }

        /// <summary>What FEMAG returned, read from the finish file; null until it exists.</summary>
        public int? ExitCode { get; set; }

        /// <summary>Why the job failed or timed out; null otherwise.</summary>
        public string? Reason { get; set; }

        /// <summary>When the job's bucket was created (UTC).</summary>
        public DateTime? CreationTime { get; set; }

        public DateTime? LaunchTime { get; set; }

        public DateTime? FinishTime { get; set; }

        /// <summary>Each run of the job, oldest first: which instance ran which attempt, when, and how it ended.</summary>
        public List<JobRun> Runs { get; set; } = new List<JobRun>();

        /// <summary>From the launch (or, in a pool, from when an instance took the job) to its end; null until it ends.</summary>
        public TimeSpan? Runtime => LaunchTime is DateTime start && FinishTime is DateTime end && end >= start ? end - start : (TimeSpan?)null;

        /// <summary>
        /// Instance seconds the job was billed for: the lifetimes of its own instances (each at least 60 s, every
        /// attempt counted), or its share of its pool's instances, so a pool's jobs add up to what the pool billed.
        /// Null until known.
        /// </summary>
        public double? BilledSeconds { get; set; }

        /// <summary>What <see cref="BilledSeconds"/> cost in US dollars, where the price is known; null otherwise.</summary>
        public decimal? Cost { get; set; }

        public FemagConfig Config { get; set; } = FemagConfig.Defaults;

        /// <summary>
        /// The ETag S3 gave the archive New-FemagBucket uploaded; Receive-FemagResult skips that object, the job's own
        /// input. Null for jobs rebuilt from the account, which find their archive by its folder metadata instead.
        /// </summary>
        public string? ArchiveETag { get; set; }

        /// <summary>The object that holds the packed folder.</summary>
        public string ArchiveKey => ArchiveKeyFor(Index);

        /// <summary>Time since the instance was launched, or else since the bucket was created, in whole seconds.</summary>
        public TimeSpan? Age => (LaunchTime ?? CreationTime) is DateTime since ? TimeSpan.FromSeconds(Math.Round((DateTime.UtcNow - since).TotalSeconds)) : (TimeSpan?)null;

        /// <summary>True once the job has reached an end state.</summary>
        public bool IsFinished => State == FemagJobState.Succeeded || State == FemagJobState.Failed;

        public const string Spot = "spot";
        public const string OnDemand = "on-demand";

        public static string ArchiveKeyFor(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".tar.gz";

        public override string ToString() => BucketName;
    }
}

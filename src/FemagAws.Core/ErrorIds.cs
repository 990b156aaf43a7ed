namespace FemagAws
{
    /// <summary>
    /// The error ids that code branches on, so the throw and every test of the id name the same constant. An id nothing
    /// branches on is written at its one throw.
    /// </summary>
    public static class ErrorIds
    {
        /// <summary>A launch got no answer and whether it started an instance could not be checked.</summary>
        public const string LaunchMayBeLeft = "FemagLaunchMayBeLeft";

        /// <summary>An upload failed or was stopped and its bucket could not be removed.</summary>
        public const string UploadFailedBucketLeft = "FemagUploadFailedBucketLeft";

        /// <summary>A termination went through while the stop tag could not be put on some instances.</summary>
        public const string StopNotMarked = "FemagStopNotMarked";

        /// <summary>Get-FemagJobLog: the job never ran, so it has no log.</summary>
        public const string JobLogNotStarted = "FemagJobLogNotStarted";

        /// <summary>Get-FemagJobLog: the job ran but its log is gone (EC2 no longer has the instance's console output).</summary>
        public const string JobLogGone = "FemagJobLogGone";

        // AWS's answers, as AwsErrors names them (see OfAws).
        public const string AwsNoSuchBucket = AwsPrefix + "NoSuchBucket";
        public const string AwsBucketNotEmpty = AwsPrefix + "BucketNotEmpty";
        public const string AwsDryRunOperation = AwsPrefix + "DryRunOperation";
        public const string AwsIdempotentParameterMismatch = AwsPrefix + "IdempotentParameterMismatch";
        public const string AwsInsufficientInstanceCapacity = AwsPrefix + "InsufficientInstanceCapacity";
        public const string AwsInsufficientCapacity = AwsPrefix + "InsufficientCapacity";
        public const string AwsUnfulfillableCapacity = AwsPrefix + "UnfulfillableCapacity";
        public const string AwsMaxSpotInstanceCountExceeded = AwsPrefix + "MaxSpotInstanceCountExceeded";
        public const string AwsSpotMaxPriceTooLow = AwsPrefix + "SpotMaxPriceTooLow";
        public const string AwsUnsupported = AwsPrefix + "Unsupported";
        public const string AwsInstanceLimitExceeded = AwsPrefix + "InstanceLimitExceeded";
        public const string AwsVcpuLimitExceeded = AwsPrefix + "VcpuLimitExceeded";

        private const string AwsPrefix = "Aws";

        /// <summary>The id of an AWS service error: "Aws" and its code without dots (InvalidInstanceID.NotFound: AwsInvalidInstanceIDNotFound).</summary>
        public static string OfAws(string code) => AwsPrefix + code.Replace(".", string.Empty);
    }
}

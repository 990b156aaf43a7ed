using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Aws.S3;
using FemagAws.CloudInit;
using FemagAws.Jobs;
using FemagAws.Runners.Pool;

namespace FemagAws.Runners.InstancePerJob
{
    /// <summary>Start-FemagInstance's work for one job.</summary>
    public static class InstanceStarter
    {
        /// <summary>
        /// Checks, before anything is created, what a launch will need from the config: image, instance type and a
        /// readable cloud-init script that fits EC2's user data limit.
        /// </summary>
        public static void CheckConfig(FemagConfig config)
        {
            CheckLaunchSettings(config);

            // An account id is 12 digits: the size check counts them.
            UserData.Render(config, BucketNames.New(0), "123456789012");
        }

        /// <summary>The job's user data, once everything that can be checked locally is right.</summary>
        /// <param name="job">The job to launch.</param>
        /// <param name="expectedBucketOwner">The account that owns its bucket (<see cref="AwsClients.ExpectedBucketOwnerAsync"/>).</param>
        public static string PrepareUserData(FemagJob job, string? expectedBucketOwner)
        {
            if (job.InstanceId != null && (job.State == FemagJobState.Running || job.State == FemagJobState.TimedOut))
            {
                throw new FemagException("FemagJobAlreadyStarted", FemagErrorKind.ResourceExists,
                    $"Job {job.Index} (bucket {job.BucketName}) already has instance {job.InstanceId}. Wait for it with Wait-FemagJob, or terminate it before starting the job again.");
            }

            WorkerPool.RefuseUnfinished(job);

            CheckLaunchSettings(job.Config);
            return UserData.Render(job.Config, job.BucketName, expectedBucketOwner);
        }

        /// <summary>
        /// Launches the job's instance. What an earlier run left in a reused bucket goes first: its finish file, and
        /// uploads it never completed, which would otherwise look like results still arriving. The launch options are
        /// tried in order while EC2 refuses them for capacity (<see cref="LaunchOptions"/>). When every option is refused,
        /// or the account's quota is used up, the job comes back <see cref="FemagJobState.Queued"/> instead of failing.
        /// </summary>
        public static async Task<FemagJob> StartAsync(AwsClients clients, FemagJob job, string userData, CancellationToken ct)
        {
            string instanceId;
            LaunchOption launched;

            JobStates.Launching(job);
            try
            {
                // A bucket that an instance already runs (started by another session, or by this one earlier) gets no
                // second one, and its finish file stays: the job follows that instance.
                var launches = await JobInstances.ForBucketAsync(clients.Ec2, job.BucketName, ct).ConfigureAwait(false);
                var live = launches.Where(i => !i.HasEnded).OrderByDescending(i => i.LaunchTime).FirstOrDefault();
                if (live != null)
                {
                    JobStates.Follow(job, launches, live);
                    JobStates.Running(job, $"{AlreadyRunningReason} instance {live.InstanceId} (attempt {job.Attempt}) already runs it; no second instance was launched, and the job follows that one.");
                    return job;
                }

                // A stopped instance of an earlier run keeps its volume, billing, and could be started again beside the new
                // one (Remove-FemagBucket counts it as live): it goes first, marked, as before a relaunch.
                var stopped = launches.Where(i => i.HasEnded && i.MayStillBill).Select(i => i.InstanceId).ToList();
                if (stopped.Count > 0)
                {
                    await JobInstances.TerminateAsync(clients.Ec2, stopped, ct).ConfigureAwait(false);
                }

                await JobBuckets.DeleteObjectAsync(clients.S3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false);
                await JobBuckets.AbortUploadsAsync(clients.S3, job.BucketName, ct).ConfigureAwait(false);
                if (job.PoolId != null)
                {
                    // A finished pool job starts again as a job of its own: Get-FemagJob and Wait-FemagJob then follow its instance.
                    await PoolBuckets.MoveAsync(clients.S3, job, null, ct).ConfigureAwait(false);
                    JobStates.LeftPool(job);
                }

                (instanceId, launched) = await LaunchPolicy.LaunchFirstAvailableAsync(LaunchPolicy.Options(job.Config),
                    option => JobInstances.LaunchAsync(clients.Ec2, job, userData, option.InstanceType, option.Spot, launches, ct)).ConfigureAwait(false);
            }
            catch (FemagException ex) when (ex.ErrorId == ErrorIds.AwsDryRunOperation)
            {
                JobStates.DryRun(job);
                return job;
            }
            catch (FemagException ex) when (LaunchPolicy.IsCapacityError(ex.ErrorId))
            {
                return JobStates.Queue(job, $"{LaunchPolicy.CapacityReason} {ex.Message} Wait-FemagJob launches the job when capacity frees.");
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                JobStates.Fail(job, ex.Message, null);
                throw new FemagException(ex is FemagException f ? f.ErrorId : "FemagLaunchFailed", ex is FemagException g ? g.Kind : FemagErrorKind.InvalidOperation,
                    $"{ex.Message} Bucket {job.BucketName} keeps the upload. Fix the cause and start the job again:\n  {clients.Commands.Restart(job)}\n" +
                    $"or delete the bucket:\n  {clients.Commands.RemoveBucket(AwsTarget.Of(job), job.BucketName)}",
                    ex);
            }

            JobStates.Launched(job, instanceId, launched.InstanceType, launched.Spot ? FemagJob.Spot : FemagJob.OnDemand, job.Attempt, DateTime.UtcNow);
            return job;
        }

        /// <summary>True when the job's launch failed: it never ran, and its bucket holds only its upload.</summary>
        public static bool NeverRan(FemagJob job) =>
            job.State == FemagJobState.Failed && job.LaunchTime == null && job.ExitCode == null && job.FinishTime == null;

        /// <summary>True when the job asked for Spot and got On-Demand because EC2 had no Spot capacity.</summary>
        public static bool FellBackToOnDemand(FemagJob job) => job.Config.Spot && job.Lifecycle == FemagJob.OnDemand && job.InstanceId != null;

        /// <summary>How the reason of a job begins whose bucket an instance already ran when it was started.</summary>
        public const string AlreadyRunningReason = "Already running:";


        internal static void CheckLaunchSettings(FemagConfig config)
        {
            if (string.IsNullOrWhiteSpace(config.ImageId))
            {
                throw new FemagException("FemagImageMissing", FemagErrorKind.InvalidArgument,
                    $"The configuration {config} sets an empty image_id. Set image_id in its [amazon] section to an AMI with FEMAG installed.");
            }

            if (config.InstanceTypes.Count == 0)
            {
                throw new FemagException("FemagInstanceTypeMissing", FemagErrorKind.InvalidArgument,
                    $"The configuration {config} sets an empty instance_type. Set it to t2.small or larger; FEMAG does not run on smaller types.");
            }
        }
    }
}

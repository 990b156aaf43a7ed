using System;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.CloudInit;

namespace FemagAws.Jobs
{
    /// <summary>Start-FemagInstance's work for one job.</summary>
    public static class InstanceStarter
    {
        /// <summary>Checks what can be checked locally, so a bad config fails before anything is launched.</summary>
        public static string PrepareUserData(FemagJob job)
        {
            if (job.State == FemagJobState.Running || job.State == FemagJobState.TimedOut)
            {
                throw new FemagException("FemagJobAlreadyStarted", FemagErrorKind.ResourceExists,
                    $"Job {job.Index} (bucket {job.BucketName}) already has instance {job.InstanceId}. Wait for it with Wait-FemagJob, or terminate it before starting the job again.");
            }

            if (string.IsNullOrWhiteSpace(job.Config.ImageId))
            {
                throw new FemagException("FemagImageMissing", FemagErrorKind.InvalidArgument,
                    $"The configuration {job.Config} sets an empty image_id. Set image_id in its [amazon] section to an AMI with FEMAG installed.");
            }

            if (string.IsNullOrWhiteSpace(job.Config.InstanceType))
            {
                throw new FemagException("FemagInstanceTypeMissing", FemagErrorKind.InvalidArgument,
                    $"The configuration {job.Config} sets an empty instance_type. Set it to t2.small or larger; FEMAG does not run on smaller types.");
            }

            return UserData.Render(job.Config, job.BucketName);
        }

        /// <summary>Launches the job's instance; a stale finish file from an earlier run is deleted first.</summary>
        public static async Task<FemagJob> StartAsync(AwsClients clients, FemagJob job, string userData, CancellationToken ct)
        {
            string instanceId;
            try
            {
                await JobBuckets.DeleteObjectAsync(clients.S3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false);
                instanceId = await JobInstances.LaunchAsync(clients.Ec2, job, userData, ct).ConfigureAwait(false);
            }
            catch (FemagException ex) when (ex.ErrorId == "AwsDryRunOperation")
            {
                // dry_run = 1: EC2 checked the request and permissions and launched nothing.
                job.Reason = "Dry run: EC2 says the launch would succeed; nothing was launched.";
                return job;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                job.State = FemagJobState.Failed;
                job.Reason = ex.Message;
                throw;
            }

            job.InstanceId = instanceId;
            job.State = FemagJobState.Running;
            job.ExitCode = null;
            job.Reason = null;
            job.LaunchTime = DateTime.UtcNow;
            job.FinishTime = null;
            return job;
        }
    }
}

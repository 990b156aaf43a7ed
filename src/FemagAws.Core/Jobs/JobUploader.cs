using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Packing;

namespace FemagAws.Jobs
{
    /// <summary>New-FemagBucket's work for one folder: pack it, create its bucket, upload the archive.</summary>
    public static class JobUploader
    {
        public static async Task<FemagJob> CreateAsync(AwsClients clients, DirectoryInfo folder, int index, FemagConfig config, CancellationToken ct)
        {
            var job = new FemagJob
            {
                Index = index,
                BucketName = BucketNames.New(index),
                Folder = folder.FullName,
                Region = clients.Target.Region,
                EndpointUrl = clients.Target.EndpointUrl,
                ProfileName = clients.Target.ProfileName,
                // The instance's script reads its region from SERVER_LOCATION: it must be the job's.
                Config = config.ForRegion(clients.Target.Region),
                State = FemagJobState.Uploaded,
                CreationTime = DateTime.UtcNow,
            };

            // Pack first: a folder that cannot be packed must not leave an empty bucket behind.
            using (var archive = new MemoryStream())
            {
                JobArchive.Write(folder, archive, ct);
                archive.Position = 0;
                await JobBuckets.CreateAsync(clients.S3, job.BucketName, job.Region, ct).ConfigureAwait(false);
                try
                {
                    await JobBuckets.ProtectAndTagAsync(clients.S3, job.BucketName, index, ct).ConfigureAwait(false);
                    await JobBuckets.PutArchiveAsync(clients.S3, job, archive, ct).ConfigureAwait(false);
                }
                catch (Exception uploadError)
                {
                    await RemoveHalfMadeBucketAsync(clients, job, uploadError).ConfigureAwait(false);
                    throw;
                }
            }

            return job;
        }

        private static async Task RemoveHalfMadeBucketAsync(AwsClients clients, FemagJob job, Exception uploadError)
        {
            try
            {
                await JobBuckets.RemoveAsync(clients.S3, job.BucketName, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception cleanupError)
            {
                throw new FemagException("FemagUploadFailedBucketLeft", FemagErrorKind.InvalidOperation,
                    $"Uploading folder '{job.Folder}' failed ({uploadError.Message}) and its bucket {job.BucketName} could not be removed ({cleanupError.Message}). Remove it with 'aws s3 rb s3://{job.BucketName} --force'.",
                    uploadError);
            }
        }
    }
}

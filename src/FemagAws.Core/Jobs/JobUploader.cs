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
                try
                {
                    await JobBuckets.CreateAsync(clients.S3, job.BucketName, job.Region, ct).ConfigureAwait(false);
                }
                catch (Exception createError) when (!IsRefusal(createError))
                {
                    // No answer (Ctrl+C, a lost connection): the bucket may have been made all the same.
                    await DiscardBucketAsync(clients, job, createError).ConfigureAwait(false);
                    throw;
                }

                try
                {
                    await JobBuckets.ProtectAndTagAsync(clients.S3, job.BucketName, index, ct).ConfigureAwait(false);
                    await JobBuckets.PutArchiveAsync(clients.S3, job, archive, ct).ConfigureAwait(false);
                }
                catch (Exception uploadError)
                {
                    await DiscardBucketAsync(clients, job, uploadError).ConfigureAwait(false);
                    if (uploadError is FemagException failure)
                    {
                        throw new FemagException(failure.ErrorId, failure.Kind,
                            $"Folder '{job.Folder}': {failure.Message} Its bucket was removed again, so nothing is left behind; fix the cause and run New-FemagBucket for the folder again.", failure);
                    }

                    throw;
                }
            }

            return job;
        }

        /// <summary>True when S3 refused the request (a 4xx answer), so nothing was made; after a 5xx it may exist.</summary>
        private static bool IsRefusal(Exception error) =>
            error is FemagException f && f.InnerException is Amazon.Runtime.AmazonServiceException service && !string.IsNullOrEmpty(service.ErrorCode) && (int)service.StatusCode < 500;

        /// <summary>
        /// Removes a job's bucket whose upload failed or was cancelled (Ctrl+C), within a bounded time; when that fails
        /// too, the error names the bucket it left behind, tagged as the module's, and how to remove it.
        /// </summary>
        public static async Task DiscardBucketAsync(AwsClients clients, FemagJob job, Exception uploadError)
        {
            try
            {
                using (var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                {
                    await JobBuckets.RemoveAsync(clients.S3, job.BucketName, cleanup.Token).ConfigureAwait(false);
                }
            }
            catch (FemagException gone) when (gone.ErrorId == "AwsNoSuchBucket")
            {
                // The create never went through.
            }
            catch (Exception cleanupError)
            {
                var why = uploadError is OperationCanceledException ? "was stopped" : $"failed ({uploadError.Message})";
                throw new FemagException("FemagUploadFailedBucketLeft", FemagErrorKind.InvalidOperation,
                    $"Uploading folder '{job.Folder}' {why} and its bucket {job.BucketName} could not be removed ({cleanupError.Message}). It is left, tagged {JobBuckets.IndexTag}; remove it with 'Remove-FemagBucket -Name {job.BucketName} -Force'.",
                    uploadError);
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.S3;
using FemagAws.Runners.Pool;
using FemagAws.Packing;

namespace FemagAws.Jobs
{
    /// <summary>New-FemagBucket's work for one folder: pack it, create its bucket, upload the archive.</summary>
    public static class JobUploader
    {
        public static async Task<FemagJob> CreateAsync(AwsClients clients, DirectoryInfo folder, int index, FemagConfig config, CancellationToken ct)
        {
            var job = clients.Target.NewJob(index, BucketNames.New(index), config);
            job.Folder = folder.FullName;
            job.CreationTime = DateTime.UtcNow;

            // A folder that cannot be packed (empty, a symbolic link) is refused before any bucket is made.
            var files = JobArchive.ListFiles(folder, name => IsBookkeeping(name, config));
            using (var upload = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                // The bucket is made while the first part packs; the archive streams into it as it is packed.
                var created = JobBuckets.CreateAsync(clients.S3, job.BucketName, job.Region, upload.Token);
                var ready = ProtectWhenCreatedAsync(clients, job, created, upload.Token);
                using (var archive = new ArchiveUploadStream(clients.S3, job.BucketName, job.ArchiveKey, ready, JobArchive.TotalBytes(files), upload.Token))
                {
                    try
                    {
                        // Packing is synchronous, CPU-bound and blocks while parts are on their way, so it gets a
                        // thread of its own and the thread pool stays free for the requests.
                        await Task.Factory.StartNew(() => JobArchive.Write(files, archive, upload.Token), upload.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                        job.ArchiveETag = await archive.CompleteAsync().ConfigureAwait(false);

                        // Later sessions tell the archive New-FemagBucket sent by this ETag (Receive-FemagResult skips it).
                        await JobBuckets.TagAsync(clients.S3, job.BucketName, TagsOf(job), upload.Token).ConfigureAwait(false);
                    }
                    catch (Exception failure)
                    {
                        upload.Cancel();
                        await archive.StopAsync().ConfigureAwait(false);
                        await ObserveAsync(ready).ConfigureAwait(false);
                        throw await CleanUpAfterAsync(clients, job, created, failure, ct.IsCancellationRequested).ConfigureAwait(false);
                    }
                }
            }

            return job;
        }

        /// <summary>
        /// True for a file of a job folder that a run or the module wrote and the next run must not get: the finish
        /// file a previous Receive-FemagResult brought back (packed, a rerun's script would sync the old exit code
        /// into the bucket before FEMAG's new one), a download's unfinished file left by a killed session, and a pool's
        /// femag-aws/ markers and job log (a worker reads femag-aws/withdrawn in the bucket: an old one must not travel).
        /// </summary>
        /// <param name="name">The archive entry name: relative, '/'-separated.</param>
        /// <param name="config">The job's config, which names the finish file.</param>
        public static bool IsBookkeeping(string name, FemagConfig config) =>
            name == config.FinishTaskFilename || name.EndsWith(JobBuckets.PartialDownloadSuffix, StringComparison.Ordinal) || JobMarkers.IsMarker(name);

        private static async Task ProtectWhenCreatedAsync(AwsClients clients, FemagJob job, Task created, CancellationToken ct)
        {
            await created.ConfigureAwait(false);
            await JobBuckets.ProtectAndTagAsync(clients.S3, job.BucketName, TagsOf(job), ct).ConfigureAwait(false);
        }

        /// <summary>What a later session may trust about the job: kept in bucket tags, which the instance cannot change.</summary>
        private static JobTags TagsOf(FemagJob job) => new JobTags(job.Index, job.Folder, job.ArchiveETag);

        /// <summary>Waits for a task whose failure, if any, is already being handled.</summary>
        private static async Task ObserveAsync(Task task)
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Reported through the failure that stopped the upload.
            }
        }

        /// <summary>
        /// The error to report for a failed or stopped upload, after removing its bucket, unless S3 refused to make it:
        /// then nothing was made and the refusal is the error.
        /// </summary>
        private static async Task<Exception> CleanUpAfterAsync(AwsClients clients, FemagJob job, Task created, Exception failure, bool stopped)
        {
            if (created.IsFaulted && IsRefusal(created.Exception!.InnerException!))
            {
                return created.Exception.InnerException!;
            }

            await DiscardBucketAsync(clients, job, stopped ? null : failure).ConfigureAwait(false);
            if (failure is FemagException femag && !created.IsFaulted)
            {
                return new FemagException(femag.ErrorId, femag.Kind,
                    $"Folder '{job.Folder}': {femag.Message} Its bucket was removed again, so nothing is left behind; fix the cause and run New-FemagBucket for the folder again.", femag);
            }

            return failure;
        }

        /// <summary>True when S3 refused the request (a 4xx answer), so nothing was made; after a 5xx it may exist.</summary>
        private static bool IsRefusal(Exception error) =>
            error is FemagException f && f.InnerException is Amazon.Runtime.AmazonServiceException service && !string.IsNullOrEmpty(service.ErrorCode) && (int)service.StatusCode < 500;

        /// <summary>
        /// Removes a job's bucket whose upload failed or was cancelled (Ctrl+C), within a bounded time; when that fails
        /// too, the error names the bucket it left behind, tagged as the module's, and how to remove it.
        /// </summary>
        /// <param name="clients">The job's clients.</param>
        /// <param name="job">The job whose bucket goes.</param>
        /// <param name="uploadError">Why the upload failed; null when it was stopped.</param>
        public static async Task DiscardBucketAsync(AwsClients clients, FemagJob job, Exception? uploadError)
        {
            try
            {
                using (var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                {
                    await JobBuckets.RemoveAsync(clients.S3, job.BucketName, cleanup.Token).ConfigureAwait(false);
                }
            }
            catch (FemagException gone) when (gone.ErrorId == ErrorIds.AwsNoSuchBucket)
            {
                // The create never went through.
            }
            catch (Exception cleanupError)
            {
                var why = uploadError == null ? "was stopped" : $"failed ({uploadError.Message})";
                throw new FemagException(ErrorIds.UploadFailedBucketLeft, FemagErrorKind.InvalidOperation,
                    $"Uploading folder '{job.Folder}' {why} and its bucket {job.BucketName} could not be removed ({cleanupError.Message}). It is left, tagged {JobBuckets.IndexTag}; remove it with '{clients.Commands.RemoveBucket(AwsTarget.Of(job), job.BucketName)}'.",
                    uploadError ?? cleanupError);
            }
        }
    }
}

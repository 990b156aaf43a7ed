using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Jobs;
using FemagAws.Runners.Pool;

namespace FemagAws.Aws.S3
{
    /// <summary>The S3 side of a pool's jobs, as the pool's logic sees it (faked in the unit tests).</summary>
    public interface IPoolBuckets
    {
        /// <summary>Makes a job's bucket ready for the pool: an earlier run's finish file and markers go, the pool tag is added.</summary>
        Task PrepareAsync(FemagJob job, string poolId, CancellationToken ct);

        /// <summary>The job's markers, and its finish file once it has ended with one; null when the bucket is gone.</summary>
        Task<JobMarkerTexts?> ReadMarkersAsync(FemagJob job, CancellationToken ct);

        /// <summary>Writes femag-aws/withdrawn: a worker skips the job, or ends it at its next heartbeat.</summary>
        Task WithdrawAsync(FemagJob job, CancellationToken ct);

        /// <summary>The log the worker keeps of the job's script (femag-aws/job.log), or null when there is none (yet) or the bucket is gone.</summary>
        Task<string?> ReadLogAsync(FemagJob job, CancellationToken ct);

        /// <summary>The module's jobs in the region whose buckets are tagged with the pool.</summary>
        Task<List<FemagJob>> JobsOfPoolAsync(string poolId, CancellationToken ct);

        /// <summary>The account that owns the jobs' buckets (<see cref="AwsClients.ExpectedBucketOwnerAsync"/>), for the worker's S3 requests.</summary>
        Task<string?> ExpectedOwnerAsync(CancellationToken ct);
    }

    /// <summary>A pool's jobs in S3, through the target's clients.</summary>
    public sealed class PoolBuckets : IPoolBuckets
    {
        private readonly AwsClientCache _cache;
        private readonly AwsTarget _target;

        public PoolBuckets(AwsClientCache cache, AwsTarget target)
        {
            _cache = cache;
            _target = target;
        }

        private AwsClients Clients => _cache.Get(_target);

        public Task<string?> ExpectedOwnerAsync(CancellationToken ct) => Clients.ExpectedBucketOwnerAsync(ct);

        public async Task PrepareAsync(FemagJob job, string poolId, CancellationToken ct)
        {
            var s3 = Clients.S3;
            await JobBuckets.DeleteObjectAsync(s3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false);
            await JobBuckets.AbortUploadsAsync(s3, job.BucketName, ct).ConfigureAwait(false);
            await MoveAsync(s3, job, poolId, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Moves a job's bucket into pool <paramref name="poolId"/>, or out of its pool with null: an earlier run's
        /// markers go, and the bucket's pool tag says where the job runs now (Get-FemagJob reads it).
        /// </summary>
        public static async Task MoveAsync(IAmazonS3 s3, FemagJob job, string? poolId, CancellationToken ct)
        {
            foreach (var key in new[] { JobMarkers.TakenKey, JobMarkers.EndedKey, JobMarkers.WithdrawnKey, JobMarkers.LogKey })
            {
                await JobBuckets.DeleteObjectAsync(s3, job.BucketName, key, ct).ConfigureAwait(false);
            }

            var tags = await JobBuckets.TryGetJobTagsAsync(s3, job.BucketName, ct).ConfigureAwait(false) ?? new Aws.S3.JobTags(job.Index, job.Folder, job.ArchiveETag);
            await JobBuckets.TagAsync(s3, job.BucketName, tags.WithPool(poolId), ct).ConfigureAwait(false);
        }

        public async Task<JobMarkerTexts?> ReadMarkersAsync(FemagJob job, CancellationToken ct)
        {
            var s3 = Clients.S3;
            List<string> keys;
            try
            {
                var pages = await AwsErrors.CollectAsync(s3.Paginators.ListObjectsV2(new ListObjectsV2Request { BucketName = job.BucketName, Prefix = JobMarkers.Prefix }).Responses,
                    $"Listing the markers of bucket {job.BucketName}", ct).ConfigureAwait(false);
                keys = pages.SelectMany(p => p.S3Objects ?? new List<S3Object>()).Select(o => o.Key).ToList();
            }
            catch (Exception ex) when (JobBuckets.IsGone(ex))
            {
                return null;
            }

            // One listing tells which markers exist: a queued job costs one request per poll.
            var ended = keys.Contains(JobMarkers.EndedKey) ? await JobBuckets.TryReadTextAsync(s3, job.BucketName, JobMarkers.EndedKey, ct).ConfigureAwait(false) : null;
            var taken = ended == null && keys.Contains(JobMarkers.TakenKey) ? await JobBuckets.TryReadTextAsync(s3, job.BucketName, JobMarkers.TakenKey, ct).ConfigureAwait(false) : null;
            var finish = EndedMarker.Parse(ended)?.Finish == true ? await JobBuckets.TryReadTextAsync(s3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false) : null;
            return new JobMarkerTexts(taken, ended, finish, keys.Contains(JobMarkers.WithdrawnKey));
        }

        public async Task<string?> ReadLogAsync(FemagJob job, CancellationToken ct)
        {
            try
            {
                return await JobBuckets.TryReadTextAsync(Clients.S3, job.BucketName, JobMarkers.LogKey, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (JobBuckets.IsGone(ex))
            {
                return null;
            }
        }

        public Task WithdrawAsync(FemagJob job, CancellationToken ct) =>
            AwsErrors.Call(() => Clients.S3.PutObjectAsync(new PutObjectRequest { BucketName = job.BucketName, Key = JobMarkers.WithdrawnKey, ContentBody = "withdrawn by Stop-FemagInstance\n" }, ct),
                $"Withdrawing the job of bucket {job.BucketName}");

        public async Task<List<FemagJob>> JobsOfPoolAsync(string poolId, CancellationToken ct) =>
            (await BucketFinder.ListAsync(_cache, _target, FemagConfig.Defaults, ct).ConfigureAwait(false)).Where(j => j.PoolId == poolId).ToList();
    }
}

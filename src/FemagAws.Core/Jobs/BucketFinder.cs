using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.S3;

namespace FemagAws.Jobs
{
    /// <summary>Get-FemagBucket's work: jobs for buckets that already hold an upload.</summary>
    public static class BucketFinder
    {
        /// <summary>A job for an existing bucket, in the bucket's own region.</summary>
        public static async Task<FemagJob> FindAsync(AwsClientCache cache, AwsTarget target, string bucketName, string? folder, int? index, FemagConfig config, CancellationToken ct)
        {
            var clients = await ClientsForBucketAsync(cache, target, bucketName, ct).ConfigureAwait(false);
            var tags = await JobBuckets.TryGetJobTagsAsync(clients.S3, bucketName, ct).ConfigureAwait(false);
            var jobIndex = index ?? BucketNames.IndexOf(bucketName) ?? tags?.Index;
            if (jobIndex == null)
            {
                throw new FemagException("FemagBucketIndexUnknown", FemagErrorKind.InvalidArgument,
                    $"Bucket {bucketName} has no job index: its name does not end in '-<index>' and it has no {JobBuckets.IndexTag} tag. Pass -Index.");
            }

            return NewJob(clients, bucketName, folder, jobIndex.Value, tags, config);
        }

        /// <summary>Buckets looked up at once: enough to hide S3's latency, few enough to stay clear of its throttling.</summary>
        public const int LookupsInFlight = 16;

        /// <summary>
        /// The module's buckets (name pattern and index tag) in the target's region, oldest first, as Uploaded jobs.
        /// Costs the bucket listing and one request per module-named bucket (its tags), plus
        /// its location where the store's listing does not name the bucket's region.
        /// </summary>
        public static async Task<List<FemagJob>> ListAsync(AwsClientCache cache, AwsTarget target, FemagConfig config, CancellationToken ct)
        {
            var clients = cache.Get(target);
            var buckets = (await JobBuckets.ListBucketsAsync(clients.S3, target.Region, ct).ConfigureAwait(false))
                .Where(b => BucketNames.IndexOf(b.BucketName) != null)
                .OrderBy(b => b.CreationDate)
                .ToList();
            var jobs = await WorkQueue.MapAsync(buckets, LookupsInFlight, (bucket, token) => TryListedJobAsync(clients, bucket, config, token), ct).ConfigureAwait(false);
            return jobs.Where(job => job != null).ToList()!;
        }

        /// <summary>An Uploaded job for a listed bucket, or null when it is in another region, not the module's or gone since the listing.</summary>
        private static async Task<FemagJob?> TryListedJobAsync(AwsClients clients, S3Bucket bucket, FemagConfig config, CancellationToken ct)
        {
            var name = bucket.BucketName;
            try
            {
                var region = string.IsNullOrEmpty(bucket.BucketRegion) ? await JobBuckets.GetRegionAsync(clients.S3, name, ct).ConfigureAwait(false) : bucket.BucketRegion;
                var tags = region == clients.Target.Region ? await JobBuckets.TryGetJobTagsAsync(clients.S3, name, ct).ConfigureAwait(false) : null;
                if (tags == null)
                {
                    return null;
                }

                var job = NewJob(clients, name, null, BucketNames.IndexOf(name)!.Value, tags, config);
                job.CreationTime = bucket.CreationDate?.ToUniversalTime();
                return job;
            }
            catch (Exception ex) when (JobBuckets.IsGone(ex))
            {
                // Another session removed it after the listing (delete_buckets, Remove-FemagBucket): not a job any more,
                // and no reason to fail the others.
                return null;
            }
        }

        /// <summary>The clients for the region the bucket lives in, which may differ from the target's.</summary>
        public static async Task<AwsClients> ClientsForBucketAsync(AwsClientCache cache, AwsTarget target, string bucketName, CancellationToken ct)
        {
            var clients = cache.Get(target);
            var region = await JobBuckets.GetRegionAsync(clients.S3, bucketName, ct).ConfigureAwait(false);
            return region == target.Region ? clients : cache.Get(target.InRegion(region));
        }

        /// <summary>
        /// An Uploaded job for a bucket; without a folder given, the one New-FemagBucket recorded in the bucket's tags. A
        /// bucket without it (made by an earlier version, which kept the folder in archive metadata the instance can rewrite)
        /// gives a job without a folder: Receive-FemagResult then asks for -Destination.
        /// </summary>
        private static FemagJob NewJob(AwsClients clients, string bucketName, string? folder, int index, JobTags? tags, FemagConfig config)
        {
            folder = folder ?? tags?.Folder;
            var job = clients.Target.NewJob(index, bucketName, config);
            job.Folder = folder == null ? null : System.IO.Path.GetFullPath(PathUtil.ExpandHome(folder));
            job.ArchiveETag = tags?.ArchiveETag;
            job.PoolId = tags?.PoolId;
            return job;
        }
    }
}

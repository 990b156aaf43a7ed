using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;

namespace FemagAws.Jobs
{
    /// <summary>Get-FemagBucket's work: jobs for buckets that already hold an upload.</summary>
    public static class BucketFinder
    {
        /// <summary>A job for an existing bucket, in the bucket's own region.</summary>
        public static async Task<FemagJob> FindAsync(AwsClientCache cache, AwsTarget target, string bucketName, string? folder, int? index, FemagConfig config, CancellationToken ct)
        {
            var clients = cache.Get(target);
            var region = await JobBuckets.GetRegionAsync(clients.S3, bucketName, ct).ConfigureAwait(false);
            if (region != target.Region)
            {
                clients = cache.Get(new AwsTarget(region, target.EndpointUrl, target.ProfileName));
            }

            var jobIndex = index ?? BucketNames.IndexOf(bucketName) ?? await JobBuckets.TryGetIndexTagAsync(clients.S3, bucketName, ct).ConfigureAwait(false);
            if (jobIndex == null)
            {
                throw new FemagException("FemagBucketIndexUnknown", FemagErrorKind.InvalidArgument,
                    $"Bucket {bucketName} has no job index: its name does not end in '-<index>' and it has no {JobBuckets.IndexTag} tag. Pass -Index.");
            }

            var archiveKey = FemagJob.ArchiveKeyFor(jobIndex.Value);
            folder = folder ?? await JobBuckets.TryGetRecordedFolderAsync(clients.S3, bucketName, archiveKey, ct).ConfigureAwait(false);
            return new FemagJob
            {
                Index = jobIndex.Value,
                BucketName = bucketName,
                Folder = folder == null ? null : System.IO.Path.GetFullPath(PathUtil.ExpandHome(folder)),
                Region = region,
                EndpointUrl = target.EndpointUrl,
                ProfileName = target.ProfileName,
                Config = config.ForRegion(region),
                State = FemagJobState.Uploaded,
            };
        }

        /// <summary>The module's buckets (name pattern and index tag) in the target's region.</summary>
        public static async Task<List<FemagJob>> ListAsync(AwsClientCache cache, AwsTarget target, FemagConfig config, CancellationToken ct)
        {
            var clients = cache.Get(target);
            var jobs = new List<FemagJob>();
            foreach (var bucket in (await JobBuckets.ListBucketsAsync(clients.S3, ct).ConfigureAwait(false)).OrderBy(b => b.CreationDate))
            {
                if (BucketNames.IndexOf(bucket.BucketName) == null)
                {
                    continue;
                }

                if (await JobBuckets.GetRegionAsync(clients.S3, bucket.BucketName, ct).ConfigureAwait(false) != target.Region ||
                    await JobBuckets.TryGetIndexTagAsync(clients.S3, bucket.BucketName, ct).ConfigureAwait(false) == null)
                {
                    continue;
                }

                jobs.Add(await FindAsync(cache, target, bucket.BucketName, null, null, config, ct).ConfigureAwait(false));
            }

            return jobs;
        }
    }
}

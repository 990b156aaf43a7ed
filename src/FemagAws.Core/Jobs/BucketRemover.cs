using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Aws.S3;
using FemagAws.Runners.Pool;

namespace FemagAws.Jobs
{
    /// <summary>Remove-FemagBucket's checks: only the module's buckets, and only once no instance writes to them.</summary>
    public static class BucketRemover
    {
        /// <summary>Refuses a bucket the module did not create or that a live instance still uses; returns the clients for its region.</summary>
        public static async Task<AwsClients> CheckAsync(AwsClientCache cache, AwsTarget target, string bucketName, CancellationToken ct)
        {
            if (BucketNames.IndexOf(bucketName) == null)
            {
                throw NotTheModules(cache.Commands, target, bucketName, "its name is not '<uuid>-<index>'");
            }

            var clients = await BucketFinder.ClientsForBucketAsync(cache, target, bucketName, ct).ConfigureAwait(false);
            var tags = await JobBuckets.TryGetJobTagsAsync(clients.S3, bucketName, ct).ConfigureAwait(false);
            if (tags == null)
            {
                throw NotTheModules(clients.Commands, clients.Target, bucketName, $"it has no {JobBuckets.IndexTag} tag");
            }

            var inUse = await InUseAsync(clients, bucketName, tags.PoolId, ct).ConfigureAwait(false);
            if (inUse != null)
            {
                throw inUse;
            }

            return clients;
        }

        /// <summary>
        /// Why a bucket must be kept because a live instance of the module may still write to it or bill (see
        /// <see cref="JobInstances.LiveForBucketAsync"/>), naming the instances; null when none is live. A job of pool
        /// <paramref name="poolId"/> also keeps its bucket while the pool instance that took it runs it.
        /// </summary>
        public static async Task<FemagException?> InUseAsync(AwsClients clients, string bucketName, string? poolId, CancellationToken ct)
        {
            if (poolId != null && await PoolInstanceRunningAsync(clients, bucketName, ct).ConfigureAwait(false) is string instanceId)
            {
                return new FemagException("FemagBucketInUse", FemagErrorKind.InvalidOperation,
                    $"Bucket {bucketName} cannot be removed while instance {instanceId} of pool {poolId} runs its job. " +
                    $"Withdraw the job with Stop-FemagInstance, or wait for it with Wait-FemagJob, then remove the bucket with '{clients.Commands.RemoveBucket(clients.Target, bucketName)}'.");
            }

            var live = await JobInstances.LiveForBucketAsync(clients.Ec2, bucketName, ct).ConfigureAwait(false);
            if (live.Count == 0)
            {
                return null;
            }

            return new FemagException("FemagBucketInUse", FemagErrorKind.InvalidOperation,
                $"Bucket {bucketName} cannot be removed while instance {string.Join(", ", live.Select(i => i.InstanceId + " (" + i.State + ")"))} may still write to it. " +
                $"Stop the instance with Stop-FemagInstance, or wait for the job with Wait-FemagJob, then remove the bucket with '{clients.Commands.RemoveBucket(clients.Target, bucketName)}'.");
        }

        /// <summary>The pool instance that took the bucket's job and runs it still, or null: not taken, ended, or the instance is gone.</summary>
        private static async Task<string?> PoolInstanceRunningAsync(AwsClients clients, string bucketName, CancellationToken ct)
        {
            if (await JobBuckets.TryReadTextAsync(clients.S3, bucketName, JobMarkers.EndedKey, ct).ConfigureAwait(false) != null ||
                !(TakenMarker.Parse(await JobBuckets.TryReadTextAsync(clients.S3, bucketName, JobMarkers.TakenKey, ct).ConfigureAwait(false)) is TakenMarker taken))
            {
                return null;
            }

            var status = (await JobInstances.DescribeAsync(clients.Ec2, new[] { taken.InstanceId }, ct).ConfigureAwait(false))[taken.InstanceId];
            return status.HasEnded ? null : taken.InstanceId;
        }

        /// <summary>Empties the bucket, aborts its unfinished uploads and deletes it; returns how many objects it held.</summary>
        public static Task<int> RemoveAsync(AwsClients clients, string bucketName, CancellationToken ct) =>
            JobBuckets.RemoveAsync(clients.S3, bucketName, ct);

        private static FemagException NotTheModules(ICommandLines commands, AwsTarget target, string bucketName, string why) =>
            new FemagException("FemagBucketNotModule", FemagErrorKind.PermissionDenied,
                $"Bucket {bucketName} was not created by FemagAws ({why}), so Remove-FemagBucket keeps it. Delete it in the S3 console or with '{commands.DeleteOtherBucket(target, bucketName)}' if you do mean to.");
    }
}

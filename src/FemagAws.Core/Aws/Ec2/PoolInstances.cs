using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Aws.Sqs;

namespace FemagAws.Aws.Ec2
{
    /// <summary>The EC2 side of a pool, as the pool's logic sees it (faked in the unit tests).</summary>
    public interface IPoolInstances
    {
        /// <summary>The pool's instances EC2 still lists, ended ones too.</summary>
        Task<List<InstanceStatus>> ListAsync(string poolId, CancellationToken ct);

        /// <summary>
        /// Launches the pool's instance number <paramref name="ordinal"/>; the same pool, ordinal, type and market give the
        /// same client token, so a retried launch gets the same instance. Null when EC2 answers with an instance of that
        /// token that has ended (an ordinal spent before): the caller moves on to the next ordinal.
        /// </summary>
        Task<string?> LaunchAsync(FemagConfig config, string poolId, int ordinal, string userData, string instanceType, bool spot, CancellationToken ct);

        Task TerminateAsync(IReadOnlyCollection<string> instanceIds, CancellationToken ct);
    }

    /// <summary>A pool's instances on EC2: tagged with the pool, not with a bucket.</summary>
    public sealed class PoolInstances : IPoolInstances
    {
        /// <summary>Tag with the slots (jobs at once) of a pool instance.</summary>
        public const string SlotsTag = "femag-aws:slots";

        private readonly IAmazonEC2 _ec2;

        public PoolInstances(IAmazonEC2 ec2)
        {
            _ec2 = ec2;
        }

        /// <summary>The client token of one launch of a pool: 46 ASCII characters (EC2 allows 64).</summary>
        public static string ClientToken(string poolId, int ordinal, string instanceType, bool spot)
        {
            var key = string.Join("\n", "pool", poolId, ordinal.ToString(CultureInfo.InvariantCulture), instanceType, spot ? FemagJob.Spot : FemagJob.OnDemand);
            using (var sha = System.Security.Cryptography.SHA256.Create())
            {
                return "femag-" + string.Concat(sha.ComputeHash(Encoding.UTF8.GetBytes(key)).Take(20).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
            }
        }

        public Task<List<InstanceStatus>> ListAsync(string poolId, CancellationToken ct) =>
            JobInstances.FilterAsync(_ec2, new List<Filter> { new Filter("tag:" + PoolQueues.PoolTag, new List<string> { poolId }) }, $"Looking for the instances of pool {poolId}", ct);

        public async Task<string?> LaunchAsync(FemagConfig config, string poolId, int ordinal, string userData, string instanceType, bool spot, CancellationToken ct)
        {
            var token = ClientToken(poolId, ordinal, instanceType, spot);
            var tags = new List<Tag>
            {
                new Tag("Name", PoolQueues.QueueName(poolId)),
                new Tag(PoolQueues.PoolTag, poolId),
                new Tag(SlotsTag, config.SlotsPerInstance.ToString(CultureInfo.InvariantCulture)),
                new Tag(JobInstances.LaunchTag, token),
                new Tag(JobInstances.LifecycleTag, spot ? FemagJob.Spot : FemagJob.OnDemand),
            };
            var mappings = await JobInstances.ImageVolumesAsync(_ec2, config.ImageId, ct).ConfigureAwait(false);
            var request = JobInstances.LaunchRequest(config, userData, instanceType, spot, token, tags, mappings);
            var response = await AwsErrors.Call(() => _ec2.RunInstancesAsync(request, ct), $"Launching an instance of pool {poolId}").ConfigureAwait(false);
            var instance = response.Reservation.Instances[0];
            var state = instance.State?.Name?.Value;
            return state == "pending" || state == "running" ? instance.InstanceId : null;
        }

        public Task TerminateAsync(IReadOnlyCollection<string> instanceIds, CancellationToken ct) => JobInstances.TerminateAsync(_ec2, instanceIds, ct);
    }
}

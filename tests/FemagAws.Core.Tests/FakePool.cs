using System.Globalization;
using FemagAws.Aws.Ec2;
using FemagAws.Aws.S3;
using FemagAws.Aws.Sqs;
using FemagAws.Runners.Pool;

namespace FemagAws.Core.Tests;

/// <summary>
/// The SQS, EC2 and S3 sides of pools in memory, as <see cref="WorkerPool"/> sees them: queues with their messages,
/// pool instances with their states, and each job bucket's markers.
/// </summary>
internal sealed class FakePool : IPoolQueues, IPoolInstances, IPoolBuckets
{
    public readonly Dictionary<string, (int MaxAttempts, List<string> Messages)> Queues = new();
    public readonly List<(string Id, string PoolId, int Ordinal, string Type, bool Spot, string UserData)> Launches = new();
    public readonly Dictionary<string, string> InstanceStates = new();
    public readonly Dictionary<string, (string? Taken, string? Ended, string? Finish, bool Withdrawn, string? PoolId)> Buckets = new();
    public readonly List<string> Calls = new();

    /// <summary>Launch options EC2 refuses for capacity, as "type spot|on-demand".</summary>
    public readonly HashSet<string> NoCapacity = new();

    /// <summary>Ordinals whose token EC2 spent on an instance that has ended.</summary>
    public readonly HashSet<int> SpentOrdinals = new();

    public List<string> Terminated { get; } = new();

    public void Bucket(string bucket, string? poolId = null, string? taken = null, string? ended = null, string? finish = null, bool withdrawn = false) =>
        Buckets[bucket] = (taken, ended, finish, withdrawn, poolId);

    public Task<string> CreateAsync(string poolId, int maxAttempts, CancellationToken ct)
    {
        Calls.Add("CreateQueues " + poolId);
        if (!Queues.ContainsKey(poolId))
        {
            Queues[poolId] = (maxAttempts, new List<string>());
        }

        return Task.FromResult("https://sqs.local/123/" + PoolQueues.QueueName(poolId));
    }

    public Task SendAsync(string queueUrl, IReadOnlyList<string> bodies, CancellationToken ct)
    {
        Calls.Add("Send " + bodies.Count);
        Queues[queueUrl.Substring(queueUrl.LastIndexOf('/') + 1 + PoolQueues.NamePrefix.Length)].Messages.AddRange(bodies);
        return Task.CompletedTask;
    }

    public Task<string?> UrlAsync(string poolId, CancellationToken ct) =>
        Task.FromResult(Queues.ContainsKey(poolId) ? "https://sqs.local/123/" + PoolQueues.QueueName(poolId) : null);

    /// <summary>What reading a queue's counts throws, when set.</summary>
    public Exception? CountsFailure { get; set; }

    /// <summary>What deleting a pool's queues throws, when set.</summary>
    public Exception? DeleteFailure { get; set; }

    public Task<PoolQueueCounts?> CountsAsync(string poolId, CancellationToken ct) =>
        CountsFailure != null ? Task.FromException<PoolQueueCounts?>(CountsFailure) : Task.FromResult(Queues.TryGetValue(poolId, out var q) ? new PoolQueueCounts(q.Messages.Count, 0, 0, DeadLetters.TryGetValue(poolId, out var dead) ? dead : 0) : null);

    /// <summary>Messages in each pool's dead-letter queue.</summary>
    public readonly Dictionary<string, int> DeadLetters = new();

    public Task<List<PoolQueueInfo>> ListAsync(CancellationToken ct) =>
        Task.FromResult(Queues.Keys.SelectMany(id => new[]
        {
            new PoolQueueInfo(id, "https://sqs.local/123/" + PoolQueues.QueueName(id), false),
            new PoolQueueInfo(id, "https://sqs.local/123/" + PoolQueues.DeadLetterQueueName(id), true),
        }).ToList());

    public Task DeleteAsync(string poolId, CancellationToken ct)
    {
        if (DeleteFailure != null)
        {
            return Task.FromException(DeleteFailure);
        }

        Calls.Add("DeleteQueues " + poolId);
        Queues.Remove(poolId);
        return Task.CompletedTask;
    }

    /// <summary>What listing a pool's instances throws, when set.</summary>
    public Exception? ListFailure { get; set; }

    public Task<List<InstanceStatus>> ListAsync(string poolId, CancellationToken ct) =>
        ListFailure != null ? Task.FromException<List<InstanceStatus>>(ListFailure) : Task.FromResult(Launches.Where(l => l.PoolId == poolId).Select(l => new InstanceStatus(l.Id, InstanceStates[l.Id], null)).ToList());

    /// <summary>What launching an instance type throws, other than a capacity refusal.</summary>
    public readonly Dictionary<string, Exception> LaunchFailures = new();

    public Task<string?> LaunchAsync(FemagConfig config, string poolId, int ordinal, string userData, string instanceType, bool spot, CancellationToken ct)
    {
        if (LaunchFailures.TryGetValue(instanceType, out var failure))
        {
            return Task.FromException<string?>(failure);
        }

        if (NoCapacity.Contains(instanceType + " " + (spot ? FemagJob.Spot : FemagJob.OnDemand)))
        {
            throw new FemagException("AwsInsufficientInstanceCapacity", FemagErrorKind.LimitsExceeded, $"No capacity for {instanceType}.");
        }

        if (SpentOrdinals.Contains(ordinal))
        {
            return Task.FromResult<string?>(null);
        }

        // Idempotent like EC2's client token: the same launch gives the same instance.
        var same = Launches.FirstOrDefault(l => l.PoolId == poolId && l.Ordinal == ordinal && l.Type == instanceType && l.Spot == spot);
        if (same.Id != null)
        {
            return Task.FromResult<string?>(same.Id);
        }

        var id = "i-" + (Launches.Count + 1).ToString("x8", CultureInfo.InvariantCulture);
        Launches.Add((id, poolId, ordinal, instanceType, spot, userData));
        InstanceStates[id] = "pending";
        return Task.FromResult<string?>(id);
    }

    public Task TerminateAsync(IReadOnlyCollection<string> instanceIds, CancellationToken ct)
    {
        foreach (var id in instanceIds)
        {
            Terminated.Add(id);
            InstanceStates[id] = "terminated";
        }

        return Task.CompletedTask;
    }

    public Task PrepareAsync(FemagJob job, string poolId, CancellationToken ct)
    {
        Calls.Add("Prepare " + job.BucketName);
        Buckets[job.BucketName] = (null, null, null, false, poolId);
        return Task.CompletedTask;
    }

    public Task<JobMarkerTexts?> ReadMarkersAsync(FemagJob job, CancellationToken ct) =>
        Task.FromResult(Buckets.TryGetValue(job.BucketName, out var b) ? new JobMarkerTexts(b.Taken, b.Ended, b.Finish, b.Withdrawn) : null);

    /// <summary>The femag-aws/job.log of each bucket that has one.</summary>
    public Dictionary<string, string> Logs { get; } = new();

    public Task<string?> ReadLogAsync(FemagJob job, CancellationToken ct) =>
        Task.FromResult(Logs.TryGetValue(job.BucketName, out var log) ? log : null);

    public Task WithdrawAsync(FemagJob job, CancellationToken ct)
    {
        var b = Buckets[job.BucketName];
        Buckets[job.BucketName] = (b.Taken, b.Ended, b.Finish, true, b.PoolId);
        return Task.CompletedTask;
    }

    public Task<List<FemagJob>> JobsOfPoolAsync(string poolId, CancellationToken ct) =>
        Task.FromResult(Buckets.Where(b => b.Value.PoolId == poolId).Select(b => new FemagJob { BucketName = b.Key, PoolId = poolId }).ToList());

    /// <summary>The account that owns the job buckets, as STS would name it.</summary>
    public string? BucketOwner { get; set; } = "111122223333";

    public Task<string?> ExpectedOwnerAsync(CancellationToken ct) => Task.FromResult(BucketOwner);
}

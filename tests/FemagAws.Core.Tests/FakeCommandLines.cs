using FemagAws.Aws;
using FemagAws.Jobs;

namespace FemagAws.Core.Tests;

/// <summary>
/// Command lines as Core asks for them, by what they do and for what; the module writes the real ones, and the engine
/// tests run those as printed.
/// </summary>
public sealed class FakeCommandLines : ICommandLines
{
    public string Restart(FemagJob job) => $"restart {job.BucketName}";

    public string RemoveBucket(AwsTarget target, string bucketName) => $"remove {bucketName} in {target.Region}";

    public string DeleteOtherBucket(AwsTarget target, string bucketName) => $"delete other {bucketName} in {target.Region}";

    public string RemovePool(AwsTarget target, string poolId) => $"remove pool {poolId} in {target.Region}";

    public string TerminateInstances(AwsTarget target, IEnumerable<string> instanceIds) => $"terminate {string.Join(" ", instanceIds)} in {target.Region}";
}

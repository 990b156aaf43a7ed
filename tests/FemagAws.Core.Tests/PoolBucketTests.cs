using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Jobs;

namespace FemagAws.Core.Tests;

/// <summary>A pool job's bucket is kept while the pool instance that took the job runs it.</summary>
public sealed class PoolBucketTests
{
    private const string Bucket = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-3";

    private static AwsClients Clients(string? taken, string? ended, string instanceState)
    {
        var (s3, s3Fake) = FakeAws.Of<IAmazonS3>();
        var (ec2, ec2Fake) = FakeAws.Of<IAmazonEC2>();
        s3Fake.On("GetObjectAsync", args => ((string)args[1]!) switch
        {
            "femag-aws/taken" when taken != null => new GetObjectResponse { ResponseStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(taken)) },
            "femag-aws/ended" when ended != null => new GetObjectResponse { ResponseStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(ended)) },
            _ => throw new AmazonS3Exception("not found") { ErrorCode = "NoSuchKey", StatusCode = HttpStatusCode.NotFound },
        });
        ec2Fake.On("DescribeInstancesAsync", args =>
        {
            var request = (DescribeInstancesRequest)args[0]!;
            var instances = (request.InstanceIds ?? new List<string>()).Select(id => new Instance { InstanceId = id, State = new InstanceState { Name = InstanceStateName.FindValue(instanceState) } }).ToList();
            return new DescribeInstancesResponse { Reservations = new List<Reservation> { new() { Instances = request.Filters?.Count > 0 ? new List<Instance>() : instances } } };
        });
        return new AwsClients(new AwsTarget("eu-central-1", null, null), s3, ec2, "fake", new FakeCommandLines());
    }

    [Fact]
    public async Task A_taken_job_whose_instance_runs_keeps_its_bucket()
    {
        var inUse = await BucketRemover.InUseAsync(Clients("instance=i-1\nattempt=1\n", null, "running"), Bucket, "p1", CancellationToken.None);

        Assert.Equal("FemagBucketInUse", inUse!.ErrorId);
        Assert.Contains("instance i-1 of pool p1 runs its job", inUse.Message);
    }

    [Theory]
    [InlineData("instance=i-1\nattempt=1\n", "status=0\nfinish=yes\nwhy=exit\n", "running")]
    [InlineData("instance=i-1\nattempt=1\n", null, "terminated")]
    [InlineData(null, null, "running")]
    public async Task An_ended_untaken_or_orphaned_pool_job_lets_its_bucket_go(string? taken, string? ended, string state) =>
        Assert.Null(await BucketRemover.InUseAsync(Clients(taken, ended, state), Bucket, "p1", CancellationToken.None));
}

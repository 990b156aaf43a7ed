using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Jobs;
using FemagAws.Runners;

namespace FemagAws.Core.Tests;

/// <summary>
/// Get-FemagBucket and Get-FemagJob while another session removes buckets (delete_buckets, Remove-FemagBucket): a
/// bucket that goes between the listing and its own lookups is no job, and the other buckets are still listed.
/// </summary>
public sealed class RediscoveryTests
{
    private const string Kept = "00000000-0000-0000-0000-000000000000-0";
    private const string TagsGone = "00000000-0000-0000-0000-000000000001-1";
    private const string LocationGone = "00000000-0000-0000-0000-000000000002-2";
    private const string FinishGone = "00000000-0000-0000-0000-000000000003-3";

    private static readonly AwsTarget Target = new("eu-central-1", null, null);

    private static readonly FemagConfig Config = FemagConfig.FromSettings(new Dictionary<string, string>());

    [Fact]
    public async Task Get_FemagBucket_leaves_out_a_bucket_deleted_after_the_listing_and_lists_the_others()
    {
        var (cache, _) = Clients(Gone);

        var jobs = await BucketFinder.ListAsync(cache, Target, Config, CancellationToken.None);

        Assert.Equal(new[] { Kept, FinishGone }, jobs.Select(j => j.BucketName));
    }

    [Fact]
    public async Task Get_FemagJob_leaves_out_a_bucket_deleted_before_its_finish_file_was_read_and_keeps_its_stopped_instance_as_a_job()
    {
        var (cache, ec2) = Clients(Gone);
        ec2.On("DescribeInstancesAsync", _ => new DescribeInstancesResponse
        {
            Reservations = new List<Reservation> { new() { Instances = new List<Instance> { Stopped("i-0000000000000000a", FinishGone) } } },
        });

        var jobs = await new JobRunners(cache).FindAsync(Target, Config, CancellationToken.None);

        Assert.Equal(new[] { (Kept, FemagJobState.Succeeded, (string?)null), (FinishGone, FemagJobState.Failed, "i-0000000000000000a") },
            jobs.Select(j => (j.BucketName, j.State, j.InstanceId)));
        Assert.StartsWith($"Bucket {FinishGone} of instance i-0000000000000000a (stopped) no longer exists", jobs[1].Reason);
    }

    [Fact]
    public async Task Any_other_error_on_one_bucket_still_fails_the_listing()
    {
        var (cache, _) = Clients(() => new AmazonS3Exception("Access Denied") { ErrorCode = "AccessDenied", StatusCode = HttpStatusCode.Forbidden });

        var ex = await Assert.ThrowsAsync<FemagException>(() => BucketFinder.ListAsync(cache, Target, Config, CancellationToken.None));

        Assert.Equal("AwsAccessDenied", ex.ErrorId);
    }

    private static AmazonS3Exception Gone() =>
        new("The specified bucket does not exist") { ErrorCode = "NoSuchBucket", StatusCode = HttpStatusCode.NotFound };

    /// <summary>
    /// Four module buckets in the target's region: <see cref="Kept"/> with exit code 0, and three that answer
    /// <paramref name="failure"/> to a lookup after the listing (tags, location, finish file).
    /// </summary>
    private static (AwsClientCache Cache, FakeAws Ec2) Clients(Func<AmazonS3Exception> failure)
    {
        var (s3, s3Fake) = FakeAws.Of<IAmazonS3>();
        var (ec2, ec2Fake) = FakeAws.Of<IAmazonEC2>();
        S3Bucket Listed(string name, string? region) => new() { BucketName = name, BucketRegion = region, CreationDate = new DateTime(2026, 11, 24, 8, 0, 0, DateTimeKind.Utc) };

        // A store without BucketRegion in its listing is asked for the location.
        s3Fake.On("ListBucketsAsync", _ => new ListBucketsResponse
            {
                Buckets = new List<S3Bucket> { Listed(Kept, Target.Region), Listed(TagsGone, Target.Region), Listed(LocationGone, null), Listed(FinishGone, Target.Region) },
            })
            .On("GetBucketLocationAsync", _ => throw failure())
            .On("GetBucketTaggingAsync", args => ((GetBucketTaggingRequest)args[0]!).BucketName == TagsGone
                ? throw failure()
                : new GetBucketTaggingResponse { TagSet = new List<Amazon.S3.Model.Tag> { new() { Key = "femag-aws:index", Value = "0" } } })
            .On("GetObjectMetadataAsync", _ => new GetObjectMetadataResponse())
            .On("GetObjectAsync", args => (string)args[0]! == FinishGone
                ? throw failure()
                : new GetObjectResponse { ResponseStream = new MemoryStream("0\n"u8.ToArray()) });
        ec2Fake.On("DescribeInstancesAsync", _ => new DescribeInstancesResponse());
        return (new AwsClientCache(new FakeCommandLines(), (target, _) => new AwsClients(target, s3, ec2, "fake", new FakeCommandLines(), sqs: FakeAws.NoQueues())), ec2Fake);
    }

    private static Instance Stopped(string id, string bucketName) => new()
    {
        InstanceId = id,
        State = new InstanceState { Name = InstanceStateName.Stopped },
        LaunchTime = new DateTime(2026, 11, 24, 9, 0, 0, DateTimeKind.Utc),
        Tags = new List<Amazon.EC2.Model.Tag> { new("femag-aws:bucket", bucketName) },
    };
}

using Amazon.EC2;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.S3;

namespace FemagAws.Core.Tests;

/// <summary>The account id a set of clients names as every job bucket's expected owner.</summary>
public sealed class ExpectedBucketOwnerTests
{
    [Fact]
    public async Task A_failed_lookup_is_asked_again_at_the_next_request_and_an_answer_is_kept()
    {
        var asked = 0;
        var clients = new AwsClients(new AwsTarget("eu-central-1", null, null), FakeAws.Of<IAmazonS3>().Client, FakeAws.Of<IAmazonEC2>().Client, "fake", new FakeCommandLines(), () =>
            ++asked == 1
                ? Task.FromException<string?>(new FemagException("AwsThrottling", FemagErrorKind.LimitsExceeded, "Rate exceeded."))
                : Task.FromResult<string?>("123456789012"));

        // A blip at the first request fails that request only: later ones (a whole Wait-FemagJob) get the account.
        var failed = await Assert.ThrowsAsync<FemagException>(() => clients.ExpectedBucketOwnerAsync(CancellationToken.None));
        Assert.Equal("AwsThrottling", failed.ErrorId);
        Assert.Equal("123456789012", await clients.ExpectedBucketOwnerAsync(CancellationToken.None));
        Assert.Equal("123456789012", await clients.ExpectedBucketOwnerAsync(CancellationToken.None));
        Assert.Equal(2, asked);
    }

    [Fact]
    public async Task A_request_stopped_while_the_account_is_looked_up_ends_at_once()
    {
        // The lookup never answers (STS hangs); Ctrl+C must still end every S3 request that waits for it.
        var lookup = new TaskCompletionSource<string?>();
        AwsClients? clients = null;
        using var s3 = new OwnerCheckedS3Client(new BasicAWSCredentials("testing", "testing"),
            new AmazonS3Config { ServiceURL = "http://127.0.0.1:9", AuthenticationRegion = "eu-central-1", ForcePathStyle = true, MaxErrorRetry = 0 }, ct => clients!.ExpectedBucketOwnerAsync(ct));
        clients = new AwsClients(new AwsTarget("eu-central-1", null, null), s3, FakeAws.Of<IAmazonEC2>().Client, "fake", new FakeCommandLines(), () => lookup.Task);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var request = s3.GetBucketTaggingAsync(new GetBucketTaggingRequest { BucketName = "b-0" }, stop.Token);

        Assert.Same(request, await Task.WhenAny(request, Task.Delay(TimeSpan.FromSeconds(30))));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        Assert.False(lookup.Task.IsCompleted);
    }
}

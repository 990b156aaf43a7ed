using Amazon.EC2;
using Amazon.S3;
using FemagAws.Aws;

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
        var failed = await Assert.ThrowsAsync<FemagException>(() => clients.ExpectedBucketOwnerAsync());
        Assert.Equal("AwsThrottling", failed.ErrorId);
        Assert.Equal("123456789012", await clients.ExpectedBucketOwnerAsync());
        Assert.Equal("123456789012", await clients.ExpectedBucketOwnerAsync());
        Assert.Equal(2, asked);
    }
}

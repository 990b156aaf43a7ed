using System.Security.Cryptography;
using Amazon.EC2;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.S3;
using FemagAws.Jobs;

namespace FemagAws.Core.Tests;

/// <summary>Local files fingerprinted the way S3 does, so Receive-FemagResult can skip what is already on disk.</summary>
public sealed class ETagsTests : IDisposable
{
    private readonly string _file = Path.GetTempFileName();

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void A_file_sent_whole_has_its_MD5_as_ETag()
    {
        File.WriteAllText(_file, "abc");

        Assert.Equal("900150983cd24fb0d6963f7d28e17f72", ETags.OfFile(_file, null, CancellationToken.None));
    }

    [Theory]
    [InlineData(12, 5, 3)]
    [InlineData(10, 5, 2)]
    [InlineData(3 << 20, 1 << 20, 3)]
    [InlineData((3 << 20) + 1, 1 << 20, 4)]
    public void A_file_sent_in_parts_has_the_MD5_of_its_part_MD5s_and_the_part_count(int size, int partSize, int parts)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        File.WriteAllBytes(_file, data);
        var partHashes = Enumerable.Range(0, parts).SelectMany(i => MD5.HashData(data.AsSpan(i * partSize, Math.Min(partSize, size - (i * partSize))))).ToArray();

        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(partHashes)) + "-" + parts, ETags.OfFile(_file, partSize, CancellationToken.None));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1L << 20)]
    public void Hashing_stops_when_cancelled(long? partSize)
    {
        File.WriteAllBytes(_file, new byte[3 << 20]);

        Assert.Throws<OperationCanceledException>(() => ETags.OfFile(_file, partSize, new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task A_file_whose_part_size_the_store_gives_as_0_is_downloaded_again_not_hashed()
    {
        // The temp file is the result already on disk: the object of its name, received into its folder.
        File.WriteAllText(_file, "before");
        var (s3, fake) = FakeAws.Of<IAmazonS3>();
        fake.On("ListObjectsV2Async", _ => new ListObjectsV2Response
            {
                S3Objects = new List<S3Object> { new() { Key = Path.GetFileName(_file), Size = 6, ETag = "\"0cc175b9c0f1b6a831c399e269772661-2\"" } },
            })
            .On("GetObjectMetadataAsync", _ => new GetObjectMetadataResponse { ContentLength = 0, PartsCount = 2 })
            .On("GetObjectAsync", _ => new GetObjectResponse { ResponseStream = new MemoryStream("after!"u8.ToArray()) });
        var target = new AwsTarget("eu-central-1", null, null);
        var clients = new AwsClients(target, s3, FakeAws.Of<IAmazonEC2>().Client, "fake", new FakeCommandLines());
        var job = target.NewJob(0, "b-0", FemagConfig.FromSettings(new Dictionary<string, string>()));
        JobStates.FinishWith(job, "0", null);

        var outcome = await ResultReceiver.ReceiveAsync(clients, job, Path.GetDirectoryName(_file)!, removeBucket: false, includeUnchanged: false, parallelism: 1, CancellationToken.None);

        Assert.Equal(1, fake.Requests<GetObjectMetadataRequest>().Single().PartNumber);
        Assert.Equal((1, 0), (outcome.Files, outcome.Skipped));
        Assert.Equal("after!", File.ReadAllText(_file));
    }

    [Theory]
    [InlineData("\"0cc175b9c0f1b6a831c399e269772661-12\"", 12)]
    [InlineData("0cc175b9c0f1b6a831c399e269772661-3", 3)]
    [InlineData("\"0cc175b9c0f1b6a831c399e269772661\"", null)]
    [InlineData("0cc175b9c0f1b6a831c399e269772661-", null)]
    public void The_part_count_is_read_from_a_multipart_ETag(string etag, int? parts) => Assert.Equal(parts, ETags.PartsOf(etag));

    [Theory]
    [InlineData("\"0CC175B9c0f1b6a831c399e269772661\"", "0cc175b9c0f1b6a831c399e269772661", true)]
    [InlineData("\"0cc175b9c0f1b6a831c399e269772661-2\"", "0cc175b9c0f1b6a831c399e269772661", false)]
    [InlineData(null, null, false)]
    public void ETags_are_compared_without_quotes_and_case(string? a, string? b, bool same) => Assert.Equal(same, ETags.Same(a, b));
}

using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.S3;

namespace FemagAws.Core.Tests;

/// <summary>Part sizing of the streaming archive upload: one PutObject below a part, multipart above, S3's part limit.</summary>
public sealed class ArchiveUploadStreamTests
{
    private const int MiB = 1 << 20;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3 * MiB + 17)]
    [InlineData(8 * MiB - 1)]
    public async Task An_archive_smaller_than_one_part_is_a_single_PutObject(int size)
    {
        var s3 = new RecordingS3();
        var data = Bytes(size);

        var etag = await Upload(s3, data, expectedBytes: size);

        // New-FemagBucket remembers it, so Receive-FemagResult knows the job's own archive.
        Assert.Equal("\"put-etag\"", etag);
        Assert.Equal(new[] { "PutObjectAsync" }, s3.Fake.Calls.Select(c => c.Method));
        var put = s3.Fake.Requests<PutObjectRequest>().Single();
        Assert.Equal(("bucket-0", "0.tar.gz", "application/gzip"), (put.BucketName, put.Key, put.ContentType));
        Assert.Equal(ServerSideEncryptionMethod.AES256, put.ServerSideEncryptionMethod);
        Assert.True(data.AsSpan().SequenceEqual(s3.PutBody), "the object is not the bytes written");
    }

    [Theory]
    [InlineData(8 * MiB, new[] { 8 * MiB })]
    [InlineData(16 * MiB, new[] { 8 * MiB, 8 * MiB })]
    [InlineData(20 * MiB + 5, new[] { 8 * MiB, 8 * MiB, 4 * MiB + 5 })]
    public async Task A_larger_archive_goes_up_in_8_MiB_parts_and_is_completed_in_part_order(int size, int[] partSizes)
    {
        var s3 = new RecordingS3();
        var data = Bytes(size);

        var etag = await Upload(s3, data, expectedBytes: size);

        Assert.Equal("\"complete-etag-2\"", etag);
        Assert.Equal(partSizes, s3.Parts.OrderBy(p => p.Key).Select(p => p.Value.Length));
        Assert.True(data.AsSpan().SequenceEqual(s3.Parts.OrderBy(p => p.Key).SelectMany(p => p.Value).ToArray()), "the parts are not the bytes written");
        Assert.DoesNotContain("PutObjectAsync", s3.Fake.Calls.Select(c => c.Method));
        var complete = s3.Fake.Requests<CompleteMultipartUploadRequest>().Single();
        Assert.Equal("upload-1", complete.UploadId);
        Assert.Equal(Enumerable.Range(1, partSizes.Length), complete.PartETags.Select(p => p.PartNumber ?? 0));
        Assert.Equal(Enumerable.Range(1, partSizes.Length).Select(n => $"\"etag-{n}\""), complete.PartETags.Select(p => p.ETag));
        Assert.Equal("CompleteMultipartUploadAsync", s3.Fake.Calls[^1].Method);
    }

    [Fact]
    public async Task An_archive_expected_above_S3s_part_limit_at_8_MiB_gets_larger_parts()
    {
        var s3 = new RecordingS3();

        // 100 GiB in at most 9,000 parts needs 11.4 MiB each: rounded up to 12 MiB.
        await Upload(s3, Bytes(13 * MiB), expectedBytes: 100L << 30);

        Assert.Equal(new[] { 12 * MiB, 1 * MiB }, s3.Parts.OrderBy(p => p.Key).Select(p => p.Value.Length));
    }

    [Theory]
    [InlineData(0L, 8)]
    [InlineData(9000L * 8 * MiB, 8)]
    [InlineData(9000L * 8 * MiB + 1, 9)]
    [InlineData(100L << 30, 12)]
    [InlineData(5L << 40, 583)]
    [InlineData(long.MaxValue / 4, 2047)]
    public void The_part_size_is_8_MiB_or_whole_MiB_enough_for_9000_parts_capped_below_2_GiB(long expectedBytes, int mib)
    {
        Assert.Equal(mib * MiB, ArchiveUploadStream.PartSizeFor(expectedBytes));
    }

    [Theory]
    [InlineData(1L << 30)]
    [InlineData(75L << 30)]
    [InlineData(1L << 40)]
    [InlineData(5L << 40)]
    public void Up_to_S3s_largest_object_an_archive_a_tenth_larger_than_expected_still_fits_in_10000_parts(long expectedBytes)
    {
        var part = ArchiveUploadStream.PartSizeFor(expectedBytes);
        var actual = expectedBytes + expectedBytes / 10;

        Assert.InRange(part, 5 * MiB, int.MaxValue);
        Assert.Equal(0, part % MiB);
        Assert.True((actual + part - 1) / part <= 10_000, $"{actual} bytes in {part}-byte parts");
    }

    [Fact]
    public async Task Nothing_is_sent_before_the_bucket_is_ready()
    {
        var s3 = new RecordingS3();
        var bucketReady = new TaskCompletionSource();
        using var stream = new ArchiveUploadStream(s3.Client, "bucket-0", "0.tar.gz", bucketReady.Task, 1024, CancellationToken.None);
        stream.Write(Bytes(1024));

        var completing = stream.CompleteAsync();
        await Task.Delay(50);

        Assert.False(completing.IsCompleted);
        Assert.Empty(s3.Fake.Calls);
        bucketReady.SetResult();
        await completing;
        Assert.Equal(1024, s3.PutBody.Length);
    }

    [Fact]
    public async Task After_a_part_fails_every_later_write_fails_with_that_error()
    {
        var s3 = new RecordingS3(failPart: 1);
        using var stream = new ArchiveUploadStream(s3.Client, "bucket-0", "0.tar.gz", Task.CompletedTask, 0, CancellationToken.None);
        stream.Write(Bytes(8 * MiB));

        var first = Assert.Throws<FemagException>(() => stream.Write(Bytes(8 * MiB)));
        var again = Assert.Throws<FemagException>(() => stream.Write(new byte[1]));

        Assert.Equal("AwsInternalError", first.ErrorId);
        Assert.Contains("Uploading part 1 of 0.tar.gz to bucket bucket-0 failed", first.Message);
        Assert.Same(first, again);
        await stream.StopAsync();
        Assert.DoesNotContain("CompleteMultipartUploadAsync", s3.Fake.Calls.Select(c => c.Method));
    }

    /// <summary>Uploads <paramref name="data"/>; returns the ETag the stream reports for the object.</summary>
    private static async Task<string> Upload(RecordingS3 s3, byte[] data, long expectedBytes)
    {
        using var stream = new ArchiveUploadStream(s3.Client, "bucket-0", "0.tar.gz", Task.CompletedTask, expectedBytes, CancellationToken.None);

        // Odd-sized writes, as gzip makes them, so parts are cut across writes.
        for (var offset = 0; offset < data.Length; offset += 100_003)
        {
            stream.Write(data, offset, Math.Min(100_003, data.Length - offset));
        }

        return await stream.CompleteAsync();
    }

    private static byte[] Bytes(int size)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        return data;
    }

    /// <summary>S3 for one upload: keeps the bodies, since the stream reuses its buffers once a call returns.</summary>
    private sealed class RecordingS3
    {
        private readonly Dictionary<int, byte[]> _parts = new();

        public RecordingS3(int? failPart = null)
        {
            (Client, Fake) = FakeAws.Of<IAmazonS3>();
            Fake.On("PutObjectAsync", args =>
                {
                    PutBody = Read(((PutObjectRequest)args[0]!).InputStream);
                    return new PutObjectResponse { ETag = "\"put-etag\"" };
                })
                .On("InitiateMultipartUploadAsync", _ => new InitiateMultipartUploadResponse { UploadId = "upload-1" })
                .On("UploadPartAsync", args =>
                {
                    var request = (UploadPartRequest)args[0]!;
                    var number = request.PartNumber ?? 0;
                    if (number == failPart)
                    {
                        throw new AmazonS3Exception("We encountered an internal error.") { ErrorCode = "InternalError" };
                    }

                    lock (_parts)
                    {
                        _parts[number] = Read(request.InputStream);
                    }

                    return new UploadPartResponse { PartNumber = number, ETag = $"\"etag-{number}\"" };
                })
                .On("CompleteMultipartUploadAsync", _ => new CompleteMultipartUploadResponse { ETag = "\"complete-etag-2\"" });
        }

        public IAmazonS3 Client { get; }

        public FakeAws Fake { get; }

        public byte[] PutBody { get; private set; } = Array.Empty<byte>();

        public Dictionary<int, byte[]> Parts
        {
            get
            {
                lock (_parts)
                {
                    return new Dictionary<int, byte[]>(_parts);
                }
            }
        }

        private static byte[] Read(Stream stream)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
    }
}

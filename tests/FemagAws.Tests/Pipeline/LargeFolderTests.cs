using System.Formats.Tar;
using System.IO.Compression;
using System.Management.Automation;
using System.Security.Cryptography;
using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// Folders whose archive is larger than one upload part: streamed into a multipart upload while packing, arriving
/// whole and byte for byte, and leaving no bucket and no invisible parts behind when a part fails.
/// </summary>
public sealed class LargeFolderTests : CloudTest
{
    private const string UploadFolders = "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]";

    private readonly ITestOutputHelper _output;

    public LargeFolderTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture) => _output = output;

    /// <summary>A model file of 20 MiB of random bytes: its archive needs three 8 MiB parts.</summary>
    private static DirectoryInfo AddLargeJob(Workspace ws, string name, int seed)
    {
        var folder = ws.AddJob(name, "-- large job\n");
        var model = new byte[20 << 20];
        new Random(seed).NextBytes(model);
        File.WriteAllBytes(Path.Combine(folder.FullName, "model.nc"), model);
        Directory.CreateDirectory(Path.Combine(folder.FullName, "mc"));
        File.WriteAllText(Path.Combine(folder.FullName, "mc", "M270.mcv"), "curve\n");
        return folder;
    }

    [Fact]
    public async Task A_folder_larger_than_a_part_is_streamed_as_a_multipart_upload_and_arrives_whole()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var large = AddLargeJob(ws, "0", 1);
        var small = ws.AddJob("1", "-- small job\n");
        using var ps = new PsSession();

        var result = ps.Run(UploadFolders, new[] { large.FullName, small.FullName }, ws.ConfigFile);

        _output.WriteLine(result.Describe() + "\n" + proxy.Describe());
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        Assert.Equal(2, result.Output.Count);

        // The large archive went in parts, the small one in a single request.
        Assert.Equal(1, proxy.Count("s3:CreateMultipartUpload"));
        Assert.Equal(3, proxy.Count("s3:UploadPart"));
        Assert.Equal(1, proxy.Count("s3:CompleteMultipartUpload"));
        Assert.Equal(1, proxy.Count("s3:PutObject"));

        using var s3 = Cloud.S3();
        var bucket = result.Output.Single(j => j.Index() == 0).Bucket();
        var entries = new Dictionary<string, string>();
        using (var archive = await s3.GetObjectAsync(bucket, "0.tar.gz"))
        {
            Assert.Equal("AES256", archive.ServerSideEncryptionMethod?.Value);
            // What later sessions trust is in the bucket's tags, which the instance cannot write: the folder and this ETag.
            var tags = (await s3.GetBucketTaggingAsync(new GetBucketTaggingRequest { BucketName = bucket })).TagSet.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal(archive.ETag.Trim('"'), tags["femag-aws:archive-etag"]);
            Assert.Contains("femag-aws:folder:1", tags.Keys);
            using var gzip = new GZipStream(archive.ResponseStream, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                entries[entry.Name] = Convert.ToHexString(SHA256.HashData(entry.DataStream!));
            }
        }

        foreach (var file in new[] { "femag.fsl", "model.nc", "mc/M270.mcv" })
        {
            Assert.Equal(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(large.FullName, file)))), entries[file]);
        }

        Assert.Equal(3, entries.Count);
        var uploads = await s3.ListMultipartUploadsAsync(bucket);
        Assert.Empty(uploads.MultipartUploads ?? []);
    }

    [Fact]
    public async Task Parts_that_fail_transiently_are_sent_again_from_their_buffer()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.Fail("s3:UploadPart", 2, 503, "SlowDown", "Please reduce your request rate.");
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var large = AddLargeJob(ws, "0", 2);
        using var ps = new PsSession();

        var result = ps.Run(UploadFolders, new[] { large.FullName }, ws.ConfigFile);

        _output.WriteLine(result.Describe() + "\n" + proxy.Describe());
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        Assert.Equal(2, proxy.FaultCount("s3:UploadPart"));
        Assert.Equal(5, proxy.Count("s3:UploadPart"));
        using var s3 = Cloud.S3();
        var head = await s3.GetObjectMetadataAsync(result.Output.Single().Bucket(), "0.tar.gz");
        Assert.True(head.ContentLength > 20 << 20, $"archive of {head.ContentLength} bytes");
    }

    /// <summary>
    /// A refusal while the model file is half packed: of a part, or of the bucket's set-up, which the first part
    /// waits for. The error is S3's, with the folder, never the tar writer's complaint about the unfinished entry.
    /// </summary>
    [Theory]
    [InlineData("s3:UploadPart")]
    [InlineData("s3:PutBucketTagging")]
    [InlineData("s3:PutBucketEncryption")]
    public async Task A_refusal_during_the_upload_removes_the_bucket_and_leaves_no_parts(string refusedApi)
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.Fail(refusedApi, null, 403, "AccessDenied", "Access Denied");
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var large = AddLargeJob(ws, "0", 3);
        var before = await Cloud.BucketNamesAsync();
        using var ps = new PsSession();

        var result = ps.Run(UploadFolders, new[] { large.FullName }, ws.ConfigFile);

        _output.WriteLine(result.Describe() + "\n" + proxy.Describe());
        Assert.Empty(result.Output);
        var error = Assert.Single(result.Errors);
        Assert.Contains("AccessDenied", error.Exception.Message);
        Assert.Contains(large.FullName, error.Exception.Message);
        Assert.DoesNotContain("Entry closed", error.Exception.Message);
        Assert.Equal(ErrorCategory.PermissionDenied, error.CategoryInfo.Category);

        // Packing stopped at the first refusal instead of sending every part; removing the bucket ended the upload.
        Assert.True(proxy.Count("s3:UploadPart") <= 3, proxy.Describe());
        Assert.Equal(0, proxy.Count("s3:CompleteMultipartUpload"));
        Assert.Equal(1, proxy.Count("s3:DeleteBucket"));
        Assert.Equal(before, await Cloud.BucketNamesAsync());
    }
}

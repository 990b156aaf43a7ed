using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>What New-FemagBucket leaves in S3.</summary>
public sealed class BucketTests : CloudTest
{
    public BucketTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task The_archive_holds_the_folder_relative_and_byte_for_byte_in_a_private_bucket()
    {
        using var ws = new Workspace(Cloud);
        var fsl = "-- Drehmoment für µ-Variante ✓\n";
        var folder = ws.AddJob("0", fsl);
        var model = new byte[300_000];
        new Random(7).NextBytes(model);
        File.WriteAllBytes(Path.Combine(folder.FullName, "Läufer.nc"), model);
        Directory.CreateDirectory(Path.Combine(folder.FullName, "mc"));
        var longName = new string('x', 120) + ".mcv";
        File.WriteAllText(Path.Combine(folder.FullName, "mc", longName), "curve");
        using var ps = new PsSession();

        var bucket = Assert.Single(NewBuckets(ps, ws, folder)).Bucket();
        using var s3 = Cloud.S3();
        var listing = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
        Assert.Equal(new[] { "0.tar.gz" }, listing.S3Objects.Select(o => o.Key));

        var entries = new Dictionary<string, byte[]>();
        using (var archive = await s3.GetObjectAsync(bucket, "0.tar.gz"))
        using (var gzip = new GZipStream(archive.ResponseStream, CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                entries[entry.Name] = data.ToArray();
            }
        }

        Assert.Equal(new[] { "femag.fsl", "Läufer.nc", "mc/" + longName }.Order(StringComparer.Ordinal), entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Encoding.UTF8.GetBytes(fsl), entries["femag.fsl"]);
        Assert.Equal(model, entries["Läufer.nc"]);

        var block = await s3.GetPublicAccessBlockAsync(new GetPublicAccessBlockRequest { BucketName = bucket });
        var config = block.PublicAccessBlockConfiguration;
        Assert.True(config.BlockPublicAcls == true && config.BlockPublicPolicy == true && config.IgnorePublicAcls == true && config.RestrictPublicBuckets == true);
        var location = await s3.GetBucketLocationAsync(bucket);
        Assert.Equal("eu-central-1", location.Location.Value);
    }

    [Fact]
    public async Task In_us_east_1_the_bucket_is_created_without_a_location_constraint()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -Region us-east-1", new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal("us-east-1", job.Properties["Region"].Value);
        using var s3 = Cloud.S3("us-east-1");
        var location = await s3.GetBucketLocationAsync(job.Bucket());
        Assert.True(string.IsNullOrEmpty(location.Location?.Value) || location.Location.Value == "us-east-1");
    }

    [Fact]
    public async Task WhatIf_on_New_FemagBucket_and_Start_FemagInstance_says_what_would_be_made_and_makes_nothing()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var buckets = await Cloud.BucketNamesAsync();
        var instances = (await Cloud.InstancesAsync()).Count;

        var planned = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -WhatIf", new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(planned.Errors.Count == 0, planned.Describe());
        Assert.Empty(planned.Output);
        Assert.Contains("What if: Performing the operation \"Create bucket and upload\" on target \"folder " + folder.FullName, ps.HostOutput.ToString());
        Assert.Equal(buckets, await Cloud.BucketNamesAsync());

        var job = Assert.Single(NewBuckets(ps, ws, folder));
        var launch = ps.Run("$args[0] | Start-FemagInstance -WhatIf -Verbose", job);

        Assert.True(launch.Errors.Count == 0, launch.Describe());
        Assert.Empty(launch.Output);
        Assert.Contains(launch.Verbose, v => v.StartsWith("User data for bucket " + job.Bucket(), StringComparison.Ordinal) && v.Contains("export BUCKET_NAME="));
        Assert.Contains("What if: Performing the operation \"Launch EC2 instance\" on target \"bucket " + job.Bucket(), ps.HostOutput.ToString());
        Assert.Equal(instances, (await Cloud.InstancesAsync()).Count);
    }
}

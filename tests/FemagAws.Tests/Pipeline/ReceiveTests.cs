using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Receive-FemagResult beyond the happy path: many keys, -WhatIf, and streaming behind Wait-FemagJob.</summary>
public sealed class ReceiveTests : CloudTest
{
    public ReceiveTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task More_than_1000_keys_all_arrive_and_the_bucket_goes_afterwards()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(NewBuckets(ps, ws, folder));
        using (var s3 = Cloud.S3())
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 1005), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = $"plots/p{i:0000}.dat", ContentBody = i.ToString() }, ct));
        }

        var result = ps.Run("$args[0] | Receive-FemagResult -Force -RemoveBucket", job);

        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Equal(1005, Directory.GetFiles(Path.Combine(folder.FullName, "plots")).Length);
        Assert.Equal("1004", File.ReadAllText(Path.Combine(folder.FullName, "plots", "p1004.dat")));

        // -Force received an unfinished job, so its bucket is kept despite -RemoveBucket.
        Assert.Contains(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task A_finished_job_with_more_than_1000_objects_is_emptied_in_batches_and_removed()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(FinishJobs(ps, ws, folder));
        using (var s3 = Cloud.S3())
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 1005), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = $"plots/p{i:0000}.dat", ContentBody = i.ToString() }, ct));
        }

        proxy.Reset();
        var result = ps.Run("$args[0] | Receive-FemagResult -RemoveBucket", job);

        Assert.True(result.Errors.Count == 0 && result.Warnings.Count == 0, result.Describe() + "\n" + proxy.Describe());
        Assert.Equal(1005, Directory.GetFiles(Path.Combine(folder.FullName, "plots")).Length);
        Assert.Equal(2, proxy.Count("s3:DeleteObjects"));
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task An_object_that_arrives_after_the_listing_is_never_deleted_unseen()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(FinishJobs(ps, ws, folder));

        // The result listing is taken; then, before the first download, one more object lands in the bucket.
        proxy.BeforeNext("s3:GetObject", async () =>
        {
            using var s3 = Cloud.S3();
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = "late.dat", ContentBody = "late" });
        });
        var first = ps.Run("$args[0] | Receive-FemagResult -RemoveBucket", job);

        Assert.True(first.Errors.Count == 0, first.Describe());
        Assert.Contains(first.Warnings, w => w.Contains(job.Bucket()) && w.Contains("kept") && w.Contains("Receive-FemagResult again"));
        Assert.True(File.Exists(Path.Combine(folder.FullName, "exit_code")));
        Assert.False(File.Exists(Path.Combine(folder.FullName, "late.dat")));
        using (var s3 = Cloud.S3())
        {
            var left = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = job.Bucket() });
            Assert.Equal(new[] { "late.dat" }, left.S3Objects.Select(o => o.Key));
        }

        var second = ps.Run("$args[0] | Receive-FemagResult -RemoveBucket", job);

        Assert.True(second.Errors.Count == 0 && second.Warnings.Count == 0, second.Describe());
        Assert.Equal("late", File.ReadAllText(Path.Combine(folder.FullName, "late.dat")));
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task An_unfinished_upload_keeps_the_bucket_and_is_not_aborted()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(FinishJobs(ps, ws, folder));
        using var s3 = Cloud.S3();
        var late = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = job.Bucket(), Key = "late.bin" });

        var result = ps.Run("$args[0] | Receive-FemagResult -RemoveBucket", job);

        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Contains(result.Warnings, w => w.Contains(job.Bucket()) && w.Contains("unfinished upload") && w.Contains("Remove-FemagBucket"));
        Assert.True(File.Exists(Path.Combine(folder.FullName, "exit_code")));
        var uploads = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = job.Bucket() });
        Assert.Equal(late.UploadId, Assert.Single(uploads.MultipartUploads).UploadId);
    }

    [Fact]
    public async Task WhatIf_downloads_nothing_and_deletes_nothing()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(NewBuckets(ps, ws, folder));

        var result = ps.Run("$args[0] | Receive-FemagResult -Force -WhatIf", job);

        Assert.Empty(result.Errors);
        Assert.False(File.Exists(Path.Combine(folder.FullName, "0.tar.gz")));
        Assert.Contains(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public void The_first_job_is_emitted_and_received_while_a_slower_one_still_runs()
    {
        using var ws = new Workspace(Cloud);
        var fast = ws.AddJob("0", "-- job\n");
        var slow = ws.AddJob("1", "-- fake-femag: sleep 8\n");
        using var ps = new PsSession();

        // Jobs are the same objects all along, so the slow job's state is visible as the fast one passes by.
        var result = ps.Run(
            "$script:jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance; $script:seen = @(); " +
            "$script:jobs | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 | " +
            "ForEach-Object { $script:seen += '{0}:{1}' -f $_.Index, ($script:jobs | Where-Object Index -eq 1).State; $_ } | Receive-FemagResult | Out-Null; " +
            "$script:seen; ($script:jobs | Where-Object Index -eq 1).FinishTime",
            new[] { fast.FullName, slow.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Equal(new object[] { "0:Running", "1:Succeeded" }, result.Output.Take(2).Select(o => o.BaseObject));

        // The fast job's results were on disk before the slow job finished.
        var slowFinished = (DateTime)result.Output[2].BaseObject;
        Assert.True(File.GetLastWriteTimeUtc(Path.Combine(fast.FullName, "exit_code")) < slowFinished);
    }
}

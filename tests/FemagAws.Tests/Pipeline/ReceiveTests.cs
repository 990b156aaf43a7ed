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

        // The command the warning names removes the bucket with what is left, as printed, in a new session.
        var warning = Assert.Single(result.Warnings, w => w.Contains("unfinished upload"));
        var command = warning.Substring(warning.IndexOf("'Remove-FemagBucket", StringComparison.Ordinal) + 1);
        command = command.Substring(0, command.LastIndexOf("' removes", StringComparison.Ordinal));
        using var fresh = new PsSession();
        var removed = fresh.Run(command);
        Assert.True(removed.Errors.Count == 0 && removed.Terminating == null, removed.Describe());
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
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

    [Fact]
    public async Task Only_new_and_changed_objects_are_downloaded_and_the_bucket_still_goes_whole()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        File.WriteAllText(Path.Combine(folder.FullName, "model.dat"), "aaaa");
        using var ps = new PsSession();
        var job = Assert.Single(FinishJobs(ps, ws, folder));

        // The instance synced femag.fsl and model.dat back as they were; now model.dat changes, keeping its size, and
        // two multipart objects in 5 MiB parts arrive: one the same as the local file, one differing in its last byte.
        var big = new byte[(12 << 20) + 7];
        new Random(7).NextBytes(big);
        File.WriteAllBytes(Path.Combine(folder.FullName, "same.bin"), big);
        File.WriteAllBytes(Path.Combine(folder.FullName, "changed.bin"), big);
        var changed = (byte[])big.Clone();
        changed[^1] ^= 0xFF;
        List<S3Object> listing;
        using (var s3 = Cloud.S3())
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = "model.dat", ContentBody = "bbbb" });
            await PutInPartsAsync(s3, job.Bucket(), "same.bin", big);
            await PutInPartsAsync(s3, job.Bucket(), "changed.bin", changed);
            listing = (await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = job.Bucket() })).S3Objects;
        }

        proxy.Reset();
        var result = ps.Run("$args[0] | Receive-FemagResult -RemoveBucket -Verbose", job);

        Assert.True(result.Errors.Count == 0 && result.Warnings.Count == 0, result.Describe() + "\n" + proxy.Describe());
        var skipped = new[] { "0.tar.gz", "femag.fsl", "same.bin" };
        Assert.Subset(listing.Select(o => o.Key).ToHashSet(), skipped.ToHashSet());
        Assert.Equal(listing.Count - skipped.Length, proxy.Count("s3:GetObject"));
        Assert.False(File.Exists(Path.Combine(folder.FullName, "0.tar.gz")));
        Assert.Equal("bbbb", File.ReadAllText(Path.Combine(folder.FullName, "model.dat")));
        Assert.Equal(changed, File.ReadAllBytes(Path.Combine(folder.FullName, "changed.bin")));
        Assert.Equal("0", File.ReadAllText(Path.Combine(folder.FullName, "exit_code")).Trim());
        var skippedBytes = listing.Where(o => skipped.Contains(o.Key)).Sum(o => o.Size ?? 0);
        Assert.Contains(result.Verbose, v => v.Contains($"{skipped.Length} unchanged object(s), {skippedBytes} bytes skipped; bucket removed"));

        // The skipped objects were deleted with the rest.
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task IncludeUnchanged_downloads_every_object_and_saved_jobs_still_know_their_archive()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(FinishJobs(ps, ws, folder));
        // As Export-Clixml writes it (the in-process engine has no Utility module).
        var saved = (string)ps.Run("[System.Management.Automation.PSSerializer]::Serialize($args[0])", job).Output.Single().BaseObject;
        int objects;
        using (var s3 = Cloud.S3())
        {
            objects = (await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = job.Bucket() })).KeyCount ?? 0;
        }

        proxy.Reset();
        var all = ps.Run("$args[0] | Receive-FemagResult -IncludeUnchanged -Verbose", job);

        Assert.True(all.Errors.Count == 0, all.Describe());
        Assert.Equal(objects, proxy.Count("s3:GetObject"));
        Assert.True(File.Exists(Path.Combine(folder.FullName, "0.tar.gz")));
        Assert.Contains(all.Verbose, v => v.Contains("0 unchanged object(s), 0 bytes skipped"));

        // Read back in a new session, the job still knows its archive's ETag: the archive is skipped with no HEAD request
        // (a job without the ETag would ask for its metadata), and everything else is now on disk already.
        File.Delete(Path.Combine(folder.FullName, "0.tar.gz"));
        using var later = new PsSession();
        proxy.Reset();
        var again = later.Run("[System.Management.Automation.PSSerializer]::Deserialize($args[0]) | Receive-FemagResult -Verbose", saved);

        Assert.True(again.Errors.Count == 0, again.Describe());
        Assert.Equal(0, proxy.Count("s3:GetObject"));
        Assert.Equal(0, proxy.Count("s3:HeadObject"));
        Assert.False(File.Exists(Path.Combine(folder.FullName, "0.tar.gz")));
        Assert.Contains(again.Verbose, v => v.Contains($"0 file(s), 0 bytes received; {objects} unchanged object(s)"));
    }

    [Fact]
    public async Task A_job_rebuilt_from_the_account_knows_its_archive_by_the_folder_metadata()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(FinishJobs(ps, ws, folder));

        proxy.Reset();
        var result = ps.Run("Get-FemagJob -ConfigFile $args[0] | Where-Object BucketName -eq $args[1] | Receive-FemagResult -Verbose", ws.ConfigFile, job.Bucket());

        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Single(result.Output);
        Assert.False(File.Exists(Path.Combine(folder.FullName, "0.tar.gz")));
        Assert.True(File.Exists(Path.Combine(folder.FullName, "exit_code")));
        Assert.Contains(result.Verbose, v => v.Contains("2 unchanged object(s)"));
    }

    [Fact]
    public async Task Receiving_again_downloads_nothing_the_instance_uploaded_in_parts_included()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- fake-femag: result-mb 10\n");
        using var ps = new PsSession();
        var job = Assert.Single(FinishJobs(ps, ws, folder));
        var first = ps.Run("$args[0] | Receive-FemagResult", job);
        Assert.True(first.Errors.Count == 0, first.Describe());
        var result = Path.Combine(folder.FullName, "result.bin");
        Assert.Equal(10L << 20, new FileInfo(result).Length);
        string etag;
        using (var s3 = Cloud.S3())
        {
            etag = (await s3.GetObjectMetadataAsync(job.Bucket(), "result.bin")).ETag;
        }

        proxy.Reset();
        var again = ps.Run("$args[0] | Receive-FemagResult -Verbose", job);

        // The aws CLI's sync sent the 10 MiB result.bin in parts; its multipart ETag matches the file on disk.
        Assert.True(again.Errors.Count == 0, again.Describe());
        Assert.Contains("-", etag);
        Assert.Equal(0, proxy.Count("s3:GetObject"));
        Assert.Equal(1, proxy.Count("s3:HeadObject"));
        Assert.Contains(again.Verbose, v => v.Contains("0 file(s), 0 bytes received"));
    }

    /// <summary>Uploads <paramref name="data"/> as a multipart object in 5 MiB parts, as another S3 client might.</summary>
    private static async Task PutInPartsAsync(Amazon.S3.IAmazonS3 s3, string bucket, string key, byte[] data)
    {
        const int partSize = 5 << 20;
        var upload = await s3.InitiateMultipartUploadAsync(bucket, key);
        var parts = new List<PartETag>();
        for (var offset = 0; offset < data.Length; offset += partSize)
        {
            var number = (offset / partSize) + 1;
            var part = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = upload.UploadId,
                PartNumber = number,
                InputStream = new MemoryStream(data, offset, Math.Min(partSize, data.Length - offset)),
            });
            parts.Add(new PartETag(number, part.ETag));
        }

        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = upload.UploadId, PartETags = parts });
    }
}

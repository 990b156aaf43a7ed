using System.Management.Automation;
using Amazon.EC2.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Get-FemagJob: jobs rebuilt from the account alone, in runspaces that never saw them.</summary>
public sealed class GetJobTests : CloudTest
{
    public GetJobTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task A_new_runspace_finds_running_uploaded_finished_and_dead_jobs_and_can_stop_the_running_ones()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        var finished = ws.AddJob("0", "-- fake-femag: exit 3\n");
        var died = ws.AddJob("1", "-- fake-femag: halt\n");
        var running = ws.AddJob("2", "-- fake-femag: sleep 600\n");
        var uploaded = ws.AddJob("3", "-- job\n");
        var watched = ws.AddJob("4", "-- job\n");
        var early = ws.AddJob("5", "-- job\n");
        string finishedBucket, diedBucket, runningBucket, watchedBucket, earlyBucket;
        PSObject uploadedJob;
        string? runningInstance;
        using (var ps = new PsSession())
        {
            var done = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120",
                new[] { finished.FullName, died.FullName }, ws.ConfigFile);
            Assert.True(done.Errors.Count == 0, done.Describe());
            finishedBucket = Assert.Single(done.Output, j => j.Index() == 0).Bucket();
            diedBucket = Assert.Single(done.Output, j => j.Index() == 1).Bucket();
            var started = Assert.Single(ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance", new[] { running.FullName }, ws.ConfigFile).Output);
            runningBucket = started.Bucket();
            runningInstance = started.InstanceId();
            uploadedJob = Assert.Single(NewBuckets(ps, ws, uploaded));
            watchedBucket = Assert.Single(NewBuckets(ps, ws, watched)).Bucket();
            earlyBucket = Assert.Single(NewBuckets(ps, ws, early)).Bucket();
        }

        // Launched as the max_runtime watchdog's instances are tagged: one ends after its 0.01 minutes, the other ends
        // well before its 0.1 minutes and is only reported after they have passed, so its end time must come from EC2.
        var launched = DateTime.UtcNow;
        var watchdogInstance = await Cloud.LaunchAsync(new Tag("femag-aws:bucket", watchedBucket), new Tag("femag-aws:index", "0"), new Tag("femag-aws:max-runtime", "0.01"));
        var earlyInstance = await Cloud.LaunchAsync(new Tag("femag-aws:bucket", earlyBucket), new Tag("femag-aws:index", "0"), new Tag("femag-aws:max-runtime", "0.1"));
        using (var ec2 = Cloud.Ec2())
        {
            await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = new() { earlyInstance } });
            await Task.Delay(1500);
            await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = new() { watchdogInstance } });
        }

        var left = launched.AddSeconds(7) - DateTime.UtcNow;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }

        var uploadedBucket = uploadedJob.Bucket();
        using var fresh = new PsSession();
        var found = fresh.Run("Get-FemagJob -ConfigFile $args[0]", ws.ConfigFile);

        Assert.True(found.Errors.Count == 0 && found.Terminating == null, found.Describe());
        PSObject Job(string bucket) => Assert.Single(found.Output, j => j.Bucket() == bucket);
        Assert.Equal(("Failed", (int?)3), (Job(finishedBucket).State(), Job(finishedBucket).ExitCode()));
        Assert.Equal(finished.FullName, Job(finishedBucket).Folder());
        Assert.Equal("Failed", Job(diedBucket).State());
        Assert.Null(Job(diedBucket).ExitCode());
        Assert.Contains("without writing exit_code", Job(diedBucket).Reason());
        Assert.Equal("Running", Job(runningBucket).State());
        Assert.Equal(runningInstance, Job(runningBucket).InstanceId());
        Assert.NotNull(Job(runningBucket).Properties["LaunchTime"].Value);
        Assert.Equal("Uploaded", Job(uploadedBucket).State());
        Assert.Null(Job(uploadedBucket).InstanceId());
        Assert.Equal(uploaded.FullName, Job(uploadedBucket).Folder());
        Assert.NotNull(Job(uploadedBucket).Properties["CreationTime"].Value);
        Assert.NotNull(Job(uploadedBucket).Properties["Age"].Value);
        Assert.Equal(uploadedJob.Index(), Job(uploadedBucket).Index());
        Assert.Equal("Failed", Job(watchedBucket).State());
        Assert.Contains("max_runtime watchdog", Job(watchedBucket).Reason());
        Assert.Equal("Failed", Job(earlyBucket).State());
        Assert.DoesNotContain("watchdog", Job(earlyBucket).Reason());
        Assert.Contains("without writing exit_code", Job(earlyBucket).Reason());

        // A finished job says when it finished: its exit_code's time, or its instance's end.
        foreach (var bucket in new[] { finishedBucket, diedBucket, watchedBucket, earlyBucket })
        {
            Assert.IsType<DateTime>(Job(bucket).Properties["FinishTime"].Value);
        }

        Assert.Null(Job(runningBucket).Properties["FinishTime"].Value);

        // Get-FemagBucket lists the same buckets in the same states, not all as Uploaded.
        var listed = fresh.Run("Get-FemagBucket -Region eu-central-1 -EndpointUrl $args[0]", Cloud.Endpoint);
        Assert.True(listed.Errors.Count == 0 && listed.Terminating == null, listed.Describe());
        foreach (var bucket in new[] { finishedBucket, diedBucket, runningBucket, uploadedBucket, watchedBucket })
        {
            var job = Assert.Single(listed.Output, j => j.Bucket() == bucket);
            Assert.Equal((Job(bucket).State(), Job(bucket).ExitCode(), Job(bucket).Reason()), (job.State(), job.ExitCode(), job.Reason()));
        }

        var onlyUploaded = fresh.Run("Get-FemagJob -Region eu-central-1 -EndpointUrl $args[0] -State Uploaded", Cloud.Endpoint);
        Assert.Contains(onlyUploaded.Output, j => j.Bucket() == uploadedBucket);
        Assert.All(onlyUploaded.Output, j => Assert.Equal("Uploaded", j.State()));

        using var cleanup = new PsSession();
        var stopped = cleanup.Run("Get-FemagJob -Region eu-central-1 -EndpointUrl $args[0] | Where-Object State -eq Running | Stop-FemagInstance", Cloud.Endpoint);

        Assert.True(stopped.Errors.Count == 0 && stopped.Terminating == null, stopped.Describe());
        Assert.DoesNotContain(await Cloud.InstancesAsync(), i => i.State.Name == Amazon.EC2.InstanceStateName.Running || i.State.Name == Amazon.EC2.InstanceStateName.Pending);
    }

    [Fact]
    public async Task Listing_costs_one_DescribeInstances_one_ListBuckets_and_a_few_requests_per_bucket()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        NewBuckets(ps, ws, Enumerable.Range(0, 5).Select(i => ws.AddJob(i.ToString(), "-- job\n")).ToArray());
        proxy.Reset();

        var found = ps.Run("Get-FemagJob -Region eu-central-1 -EndpointUrl $args[0]", proxy.Endpoint);

        Assert.True(found.Errors.Count == 0 && found.Terminating == null, found.Describe());
        var buckets = found.Output.Count;
        Assert.True(buckets >= 5, $"{buckets} jobs");
        Assert.Equal(1, proxy.Count("ec2:DescribeInstances"));
        Assert.Equal(1, proxy.Count("s3:ListBuckets"));
        Assert.True(proxy.Counts.Values.Sum() <= 2 + 4 * buckets, string.Join(", ", proxy.Counts.Select(c => c.Key + "=" + c.Value)));
        Assert.NotEmpty(found.Progress);
    }

    [Fact]
    public async Task Forty_buckets_are_found_in_listing_order_with_their_states_and_no_location_request_per_bucket()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        var made = NewBuckets(ps, ws, Enumerable.Range(0, 40).Select(i => ws.AddJob(i.ToString(), "-- job\n")).ToArray()).ToDictionary(j => j.Bucket());

        // A quarter each: Succeeded, Failed with exit 2, Running (a live tagged instance), Uploaded.
        var expected = new Dictionary<string, (string State, int? ExitCode)>();
        using (var s3 = Cloud.S3())
        {
            foreach (var (bucket, job) in made)
            {
                var index = job.Index();
                switch (index % 4)
                {
                    case 0:
                    case 1:
                        var code = index % 4 == 0 ? 0 : 2;
                        await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = bucket, Key = "exit_code", ContentBody = code + "\n" });
                        expected[bucket] = (code == 0 ? "Succeeded" : "Failed", code);
                        break;
                    case 2:
                        await Cloud.LaunchAsync(new Tag("femag-aws:bucket", bucket), new Tag("femag-aws:index", index.ToString()));
                        expected[bucket] = ("Running", null);
                        break;
                    default:
                        expected[bucket] = ("Uploaded", null);
                        break;
                }
            }
        }

        // A module bucket in another region is not one of this region's jobs.
        var elsewhere = Guid.NewGuid().ToString("D") + "-3";
        using (var s3 = Cloud.S3("us-east-1"))
        {
            await s3.PutBucketAsync(new Amazon.S3.Model.PutBucketRequest { BucketName = elsewhere });
            await s3.PutBucketTaggingAsync(new Amazon.S3.Model.PutBucketTaggingRequest { BucketName = elsewhere, TagSet = new() { new Amazon.S3.Model.Tag { Key = "femag-aws:index", Value = "3" } } });
        }

        // The order a one-at-a-time lookup gives: the listing's, oldest first.
        List<string> listed;
        using (var s3 = Cloud.S3())
        {
            listed = ((await s3.ListBucketsAsync()).Buckets ?? new()).OrderBy(b => b.CreationDate).Select(b => b.BucketName).Where(made.ContainsKey).ToList();
        }

        proxy.Reset();
        var found = ps.Run("Get-FemagJob -Region eu-central-1 -EndpointUrl $args[0]", proxy.Endpoint);

        Assert.True(found.Errors.Count == 0 && found.Terminating == null, found.Describe());
        var ours = found.Output.Where(j => made.ContainsKey(j.Bucket())).ToList();
        Assert.Equal(listed, ours.Select(j => j.Bucket()).ToList());
        Assert.All(ours, j => Assert.Equal((expected[j.Bucket()].State, expected[j.Bucket()].ExitCode, made[j.Bucket()].Index(), made[j.Bucket()].Folder()), (j.State(), j.ExitCode(), j.Index(), j.Folder())));
        Assert.DoesNotContain(found.Output, j => j.Bucket() == elsewhere);
        var counts = string.Join(", ", proxy.Counts.Select(c => c.Key + "=" + c.Value));
        Assert.True(proxy.Count("s3:GetBucketLocation") == 0, counts);
        Assert.Equal(1, proxy.Count("s3:ListBuckets"));

        // Per listed bucket: its tags, its archive's folder and, without a live instance, its finish file; a lookup
        // that also asked each bucket's location makes four.
        var listedJobs = found.Output.Count(j => j.Properties["CreationTime"].Value != null);
        var perBucket = proxy.Counts.Where(c => c.Key.StartsWith("s3:", StringComparison.Ordinal) && c.Key != "s3:ListBuckets").Sum(c => c.Value);
        Assert.True(perBucket <= 3 * listedJobs, $"{perBucket} S3 requests for {listedJobs} buckets: {counts}");

        proxy.Reset();
        var buckets = ps.Run("Get-FemagBucket -Region eu-central-1 -EndpointUrl $args[0]", proxy.Endpoint);

        Assert.True(buckets.Errors.Count == 0 && buckets.Terminating == null, buckets.Describe());
        Assert.Equal(listed, buckets.Output.Select(j => j.Bucket()).Where(made.ContainsKey).ToList());
        Assert.True(proxy.Count("s3:GetBucketLocation") == 0, string.Join(", ", proxy.Counts.Select(c => c.Key + "=" + c.Value)));
    }

    [Fact]
    public async Task A_listing_without_each_buckets_region_asks_each_bucket_for_its_location()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        var made = NewBuckets(ps, ws, Enumerable.Range(0, 3).Select(i => ws.AddJob(i.ToString(), "-- job\n")).ToArray()).Select(j => j.Bucket()).ToList();
        var withRegion = ps.Run("Get-FemagJob -Region eu-central-1 -EndpointUrl $args[0]", proxy.Endpoint);
        Assert.True(withRegion.Errors.Count == 0 && withRegion.Terminating == null, withRegion.Describe());

        // An S3-compatible store that predates BucketRegion answers ListBuckets without it.
        proxy.Reset();
        proxy.RewriteAnswers("s3:ListBuckets", xml => System.Text.RegularExpressions.Regex.Replace(xml, "<BucketRegion>[^<]*</BucketRegion>", string.Empty));
        var found = ps.Run("Get-FemagJob -Region eu-central-1 -EndpointUrl $args[0]", proxy.Endpoint);

        Assert.True(found.Errors.Count == 0 && found.Terminating == null, found.Describe());
        Assert.Equal(withRegion.Output.Select(j => (j.Bucket(), j.State(), j.Index())), found.Output.Select(j => (j.Bucket(), j.State(), j.Index())));
        Assert.Superset(made.ToHashSet(), found.Output.Select(j => j.Bucket()).ToHashSet());
        using var s3 = Cloud.S3();
        var named = ((await s3.ListBucketsAsync(new Amazon.S3.Model.ListBucketsRequest { BucketRegion = "eu-central-1" })).Buckets ?? new())
            .Count(b => System.Text.RegularExpressions.Regex.IsMatch(b.BucketName, "^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}-[0-9]+$"));
        Assert.Equal(named, proxy.Count("s3:GetBucketLocation"));
    }

    [Fact]
    public async Task An_instance_whose_bucket_is_gone_still_gives_a_job_that_can_be_stopped()
    {
        var orphan = await Cloud.LaunchAsync(new Tag("femag-aws:bucket", Guid.NewGuid().ToString("D") + "-7"), new Tag("femag-aws:index", "7"));
        using var ps = new PsSession();

        var result = ps.Run("Get-FemagJob -Region eu-central-1 -EndpointUrl $args[0] | Where-Object InstanceId -eq $args[1] | Stop-FemagInstance -PassThru", Cloud.Endpoint, orphan);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal(7, job.Index());
        Assert.Equal("Failed", job.State());
        Assert.Equal(Amazon.EC2.InstanceStateName.Terminated, await Cloud.InstanceStateAsync(orphan));
    }

    [Fact]
    public void A_job_started_in_another_runspace_is_waited_for_and_received_into_its_folder()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 3\n-- fake-femag: exit 0\n");
        string bucket;
        using (var starter = new PsSession())
        {
            var started = starter.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance", new[] { folder.FullName }, ws.ConfigFile);
            Assert.True(started.Errors.Count == 0, started.Describe());
            bucket = Assert.Single(started.Output).Bucket();
        }

        // Other tests of this class share the cloud: only this test's job goes on.
        using var ps = new PsSession();
        var result = ps.Run("Get-FemagJob -ConfigFile $args[0] | Where-Object BucketName -eq $args[1] | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 | Receive-FemagResult",
            ws.ConfigFile, bucket);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal("Succeeded", job.State());
        Assert.Equal("0", File.ReadAllText(Path.Combine(folder.FullName, "exit_code")).Trim());
        Assert.True(File.Exists(Path.Combine(folder.FullName, "femag.log")));
    }
}

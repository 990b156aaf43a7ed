using System.Diagnostics;
using System.Management.Automation;
using Amazon.EC2;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// Ctrl+C (PowerShell.Stop, which calls StopProcessing) in each cmdlet: it ends soon, leaves nothing half-made
/// or unknown in the cloud, no temp files on disk, and says on the host what is still running.
/// </summary>
public sealed class StopTests : CloudTest
{
    private readonly ITestOutputHelper _output;

    public StopTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture)
    {
        _output = output;
    }

    [Fact]
    public async Task Stopping_Wait_leaves_instances_running_and_says_how_to_go_on_or_stop_them()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 120\n");
        using var ps = new PsSession();
        var job = Assert.Single(Started(ps, ws, folder));

        await RunAndStopAsync(ps, "$script:jobs | Wait-FemagJob -PollInterval 1", (p, _) => p.Streams.Progress.Count > 0);

        Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(job.InstanceId()));
        var account = StopAccount.Single(ps.HostOutput.ToString());
        Assert.Contains($"Running and billing, 1 instance(s): {job.InstanceId()} (job 0)", account.Text);
        var find = $"Get-FemagJob -ConfigFile '{ws.ConfigFile}' -Region eu-central-1 | Where-Object BucketName -in '{job.Bucket()}'";
        Assert.Equal(new[] { find + " | Wait-FemagJob | Receive-FemagResult" }, account.GoOn);
        Assert.Equal(find + " | Stop-FemagInstance -PassThru | Remove-FemagBucket -Force", account.CleanUp);

        // The clean-up command, run as printed, ends the instance and deletes the bucket.
        var cleanUp = ps.Run(account.CleanUp!);
        Assert.True(cleanUp.Errors.Count == 0 && cleanUp.Terminating == null, cleanUp.Describe());
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(job.InstanceId()));
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task Stopping_Wait_while_a_lost_job_waits_for_its_next_launch_says_to_go_on_with_Wait_FemagJob_which_launches_it()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, extraConfig: "spot = 1\n", endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 8\n");
        using var ps = new PsSession();
        var job = Assert.Single(Started(ps, ws, folder));
        while (await Cloud.InstanceStateAsync(job.InstanceId()) != InstanceStateName.Running)
        {
            await Task.Delay(100);
        }

        // The instance is reclaimed, and EC2 has no capacity for its next launch, on Spot or On-Demand.
        using (var ec2 = Cloud.Ec2())
        {
            await ec2.TerminateInstancesAsync(new Amazon.EC2.Model.TerminateInstancesRequest { InstanceIds = new List<string> { job.InstanceId()! } });
        }

        proxy.FailWhere("ec2:RunInstances", "", times: null, status: 400, code: "InsufficientInstanceCapacity", message: "We currently do not have sufficient capacity.");
        // Stopped once Wait-FemagJob has warned that the job waits for capacity: both launches (Spot, then
        // On-Demand) were refused. The proxy counts a refusal before the cmdlet writes its warning, so the
        // warning, not the count, says the wait has begun.
        await RunAndStopAsync(ps, "$script:jobs | Wait-FemagJob -PollInterval 1",
            (p, _) => p.Streams.Warning.Any(w => w.Message.Contains("Waiting for EC2 capacity")));
        Assert.True(proxy.FaultCount("ec2:RunInstances") >= 2, "the Spot and the On-Demand launch should both have been refused");

        var host = ps.HostOutput.ToString();
        Assert.Contains("Waiting for EC2 capacity", host);
        var account = StopAccount.Single(host.Substring(host.IndexOf("WARNING: Stopped.", StringComparison.Ordinal)));
        Assert.Contains($"Instance lost, waiting to be launched again, 1 bucket(s): {job.Bucket()} (job 0, attempt 2 of 3)", account.Text);
        var goOn = account.GoOnWith("Wait-FemagJob | Receive-FemagResult");

        // With capacity back, the command as printed launches attempt 2 and receives its results.
        proxy.Reset();
        var resumed = ps.Run(goOn);
        Assert.True(resumed.Errors.Count == 0 && resumed.Terminating == null, resumed.Describe());
        Assert.Equal(("Succeeded", 2), (Assert.Single(resumed.Output).State(), (int)resumed.Output[0].Properties["Attempt"].Value));
        Assert.True(File.Exists(Path.Combine(folder.FullName, "femag.log")));
    }

    [Fact]
    public async Task Stopping_Wait_with_StopOnCancel_terminates_the_instances()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 120\n");
        using var ps = new PsSession();
        var job = Assert.Single(Started(ps, ws, folder));

        await RunAndStopAsync(ps, "$script:jobs | Wait-FemagJob -PollInterval 1 -StopOnCancel -AccessKey testing -SecretKey testing", (p, _) => p.Streams.Progress.Count > 0);

        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(job.InstanceId()));
        var account = StopAccount.Single(ps.HostOutput.ToString());
        Assert.Contains($"Terminated by the stop, no longer billing, 1 instance(s): {job.InstanceId()} (job 0)", account.Text);
        Assert.Contains($"Uploaded, no instance, 1 bucket(s): {job.Bucket()} (job 0)", account.Text);
        Assert.DoesNotContain("Running and billing", account.Text);
        Assert.Contains($"'{job.Bucket()}' | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult", Assert.Single(account.GoOn));
        Assert.EndsWith($"'{job.Bucket()}' | Remove-FemagBucket -Force", account.CleanUp);

        // Keys given on the command line are not in the commands; the account says to give them again.
        Assert.DoesNotContain("testing", account.CleanUp);
        Assert.Equal("Give Get-FemagJob the credentials given before with -AccessKey and -SecretKey: they were kept in memory only.", account.Lines[^1]);
        var saved = ps.Run("$script:jobs");
        Assert.Equal("Failed", Assert.Single(saved.Output).State());
    }

    [Fact]
    public async Task Stopping_Wait_while_a_request_hangs_ends_at_once()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 120\n");
        using var ps = new PsSession();
        var job = Assert.Single(Started(ps, ws, folder));
        proxy.Hold("ec2:DescribeInstances", TimeSpan.FromSeconds(170));

        await RunAndStopAsync(ps, "$script:jobs | Wait-FemagJob -PollInterval 1", (_, _) => proxy.FaultCount("ec2:DescribeInstances", AwsProxy.Held) > 0);

        // Ctrl+C is not taken for a timeout: the wait ends, the request with it, and the instance keeps running.
        for (var tries = 0; tries < 50 && proxy.HoldTimes("ec2:DescribeInstances").Count == 0; tries++)
        {
            await Task.Delay(100);
        }

        Assert.InRange(Assert.Single(proxy.HoldTimes("ec2:DescribeInstances")), TimeSpan.Zero, TimeSpan.FromSeconds(10));
        var account = StopAccount.Single(ps.HostOutput.ToString());
        Assert.Equal(1, account.Mentions(job.InstanceId()!));
        Assert.Contains("Running and billing, 1 instance(s): " + job.InstanceId(), account.Text);
    }

    [Fact]
    public async Task Stopping_the_whole_pipeline_gives_one_account_naming_each_instance_once()
    {
        // Two jobs run, the third is queued by max_instances: what runs, what is only uploaded, and a command for each.
        using var ws = new Workspace(Cloud, "max_instances = 2\n");
        var folders = Enumerable.Range(0, 3).Select(i => ws.AddJob(i.ToString(), "-- fake-femag: sleep 120\n").FullName).ToArray();
        var before = await Cloud.BucketNamesAsync();
        using var ps = new PsSession();

        await RunAndStopAsync(ps, "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | Wait-FemagJob -PollInterval 1",
            (p, _) => p.Streams.Progress.Any(r => r.Activity == "Waiting for FEMAG jobs"), folders, ws.ConfigFile);

        var account = StopAccount.Single(ps.HostOutput.ToString());
        _output.WriteLine(account.Text);
        var buckets = (await Cloud.BucketNamesAsync()).Except(before).ToList();
        var running = (await Cloud.InstancesAsync()).Where(i => i.State.Name != InstanceStateName.Terminated && i.Tags.Any(t => t.Key == "femag-aws:bucket" && buckets.Contains(t.Value))).ToList();
        Assert.Equal(3, buckets.Count);
        Assert.Equal(2, running.Count);
        Assert.All(running, i => Assert.Equal(1, account.Mentions(i.InstanceId)));
        var queued = Assert.Single(buckets, b => running.All(i => i.Tags.Single(t => t.Key == "femag-aws:bucket").Value != b));
        Assert.Contains($"Uploaded, no instance, 1 bucket(s): {queued} (job {queued[(queued.LastIndexOf('-') + 1)..]})", account.Text);
        Assert.Contains($"'{queued}' | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult", account.GoOnWith("Start-FemagInstance | Wait-FemagJob | Receive-FemagResult"));
        Assert.DoesNotContain(queued, account.GoOnWith("Wait-FemagJob | Receive-FemagResult"));
        Assert.All(buckets, b => Assert.Contains(b, account.CleanUp));

        var cleanUp = ps.Run(account.CleanUp!);
        Assert.True(cleanUp.Errors.Count == 0 && cleanUp.Terminating == null, cleanUp.Describe());
        Assert.Empty((await Cloud.BucketNamesAsync()).Intersect(buckets));
        foreach (var instance in running)
        {
            Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(instance.InstanceId));
        }
    }

    [Fact]
    public async Task Stopping_New_FemagBucket_mid_upload_leaves_only_complete_buckets_and_names_them()
    {
        using var ws = new Workspace(Cloud);
        var random = new Random(7);
        var folders = Enumerable.Range(0, 6).Select(i =>
        {
            var folder = ws.AddJob(i.ToString(), "-- job\n");
            var model = new byte[24 << 20];
            random.NextBytes(model);
            File.WriteAllBytes(Path.Combine(folder.FullName, "model.nc"), model);
            return folder.FullName;
        }).ToArray();
        var before = await Cloud.BucketNamesAsync();
        using var ps = new PsSession();

        var output = await RunAndStopAsync(ps, "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -ThrottleLimit 2",
            (_, emitted) => emitted.Count > 0, folders, ws.ConfigFile);

        var created = (await Cloud.BucketNamesAsync()).Except(before).ToList();
        _output.WriteLine($"{output.Count} job(s) passed on, {created.Count} bucket(s) left: {string.Join(", ", created)}");
        _output.WriteLine(ps.HostOutput.ToString());
        using var s3 = Cloud.S3();
        foreach (var bucket in created)
        {
            // Nothing half-made: every bucket left holds its whole archive, and the user was told about it.
            var index = bucket.Substring(bucket.LastIndexOf('-') + 1);
            var archive = await s3.GetObjectMetadataAsync(bucket, index + ".tar.gz");
            Assert.True(archive.ContentLength > 24 << 20);
            Assert.Contains(bucket, ps.HostOutput.ToString());
        }

        // Every job passed on is kept; one whose WriteObject met the stop is kept too, and named above.
        Assert.Contains("Uploaded, no instance", StopAccount.Single(ps.HostOutput.ToString()).Text);
        Assert.NotEmpty(output);
        Assert.Subset(created.ToHashSet(), output.Select(j => j.Bucket()).ToHashSet());
    }

    [Fact]
    public async Task Stopping_Start_FemagInstance_leaves_no_instance_nobody_knows_about()
    {
        using var ws = new Workspace(Cloud);
        var folders = Enumerable.Range(0, 12).Select(i => ws.AddJob(i.ToString(), "-- fake-femag: sleep 120\n")).ToArray();
        using var ps = new PsSession();
        ps.Set("uploaded", NewBuckets(ps, ws, folders).ToArray());

        var output = await RunAndStopAsync(ps, "$uploaded | Start-FemagInstance -ThrottleLimit 2", (_, emitted) => emitted.Count > 0);

        var host = ps.HostOutput.ToString();
        _output.WriteLine($"{output.Count} job(s) passed on");
        _output.WriteLine(host);
        var buckets = NewBucketsOf(ps);
        var live = (await Cloud.InstancesAsync()).Where(i => i.State.Name != InstanceStateName.Terminated && i.Tags.Any(t => t.Key == "femag-aws:bucket" && buckets.Contains(t.Value))).ToList();
        Assert.NotEmpty(live);
        var account = StopAccount.Single(host);
        Assert.All(live, i => Assert.Equal(1, account.Mentions(i.InstanceId)));
        Assert.Subset(live.Select(i => i.InstanceId).ToHashSet(), output.Select(j => j.InstanceId()!).ToHashSet());
    }

    [Fact]
    public async Task Stopping_Receive_mid_download_leaves_no_partial_file()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- fake-femag: result-mb 96\n");
        using var ps = new PsSession();
        var done = ps.Run("$script:jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120; $script:jobs",
            new[] { folder.FullName }, ws.ConfigFile);
        Assert.Equal("Succeeded", Assert.Single(done.Output).State());

        var output = await RunAndStopAsync(ps, "$script:jobs | Receive-FemagResult", (p, _) => p.Streams.Progress.Count > 0);

        var files = Directory.GetFiles(folder.FullName, "*", SearchOption.AllDirectories);
        _output.WriteLine(string.Join("\n", files.Select(f => $"{f} {new FileInfo(f).Length}")));
        Assert.DoesNotContain(files, f => f.EndsWith(".femag-partial", StringComparison.Ordinal));
        var result = Path.Combine(folder.FullName, "result.bin");
        Assert.True(!File.Exists(result) || new FileInfo(result).Length == 96 << 20, "a truncated result.bin looks complete");
        if (output.Count == 0)
        {
            var account = StopAccount.Single(ps.HostOutput.ToString());
            var bucket = Assert.Single(done.Output).Bucket();
            Assert.Contains($"Finished, results not received, 1 bucket(s): {bucket} (job 0)", account.Text);
            Assert.EndsWith($"'{bucket}' | Receive-FemagResult", Assert.Single(account.GoOn));
        }
    }

    private static List<PSObject> Started(PsSession ps, Workspace ws, params DirectoryInfo[] folders)
    {
        var started = ps.Run("$script:jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance; $script:jobs",
            folders.Select(f => f.FullName).ToArray(), ws.ConfigFile);
        Assert.True(started.Errors.Count == 0, started.Describe());
        return started.Output.ToList();
    }

    private static HashSet<string> NewBucketsOf(PsSession ps) =>
        ((object[])ps.Get("uploaded")!).Cast<PSObject>().Select(j => j.Bucket()).ToHashSet();

    /// <summary>Runs a script until <paramref name="when"/> holds, presses Ctrl+C and returns what it emitted before.</summary>
    private async Task<List<PSObject>> RunAndStopAsync(PsSession session, string script, Func<PowerShell, PSDataCollection<PSObject>, bool> when, params object[] args)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = session.Runspace;
        ps.AddScript(script);
        foreach (var arg in args)
        {
            ps.AddArgument(arg);
        }

        var output = new PSDataCollection<PSObject>();
        var running = ps.BeginInvoke<object, PSObject>(null, output);
        for (var tries = 0; tries < 1200 && !when(ps, output) && !running.IsCompleted; tries++)
        {
            await Task.Delay(50);
        }

        Assert.False(running.IsCompleted, "the command ended before it could be stopped");
        var clock = Stopwatch.StartNew();
        var stop = Task.Run(ps.Stop);
        Assert.Same(stop, await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(60))));
        _output.WriteLine($"Stop took {clock.ElapsedMilliseconds} ms");

        // "Within a second or two"; the bound leaves room for a loaded 2-core machine, and the figure is printed above.
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        return output.ToList();
    }
}

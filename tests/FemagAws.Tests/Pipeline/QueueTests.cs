using Amazon.EC2;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>max_instances: jobs beyond the cap are queued and start as others finish, inside the same pipeline.</summary>
public sealed class QueueTests : CloudTest
{
    private readonly ITestOutputHelper _output;

    public QueueTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture)
    {
        _output = output;
    }

    [Fact]
    public async Task With_max_instances_2_five_jobs_never_run_more_than_2_at_once_and_all_finish()
    {
        using var ws = new Workspace(Cloud, extraConfig: "max_instances = 2\n");
        var folders = Enumerable.Range(0, 5).Select(i => ws.AddJob(i.ToString(), "-- fake-femag: sleep 2\n").FullName).ToArray();
        using var ps = new PsSession();

        // Watch the account while the pipeline runs: how many of the module's instances are alive at once.
        using var stop = new CancellationTokenSource();
        var peak = 0;
        var seen = new HashSet<string>();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var live = (await Cloud.InstancesAsync()).Where(i => i.State.Name == InstanceStateName.Pending || i.State.Name == InstanceStateName.Running).ToList();
                seen.UnionWith(live.Select(i => i.InstanceId));
                peak = Math.Max(peak, live.Count);
                await Task.Delay(100);
            }
        });
        var started = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance -Verbose", folders, ws.ConfigFile);
        var queued = started.Output.Where(j => j.State() == "Queued").Select(j => j.Reason()).ToList();
        ps.Set("jobs", started.Output.ToArray());
        var result = ps.Run("$jobs | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 240 -Verbose | Receive-FemagResult");
        stop.Cancel();
        await watcher;

        _output.WriteLine($"peak {peak} running, {seen.Count} instances seen; {queued.Count} queued by Start-FemagInstance");
        _output.WriteLine(string.Join("\n", result.Verbose));
        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Equal(3, queued.Count);
        Assert.All(queued, reason => Assert.Contains("max_instances = 2", reason));
        Assert.Equal(5, result.Output.Count);
        Assert.All(result.Output, j => Assert.Equal("Succeeded", j.State()));
        Assert.All(folders, f => Assert.True(File.Exists(Path.Combine(f, "femag.log"))));
        Assert.Equal(3, result.Verbose.Count(v => v.Contains("queued job launched")));
        Assert.InRange(peak, 1, 2);
        Assert.Equal(5, seen.Count);
    }

    [Fact]
    public async Task Jobs_EC2_turns_away_for_quota_are_queued_and_launched_later_in_the_same_pipeline()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = Enumerable.Range(0, 3).Select(i => ws.AddJob(i.ToString(), "-- job\n").FullName).ToArray();
        using var ps = new PsSession();
        proxy.Fail("ec2:RunInstances", times: 2, status: 400, code: "InstanceLimitExceeded", message: "You have requested more instances (21) than your current instance limit of 20 allows.");

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -ThrottleLimit 1 | Start-FemagInstance -ThrottleLimit 1 -Verbose | " +
                            "Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 240 -Verbose | Receive-FemagResult", folders, ws.ConfigFile);

        _output.WriteLine(proxy.Describe());
        _output.WriteLine(string.Join("\n", result.Verbose));
        Assert.True(result.Errors.Count == 0, result.Describe());
        // Start-FemagInstance is turned away once and then queues the other two without asking EC2; Wait-FemagJob is
        // turned away once more and launches all three after its pause.
        Assert.Equal(2, result.Verbose.Count(v => v.Contains("Waiting for EC2 capacity") && v.Contains("InstanceLimitExceeded")));
        Assert.Equal(2, result.Verbose.Count(v => v.Contains("an earlier launch of this pipeline was turned away")));
        Assert.Equal(3, result.Verbose.Count(v => v.Contains("queued job launched")));
        Assert.Equal(3, result.Output.Count);
        Assert.All(result.Output, j => Assert.Equal("Succeeded", j.State()));
        Assert.Equal(5, proxy.Count("ec2:RunInstances"));
        Assert.All(folders, f => Assert.True(File.Exists(Path.Combine(f, "femag.log"))));
    }

    [Fact]
    public async Task While_EC2_has_no_capacity_each_attempt_asks_for_one_job_only_and_a_timeout_leaves_them_queued()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = Enumerable.Range(0, 4).Select(i => ws.AddJob(i.ToString(), "-- job\n").FullName).ToArray();
        using var ps = new PsSession();
        proxy.Fail("ec2:RunInstances", times: null, status: 400, code: "VcpuLimitExceeded", message: "You have requested more vCPU capacity than your current vCPU limit of 0 allows.");

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance -ThrottleLimit 1 | " +
                            "Wait-FemagJob -PollInterval 1 -Timeout 4", folders, ws.ConfigFile);

        _output.WriteLine(proxy.Describe());
        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Equal(4, result.Output.Count);
        Assert.All(result.Output, j => Assert.Equal("Queued", j.State()));
        Assert.Equal(2, proxy.Count("ec2:RunInstances"));
        Assert.Contains(result.Warnings, w => w.Contains("VcpuLimitExceeded") && w.Contains("-Timeout ends the wait"));
        Assert.Contains(result.Warnings, w => w.Contains("4 queued job(s) were not launched"));
        var buckets = result.Output.Select(j => j.Bucket()).ToHashSet();
        Assert.DoesNotContain(await Cloud.InstancesAsync(), i => i.Tags.Any(t => t.Key == "femag-aws:bucket" && buckets.Contains(t.Value)));
    }
}

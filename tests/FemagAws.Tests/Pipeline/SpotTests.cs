using System.Management.Automation;
using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>Spot launches, capacity fallback, and relaunches of lost jobs, against the local cloud.</summary>
public sealed class SpotTests : CloudTest
{
    private const string Run = "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance";
    private const string Wait = "Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 240";
    private const string SpotRequest = "InstanceMarketOptions.MarketType=spot";
    private readonly ITestOutputHelper _output;

    public SpotTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture)
    {
        _output = output;
    }

    [Fact]
    public async Task Spot_launches_carry_the_market_options_and_EC2_records_a_spot_instance_tagged_with_lifecycle_and_attempt()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = new[] { ws.AddJob("0", "-- job\n").FullName };
        using var ps = new PsSession();

        var result = ps.Run(Run + " -Spot | " + Wait + " | Receive-FemagResult", folders, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal(("Succeeded", "spot", 1, "t2.small"), (job.State(), (string)job.Properties["Lifecycle"].Value, (int)job.Properties["Attempt"].Value, (string)job.Properties["InstanceType"].Value));
        var instance = (await Cloud.InstancesAsync()).Single(i => i.InstanceId == job.InstanceId());
        Assert.Equal(InstanceLifecycleType.Spot, instance.InstanceLifecycle);
        Assert.Equal(("spot", "1"), (Tag(instance, "femag-aws:lifecycle"), Tag(instance, "femag-aws:attempt")));
        Assert.Equal(1, proxy.Count("ec2:RunInstances"));
        Assert.DoesNotContain(result.Warnings, w => w.Contains("Spot"));
    }

    [Fact]
    public async Task When_EC2_refuses_Spot_for_capacity_every_job_runs_On_Demand_with_one_warning_for_all()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, extraConfig: "spot = 1\n", endpointUrl: proxy.Endpoint);
        var folders = Enumerable.Range(0, 3).Select(i => ws.AddJob(i.ToString(), "-- job\n").FullName).ToArray();
        using var ps = new PsSession();

        // 400 rather than EC2's 500, which the SDK would first retry for about 40 s.
        proxy.FailWhere("ec2:RunInstances", SpotRequest, times: null, status: 400, code: "InsufficientInstanceCapacity", message: "There is no Spot capacity available that matches your request.");

        var result = ps.Run(Run + " | " + Wait + " | Receive-FemagResult", folders, ws.ConfigFile);

        _output.WriteLine(proxy.Describe());
        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Equal(3, result.Output.Count);
        Assert.All(result.Output, j => Assert.Equal(("Succeeded", "on-demand"), (j.State(), (string)j.Properties["Lifecycle"].Value)));
        var warning = Assert.Single(result.Warnings, w => w.Contains("Spot"));
        Assert.Contains("no Spot capacity for 3 job(s)", warning);
        Assert.Equal(6, proxy.Count("ec2:RunInstances"));
        var instances = (await Cloud.InstancesAsync()).Where(i => result.Output.Any(j => j.InstanceId() == i.InstanceId)).ToList();
        Assert.Equal(3, instances.Count);
        Assert.All(instances, i => Assert.Null(i.InstanceLifecycle));
    }

    [Fact]
    public async Task The_instance_type_list_is_tried_in_order_and_the_job_records_the_type_it_got()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = new[] { ws.AddJob("0", "-- job\n").FullName };
        using var ps = new PsSession();
        proxy.FailWhere("ec2:RunInstances", "InstanceType=c5.large", times: null, status: 400, code: "Unsupported", message: "The requested configuration is currently not supported.");
        proxy.FailWhere("ec2:RunInstances", "InstanceType=m5.large", times: null, status: 400, code: "InsufficientInstanceCapacity", message: "We currently do not have sufficient m5.large capacity.");

        var result = ps.Run(Run + " -InstanceType 'c5.large, m5.large, t3.small' | " + Wait, folders, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal(("Succeeded", "t3.small", "on-demand"), (job.State(), (string)job.Properties["InstanceType"].Value, (string)job.Properties["Lifecycle"].Value));
        Assert.Equal(3, proxy.Count("ec2:RunInstances"));
        Assert.Equal(2, proxy.FaultCount("ec2:RunInstances"));
        Assert.Equal(InstanceType.T3Small, (await Cloud.InstancesAsync()).Single(i => i.InstanceId == job.InstanceId()).InstanceType);
    }

    [Fact]
    public async Task A_spot_instance_terminated_from_outside_mid_job_is_relaunched_and_the_job_succeeds_on_attempt_2_with_complete_results()
    {
        using var ws = new Workspace(Cloud, extraConfig: "spot = 1\n");
        var folder = ws.AddJob("0", "-- fake-femag: sleep 4\n").FullName;
        using var ps = new PsSession();
        var started = ps.Run(Run, new[] { folder }, ws.ConfigFile);
        var first = Assert.Single(started.Output).InstanceId();
        ps.Set("jobs", started.Output.ToArray());

        var waiting = Task.Run(() => ps.Run("$jobs | " + Wait + " -Verbose | Receive-FemagResult"));
        await WaitForStateAsync(first!, InstanceStateName.Running);
        await Task.Delay(1500);
        using (var ec2 = Cloud.Ec2())
        {
            await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = new List<string> { first! } });
        }

        var result = await waiting;

        _output.WriteLine(string.Join("\n", result.Verbose));
        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal(("Succeeded", 2), (job.State(), (int)job.Properties["Attempt"].Value));
        Assert.NotEqual(first, job.InstanceId());
        var tagged = (await Cloud.InstancesAsync()).Where(i => Tag(i, "femag-aws:bucket") == job.Bucket()).ToList();
        Assert.Equal(2, tagged.Count);
        Assert.Equal(new[] { "1", "2" }, tagged.Select(i => Tag(i, "femag-aws:attempt")).OrderBy(a => a));
        Assert.True(File.Exists(Path.Combine(folder, "femag.log")));
        Assert.Equal("0", File.ReadAllText(Path.Combine(folder, "exit_code")).Trim());
        Assert.Single(result.Warnings, w => w.Contains("1 lost instance(s) were replaced"));
        Assert.Single(LossesOf(job));
    }

    [Fact]
    public async Task A_FEMAG_error_is_never_retried()
    {
        using var ws = new Workspace(Cloud, extraConfig: "spot = 1\n");
        var folders = new[] { ws.AddJob("0", "-- fake-femag: exit 3\n").FullName };
        using var ps = new PsSession();

        var result = ps.Run(Run + " | " + Wait, folders, ws.ConfigFile);

        var job = Assert.Single(result.Output);
        Assert.Equal(("Failed", 3, 1), (job.State(), job.ExitCode(), (int)job.Properties["Attempt"].Value));
        Assert.Single(await InstancesOfAsync(job.Bucket()));
    }

    [Fact]
    public async Task A_spot_job_whose_script_always_dies_before_exit_code_fails_after_exactly_max_attempts_launches_with_every_reason()
    {
        using var ws = new Workspace(Cloud, extraConfig: "spot = 1\nmax_attempts = 3\n");
        var folders = new[] { ws.AddJob("0", "-- fake-femag: halt\n").FullName };
        using var ps = new PsSession();

        var result = ps.Run(Run + " | " + Wait, folders, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal(("Failed", 3), (job.State(), (int)job.Properties["Attempt"].Value));
        var instances = await InstancesOfAsync(job.Bucket());
        Assert.Equal(3, instances.Count);
        Assert.StartsWith("Lost on all 3 launch(es) (max_attempts = 3): attempt 1: Instance ", job.Reason());
        foreach (var instance in instances)
        {
            Assert.Contains($"attempt {Tag(instance, "femag-aws:attempt")}: Instance {instance.InstanceId} ended", job.Reason());
        }
    }

    [Fact]
    public async Task A_spot_job_stopped_with_Stop_FemagInstance_is_not_relaunched()
    {
        using var ws = new Workspace(Cloud, extraConfig: "spot = 1\n");
        var folders = new[] { ws.AddJob("0", "-- fake-femag: sleep 600\n").FullName };
        using var ps = new PsSession();
        using var other = new PsSession();
        var started = ps.Run(Run, folders, ws.ConfigFile);
        var instanceId = Assert.Single(started.Output).InstanceId();
        ps.Set("jobs", started.Output.ToArray());
        other.Set("jobs", started.Output.ToArray());

        var waiting = Task.Run(() => ps.Run("$jobs | " + Wait));
        await WaitForStateAsync(instanceId!, InstanceStateName.Running);
        var stopped = other.Run("Stop-FemagInstance -InstanceId $args[0] -Region eu-central-1 -EndpointUrl $args[1]", instanceId, Cloud.Endpoint);
        var result = await waiting;

        Assert.True(stopped.Errors.Count == 0, stopped.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal(("Failed", 1), (job.State(), (int)job.Properties["Attempt"].Value));
        var instance = Assert.Single(await InstancesOfAsync(job.Bucket()));
        Assert.Equal("module", Tag(instance, "femag-aws:stopped-by"));
    }

    [Fact]
    public async Task A_lost_spot_job_stopped_with_Stop_FemagInstance_after_its_instance_ended_is_not_relaunched_by_any_session()
    {
        using var ws = new Workspace(Cloud, extraConfig: "spot = 1\n");
        var folders = new[] { ws.AddJob("0", "-- fake-femag: sleep 600\n").FullName };
        using var ps = new PsSession();
        var started = ps.Run(Run, folders, ws.ConfigFile);
        var instanceId = Assert.Single(started.Output).InstanceId()!;
        await WaitForStateAsync(instanceId, InstanceStateName.Running);
        using (var ec2 = Cloud.Ec2())
        {
            await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = new List<string> { instanceId } });
        }

        // Get-FemagJob shows the lost job Running (Wait-FemagJob would launch it again); the user stops it instead.
        var find = "Get-FemagJob -ConfigFile $args[0] | Where-Object BucketName -eq $args[1]";
        var bucket = started.Output[0].Bucket();
        var found = ps.Run(find, ws.ConfigFile, bucket);
        Assert.Equal("Running", Assert.Single(found.Output).State());
        var stopped = ps.Run(find + " | Stop-FemagInstance -PassThru", ws.ConfigFile, bucket);
        var again = ps.Run(find + " | Wait-FemagJob -PollInterval 1 -Timeout 60", ws.ConfigFile, bucket);

        Assert.True(stopped.Errors.Count == 0 && stopped.Warnings.Count == 0, stopped.Describe());
        Assert.Equal("Failed", Assert.Single(stopped.Output).State());
        Assert.True(again.Errors.Count == 0, again.Describe());
        Assert.Equal(("Failed", 1), (Assert.Single(again.Output).State(), (int)again.Output[0].Properties["Attempt"].Value));
        var instance = Assert.Single(await InstancesOfAsync(bucket));
        Assert.Equal("module", Tag(instance, "femag-aws:stopped-by"));
    }

    private static string? Tag(Instance instance, string key) => instance.Tags?.FirstOrDefault(t => t.Key == key)?.Value;

    private static IEnumerable<object> LossesOf(PSObject job) =>
        ((System.Collections.IEnumerable)PSObject.AsPSObject(job.Properties["Losses"].Value).BaseObject).Cast<object>();

    private async Task<List<Instance>> InstancesOfAsync(string bucket) =>
        (await Cloud.InstancesAsync()).Where(i => Tag(i, "femag-aws:bucket") == bucket).ToList();

    private async Task WaitForStateAsync(string instanceId, InstanceStateName state)
    {
        for (var i = 0; i < 200 && await Cloud.InstanceStateAsync(instanceId) != state; i++)
        {
            await Task.Delay(100);
        }
    }
}

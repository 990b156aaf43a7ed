using Amazon.EC2;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>max_runtime: each instance shuts itself down after that time, with or without a client waiting.</summary>
public sealed class WatchdogTests : CloudTest
{
    public WatchdogTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task An_instance_past_max_runtime_terminates_itself_with_no_client_and_Wait_reports_why()
    {
        // 0.1 min = 6 s; the fake FEMAG would run for 5 minutes.
        using var ws = new Workspace(Cloud, extraConfig: "max_runtime = 0.1\n");
        var folder = ws.AddJob("0", "-- fake-femag: sleep 300\n");
        using var ps = new PsSession();
        var started = ps.Run("$script:jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance; $script:jobs", new[] { folder.FullName }, ws.ConfigFile);
        Assert.True(started.Errors.Count == 0, started.Describe());
        var instanceId = Assert.Single(started.Output).InstanceId();

        // Nobody polls: the instance must end by itself.
        var state = InstanceStateName.Running;
        for (var i = 0; i < 120 && state != InstanceStateName.Terminated; i++)
        {
            await Task.Delay(500);
            state = await Cloud.InstanceStateAsync(instanceId);
        }

        Assert.Equal(InstanceStateName.Terminated, state);
        var instance = (await Cloud.InstancesAsync()).Single(i => i.InstanceId == instanceId);
        Assert.Contains(instance.Tags, t => t.Key == "femag-aws:max-runtime" && t.Value == "0.1");

        var waited = ps.Run("$script:jobs | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 60");
        Assert.True(waited.Errors.Count == 0, waited.Describe());
        var job = Assert.Single(waited.Output);
        Assert.Equal("Failed", job.State());
        Assert.Contains("max_runtime watchdog", job.Reason());
    }

    [Fact]
    public void The_watchdog_goes_right_after_the_shebang_and_a_script_without_one_is_refused()
    {
        using var ws = new Workspace(Cloud, extraConfig: "max_runtime = 90\n");
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(NewBuckets(ps, ws, folder));

        var result = ps.Run("$args[0] | Start-FemagInstance -WhatIf -Verbose", job);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var userData = Assert.Single(result.Verbose, v => v.StartsWith("User data for bucket", StringComparison.Ordinal));
        var lines = userData.Split('\n');
        Assert.Equal("#!/bin/bash", lines[1]);
        Assert.StartsWith("# femag-aws: max_runtime watchdog", lines[2]);
        Assert.Equal("nohup sh -c 'sleep 5400; shutdown -h now' >/dev/null 2>&1 &", lines[3]);

        File.WriteAllText(Path.Combine(ws.Root, "cloud_init.txt"), "#cloud-config\nruncmd:\n  - echo hi\n");
        var refused = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { folder.FullName }, ws.ConfigFile);
        Assert.Empty(refused.Output);
        Assert.Contains("FemagWatchdogNeedsShellScript", refused.Describe());
    }

    [Fact]
    public void A_max_runtime_that_is_not_a_number_of_minutes_is_a_config_error_with_its_line()
    {
        using var ws = new Workspace(Cloud, extraConfig: "max_runtime = two hours\n");
        using var ps = new PsSession();

        var result = ps.Run("Import-FemagConfig $args[0]", ws.ConfigFile);

        Assert.Contains("max_runtime = 'two hours' is not a number of minutes", result.Describe());
        Assert.Contains("line 11", result.Describe());
    }
}

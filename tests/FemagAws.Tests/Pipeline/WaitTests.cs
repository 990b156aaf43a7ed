using System.Management.Automation;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>What waiting costs, what it shows, and that it can be interrupted.</summary>
public sealed class WaitTests : CloudTest
{
    public WaitTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task A_poll_cycle_describes_all_instances_in_one_call_and_progress_counts_the_jobs()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = Enumerable.Range(0, 6).Select(i => ws.AddJob(i.ToString(), i == 5 ? "-- fake-femag: exit 2\n" : "-- fake-femag: sleep " + (i + 1) + "\n")).Select(d => d.FullName).ToArray();
        using var ps = new PsSession();
        var started = ps.Run("$script:jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance; $script:jobs", folders, ws.ConfigFile);
        Assert.True(started.Errors.Count == 0, started.Describe());
        proxy.Reset();

        var waited = ps.Run("$script:jobs | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120");

        Assert.True(waited.Errors.Count == 0, waited.Describe());
        Assert.Equal(6, waited.Output.Count);
        var cycles = waited.Progress.Where(p => p.Activity == "Waiting for FEMAG jobs" && p.RecordType == ProgressRecordType.Processing).ToList();
        Assert.True(cycles.Count >= 2, "expected several poll cycles");
        // One per poll, and one more at the end for what the instances billed.
        Assert.Equal(cycles.Count + 1, proxy.Count("ec2:DescribeInstances"));
        Assert.InRange(proxy.Count("ec2:TerminateInstances"), 1, cycles.Count);

        // Finished jobs are no longer polled: far fewer exit_code reads than jobs × cycles.
        Assert.True(proxy.Count("s3:GetObject") < 6 * cycles.Count, $"{proxy.Count("s3:GetObject")} reads in {cycles.Count} cycles");
        Assert.Matches(@"^\d of 6 done, \d running, \d failed$", cycles[0].StatusDescription);
        Assert.Equal("6 of 6 done, 0 running, 1 failed", cycles[^1].StatusDescription);
    }

    [Fact]
    public async Task Stopping_the_pipeline_ends_a_long_wait_and_leaves_the_instance_running()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 60\n");
        using var ps = new PsSession();
        var started = ps.Run("$script:jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance; $script:jobs", new[] { folder.FullName }, ws.ConfigFile);
        var job = Assert.Single(started.Output);

        using var wait = PowerShell.Create();
        wait.Runspace = ps.Runspace;
        wait.AddScript("$script:jobs | Wait-FemagJob -PollInterval 600 -Timeout 900");
        var running = wait.BeginInvoke();
        for (var tries = 0; tries < 600 && wait.Streams.Progress.Count == 0 && !running.IsCompleted; tries++)
        {
            await Task.Delay(100);
        }

        Assert.False(running.IsCompleted, "Wait-FemagJob ended before its first poll");
        Assert.NotEmpty(wait.Streams.Progress);

        // Ctrl+C is PowerShell.Stop(); a 600 s poll interval ends only if the stop reaches the sleep.
        var stop = Task.Run(wait.Stop);
        Assert.Same(stop, await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(30))));
        Assert.Equal(PSInvocationState.Stopped, wait.InvocationStateInfo.State);
        Assert.Equal(Amazon.EC2.InstanceStateName.Running, await Cloud.InstanceStateAsync(job.InstanceId()));
    }
}

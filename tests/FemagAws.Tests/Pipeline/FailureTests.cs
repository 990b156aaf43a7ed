using Amazon.EC2;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Jobs that end badly: FEMAG's own failure, a dying instance, a timeout.</summary>
public sealed class FailureTests : CloudTest
{
    private const string Run = "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120";

    public FailureTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public void A_FEMAG_exit_code_other_than_0_fails_the_job_and_still_brings_results_back()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: exit 3\n");
        using var ps = new PsSession();

        var result = ps.Run(Run + " | Receive-FemagResult", new[] { folder.FullName }, ws.ConfigFile);

        Assert.Empty(result.Errors);
        var job = Assert.Single(result.Output);
        Assert.Equal("Failed", job.State());
        Assert.Equal(3, job.ExitCode());
        Assert.Contains("exited with code 3", job.Reason());
        Assert.Equal("3", File.ReadAllText(Path.Combine(folder.FullName, "exit_code")).Trim());
        Assert.True(File.Exists(Path.Combine(folder.FullName, "femag.log")));
    }

    [Fact]
    public async Task An_instance_that_dies_without_exit_code_is_a_failed_job_with_the_reason()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: halt\n");
        using var ps = new PsSession();

        var result = ps.Run(Run, new[] { folder.FullName }, ws.ConfigFile);

        Assert.Empty(result.Errors);
        var job = Assert.Single(result.Output);
        Assert.Equal("Failed", job.State());
        Assert.Null(job.ExitCode());
        Assert.Contains("without writing exit_code", job.Reason());
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(job.InstanceId()));
    }

    [Fact]
    public async Task A_timeout_emits_the_unfinished_job_as_timed_out_and_says_the_instance_still_runs()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 60\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -Timeout 3",
            new[] { folder.FullName }, ws.ConfigFile);

        Assert.Empty(result.Errors);
        var job = Assert.Single(result.Output);
        Assert.Equal("TimedOut", job.State());
        Assert.Contains(job.InstanceId()!, Assert.Single(result.Warnings, w => !w.Contains(Workspace.NeverEndsWarning, StringComparison.Ordinal)));
        Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(job.InstanceId()));
    }

    [Fact]
    public async Task A_job_whose_bucket_vanishes_fails_alone_and_the_others_finish()
    {
        using var ws = new Workspace(Cloud);
        var keep = ws.AddJob("0", "-- fake-femag: sleep 3\n");
        var lost = ws.AddJob("1", "-- fake-femag: sleep 30\n");
        using var ps = new PsSession();
        var started = ps.Run("$script:jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance; $script:jobs", new[] { keep.FullName, lost.FullName }, ws.ConfigFile);
        var lostBucket = started.Output.Single(j => j.Index() == 1).Bucket();
        using (var s3 = Cloud.S3())
        {
            await s3.DeleteObjectAsync(lostBucket, "1.tar.gz");
            await s3.DeleteBucketAsync(lostBucket);
        }

        var result = ps.Run("$script:jobs | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120");

        Assert.Empty(result.Errors);
        Assert.Equal("Succeeded", result.Output.Single(j => j.Index() == 0).State());
        var failed = result.Output.Single(j => j.Index() == 1);
        Assert.Equal("Failed", failed.State());
        Assert.Contains("NoSuchBucket", failed.Reason());
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(failed.InstanceId()));
    }

    [Fact]
    public async Task KeepInstance_leaves_the_finished_instance_running_and_says_so()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run(Run + " -KeepInstance", new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal("Succeeded", job.State());
        Assert.Contains(job.InstanceId()!, Assert.Single(result.Warnings, w => !w.Contains(Workspace.NeverEndsWarning, StringComparison.Ordinal)));
        Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(job.InstanceId()));
    }

    [Fact]
    public void Results_still_uploading_after_exit_code_are_not_cut_off()
    {
        // The seed script writes exit_code before its final 'aws s3 sync', which then uploads a 40 MiB result.
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: result-mb 40\n");
        using var ps = new PsSession();

        // Polling fast, so a waiter that trusted exit_code alone would terminate the instance mid-upload.
        var result = ps.Run(Run.Replace("-PollInterval 1", "-PollInterval 0.2") + " | Receive-FemagResult", new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal("Succeeded", job.State());
        Assert.Equal(40L * 1024 * 1024, new FileInfo(Path.Combine(folder.FullName, "result.bin")).Length);
    }
}

using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// Every launch accounted for, and nothing left billing: a launch whose answer was lost is adopted, a refused stop mark
/// does not keep instances running, jobs whose instances cannot be described are not reported finished, an instance
/// that cannot end by itself is warned about, and the image's volumes go with the instance.
/// </summary>
public sealed class LaunchTests : CloudTest
{
    private const string Upload = "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]";

    public LaunchTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task A_launch_whose_answer_was_lost_and_whose_retry_failed_adopts_the_instance_EC2_started()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 600\n");
        using var ps = new PsSession();

        // EC2 launches, its answer is lost; the SDK's retry (same token) meets a server error it does not retry.
        proxy.LoseAnswer("ec2:RunInstances", 1);
        proxy.Fail("ec2:RunInstances", 1, 501, "InternalError", "An internal error has occurred.");
        var started = ps.Run(Upload + " | Start-FemagInstance", new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(started.Errors.Count == 0 && started.Terminating == null, started.Describe() + "\n" + proxy.Describe());
        Assert.Equal(2, proxy.Count("ec2:RunInstances"));
        var job = Assert.Single(started.Output);
        var instance = Assert.Single(await Cloud.InstancesAsync(), i => i.Tags.Any(t => t.Key == "femag-aws:bucket" && t.Value == job.Bucket()));
        Assert.Equal(("Running", instance.InstanceId), (job.State(), job.InstanceId()));
    }

    [Fact]
    public async Task A_job_started_again_after_its_instance_ended_gets_a_new_instance_not_the_ended_one()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var first = ps.Run("$script:job = " + Upload + " | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120; $script:job",
            new[] { folder.FullName }, ws.ConfigFile);
        Assert.Equal("Succeeded", Assert.Single(first.Output).State());
        var ended = first.Output[0].InstanceId();

        // The same bucket, attempt 1 again: the first launch's token is spent, so EC2 is asked with the next one.
        var again = ps.Run("$script:job | Start-FemagInstance");

        Assert.True(again.Errors.Count == 0 && again.Terminating == null, again.Describe());
        var job = Assert.Single(again.Output);
        Assert.NotEqual(ended, job.InstanceId());
        Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(job.InstanceId()));
    }

    [Fact]
    public async Task A_job_started_again_while_an_earlier_instance_is_stopped_terminates_that_one_first()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 600\n");
        using var ps = new PsSession();
        var first = ps.Run("$script:job = " + Upload + " | Start-FemagInstance; $script:job", new[] { folder.FullName }, ws.ConfigFile);
        Assert.True(first.Errors.Count == 0 && first.Terminating == null, first.Describe());
        var stopped = Assert.Single(first.Output).InstanceId();

        // Someone stops it in the console: it keeps its volume, and could be started again.
        using var ec2 = Cloud.Ec2();
        await ec2.StopInstancesAsync(new StopInstancesRequest { InstanceIds = new List<string> { stopped! } });
        Assert.Equal(InstanceStateName.Stopped, await Cloud.InstanceStateAsync(stopped));

        var again = ps.Run("Get-FemagBucket -Name $script:job.BucketName -ConfigFile $args[0] | Start-FemagInstance", ws.ConfigFile);

        Assert.True(again.Errors.Count == 0 && again.Terminating == null, again.Describe());
        var job = Assert.Single(again.Output);
        Assert.NotEqual(stopped, job.InstanceId());
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(stopped));
        var tags = (await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = new List<string> { stopped! } })).Reservations[0].Instances[0].Tags;
        Assert.Contains(tags, t => t.Key == "femag-aws:stopped-by");
        await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = new List<string> { job.InstanceId()! } });
    }

    [Fact]
    public async Task A_stop_whose_mark_EC2_refuses_terminates_anyway_and_marks_each_instance_on_its_own()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = Enumerable.Range(0, 2).Select(i => ws.AddJob(i.ToString(), "-- fake-femag: sleep 600\n").FullName).ToArray();
        using var ps = new PsSession();
        var started = ps.Run("$script:jobs = " + Upload + " | Start-FemagInstance; $script:jobs", folders, ws.ConfigFile);
        Assert.True(started.Errors.Count == 0, started.Describe());

        // As for an id EC2 does not list yet: one CreateTags for the batch is refused.
        proxy.Fail("ec2:CreateTags", 1, 400, "InvalidInstanceID.NotFound", $"The instance ID '{started.Output[1].InstanceId()}' does not exist");
        var stopped = ps.Run("$script:jobs | Stop-FemagInstance");

        Assert.True(stopped.Errors.Count == 0 && stopped.Terminating == null, stopped.Describe() + "\n" + proxy.Describe());
        Assert.Equal(1, proxy.FaultCount("ec2:CreateTags"));
        using var ec2 = Cloud.Ec2();
        var ids = started.Output.Select(j => j.InstanceId()!).ToList();
        var instances = (await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = ids })).Reservations.SelectMany(r => r.Instances).ToList();
        Assert.Equal(2, instances.Count);
        Assert.All(instances, i => Assert.Equal(InstanceStateName.Terminated, i.State.Name));
        Assert.All(instances, i => Assert.Contains(i.Tags, t => t.Key == "femag-aws:stopped-by" && t.Value == "module"));
    }

    [Fact]
    public async Task Jobs_whose_instances_cannot_be_described_are_given_up_as_TimedOut_not_as_finished()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 600\n");
        using var ps = new PsSession();
        var started = ps.Run(Upload + " | Start-FemagInstance", new[] { folder.FullName }, ws.ConfigFile);
        var instanceId = Assert.Single(started.Output).InstanceId();

        proxy.Fail("ec2:DescribeInstances", null, 403, "UnauthorizedOperation", "You are not authorized to perform this operation.");
        var waited = ps.Run("$args[0] | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120", started.Output[0]);

        var job = Assert.Single(waited.Output);
        Assert.Equal("TimedOut", job.State());
        Assert.Contains(instanceId!, job.Reason());
        Assert.Contains(waited.Warnings, w => w.Contains(instanceId!, StringComparison.Ordinal) && w.Contains("billing", StringComparison.Ordinal));
        Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(instanceId));
    }

    [Fact]
    public void An_instance_that_cannot_end_by_itself_is_warned_about_once_per_call_naming_max_runtime()
    {
        using var seed = new Workspace(Cloud);
        using var watchdog = new Workspace(Cloud, extraConfig: "max_runtime = 240\n");
        using var recommended = new Workspace(Cloud);
        File.Copy(Path.Combine(Repo.Root, "examples", "cloud_init_recommended.txt"), Path.Combine(recommended.Root, "cloud_init.txt"), overwrite: true);
        using var ps = new PsSession();
        string[] NeverEnds(Workspace ws)
        {
            var folders = Enumerable.Range(0, 2).Select(i => ws.AddJob(i.ToString(), "-- job\n").FullName).ToArray();
            var result = ps.Run(Upload + " | Start-FemagInstance -WhatIf", folders, ws.ConfigFile);
            Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
            return result.Warnings.Where(w => w.Contains(Workspace.NeverEndsWarning, StringComparison.Ordinal)).ToArray();
        }

        // The seed's script runs FEMAG and syncs, and never shuts down: two jobs, one warning.
        var warning = Assert.Single(NeverEnds(seed));
        Assert.Contains("max_runtime", warning);
        Assert.Contains("bills", warning);
        Assert.Empty(NeverEnds(watchdog));
        Assert.Empty(NeverEnds(recommended));
    }

    [Fact]
    public async Task A_finished_job_leaves_no_volume_behind_although_its_image_keeps_the_root_volume()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 600\n");
        using var ps = new PsSession();

        var stopped = ps.Run(Upload + " | Start-FemagInstance | Stop-FemagInstance -PassThru", new[] { folder.FullName }, ws.ConfigFile);

        var job = Assert.Single(stopped.Output);
        Assert.True(stopped.Errors.Count == 0, stopped.Describe());
        using var ec2 = Cloud.Ec2();
        var image = Assert.Single((await ec2.DescribeImagesAsync(new DescribeImagesRequest { ImageIds = new List<string> { "ami-6d4ceb03" } })).Images);
        Assert.Contains(image.BlockDeviceMappings, m => m.Ebs?.DeleteOnTermination == false);
        var volumes = (await ec2.DescribeVolumesAsync(new DescribeVolumesRequest
        {
            Filters = new List<Filter> { new("tag:femag-aws:bucket", new List<string> { job.Bucket() }) },
        })).Volumes ?? new List<Volume>();
        Assert.Empty(volumes);
    }
}

using System.Management.Automation;
using Amazon.EC2;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Stop-FemagInstance: terminates the module's instances, in batches, and nothing else.</summary>
public sealed class StopInstanceTests : CloudTest
{
    private const string Start = "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance";

    public StopInstanceTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Piped_jobs_instances_are_terminated_in_one_batch_and_the_jobs_become_failed()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud);
        File.WriteAllText(ws.ConfigFile, File.ReadAllText(ws.ConfigFile).Replace(Cloud.Endpoint, proxy.Endpoint));
        var folders = Enumerable.Range(0, 3).Select(i => ws.AddJob(i.ToString(), "-- fake-femag: sleep 600\n").FullName).ToArray();
        using var ps = new PsSession();
        var started = ps.Run("$script:jobs = " + Start + "; $script:jobs", folders, ws.ConfigFile);
        Assert.True(started.Errors.Count == 0, started.Describe());
        proxy.Reset();

        var stopped = ps.Run("$script:jobs | Stop-FemagInstance; $script:jobs");

        Assert.True(stopped.Errors.Count == 0 && stopped.Terminating == null, stopped.Describe());
        Assert.Equal(3, stopped.Output.Count);
        foreach (var job in stopped.Output)
        {
            Assert.Equal("Failed", job.State());
            Assert.Contains("Stopped by Stop-FemagInstance", job.Reason());
            Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(job.InstanceId()));
        }

        Assert.Equal(1, proxy.Count("ec2:DescribeInstances"));
        Assert.Equal(1, proxy.Count("ec2:TerminateInstances"));
    }

    [Fact]
    public async Task A_job_whose_InstanceId_names_another_jobs_instance_is_refused_and_that_instance_keeps_running()
    {
        using var ws = new Workspace(Cloud);
        var folders = new[] { ws.AddJob("0", "-- fake-femag: sleep 600\n").FullName, ws.AddJob("1", "-- fake-femag: sleep 600\n").FullName };
        using var ps = new PsSession();
        var jobs = ps.Run("$script:jobs = " + Start + "; $script:jobs", folders, ws.ConfigFile).Output;
        Assert.Equal(2, jobs.Count);
        var other = jobs[1].InstanceId();

        var stopped = ps.Run("$script:jobs[0].InstanceId = $args[0]; $script:jobs[0] | Stop-FemagInstance", other);

        var error = Assert.Single(stopped.Errors);
        Assert.StartsWith("FemagInstanceOfOtherJob,", error.FullyQualifiedErrorId);
        Assert.Contains(jobs[1].Bucket(), error.Exception.Message);
        Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(other));
    }

    [Fact]
    public async Task InstanceId_is_taken_as_a_parameter_and_by_property_name()
    {
        using var ws = new Workspace(Cloud);
        var folders = new[] { ws.AddJob("0", "-- fake-femag: sleep 600\n").FullName, ws.AddJob("1", "-- fake-femag: sleep 600\n").FullName };
        using var ps = new PsSession();
        var jobs = ps.Run(Start, folders, ws.ConfigFile).Output;
        Assert.Equal(2, jobs.Count);

        var byParameter = ps.Run("Stop-FemagInstance -InstanceId $args[0] -Region eu-central-1 -EndpointUrl $args[1]", jobs[0].InstanceId(), Cloud.Endpoint);
        var byProperty = ps.Run("[pscustomobject]@{ InstanceId = $args[0] } | Stop-FemagInstance -EndpointUrl $args[1]", jobs[1].InstanceId(), Cloud.Endpoint);

        Assert.True(byParameter.Errors.Count == 0 && byParameter.Terminating == null, byParameter.Describe());
        Assert.True(byProperty.Errors.Count == 0 && byProperty.Terminating == null, byProperty.Describe());
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(jobs[0].InstanceId()));
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(jobs[1].InstanceId()));
    }

    [Fact]
    public async Task An_instance_named_by_id_gives_its_job_with_PassThru_and_Get_FemagJob_then_shows_it_stopped()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 600\n").FullName;
        using var ps = new PsSession();
        var job = Assert.Single(ps.Run(Start, new[] { folder }, ws.ConfigFile).Output);

        var stopped = ps.Run("Stop-FemagInstance -InstanceId $args[0] -Region eu-central-1 -EndpointUrl $args[1] -PassThru -Confirm:$false", job.InstanceId(), Cloud.Endpoint);

        Assert.True(stopped.Errors.Count == 0 && stopped.Terminating == null, stopped.Describe());
        var passed = Assert.Single(stopped.Output);
        Assert.Equal((job.Bucket(), job.Index(), job.InstanceId(), "Failed"), (passed.Bucket(), passed.Index(), passed.InstanceId(), passed.State()));
        Assert.Contains("Stopped by Stop-FemagInstance", passed.Reason());
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(job.InstanceId()));

        using var fresh = new PsSession();
        var found = Assert.Single(fresh.Run("Get-FemagJob -ConfigFile $args[0]", ws.ConfigFile).Output, j => j.Bucket() == job.Bucket());
        Assert.Equal("Failed", found.State());
        Assert.Contains("Stopped by Stop-FemagInstance", found.Reason());
        Assert.NotNull(found.Properties["FinishTime"].Value);
    }

    [Fact]
    public async Task A_job_saved_as_Clixml_is_stopped_in_its_own_region_and_endpoint()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 600\n");
        string xml, instance;
        using (var starter = new PsSession())
        {
            var started = starter.Run("$jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance; $jobs.InstanceId; [System.Management.Automation.PSSerializer]::Serialize($jobs)",
                new[] { folder.FullName }, ws.ConfigFile);
            Assert.True(started.Errors.Count == 0, started.Describe());
            instance = (string)started.Output[0].BaseObject;
            xml = (string)started.Output[1].BaseObject;
        }

        // No -EndpointUrl: only the deserialized job knows where its instance is.
        using var ps = new PsSession();
        var result = ps.Run("[System.Management.Automation.PSSerializer]::Deserialize($args[0]) | Stop-FemagInstance -PassThru", xml);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        Assert.Equal("Failed", Assert.Single(result.Output).State());
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(instance));
    }

    [Fact]
    public async Task WhatIf_terminates_nothing_and_a_job_without_an_instance_is_only_noted()
    {
        using var ws = new Workspace(Cloud);
        var running = ws.AddJob("0", "-- fake-femag: sleep 600\n");
        var uploaded = ws.AddJob("1", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(ps.Run(Start, new[] { running.FullName }, ws.ConfigFile).Output);
        var notStarted = Assert.Single(NewBuckets(ps, ws, uploaded));

        var whatIf = ps.Run("$args[0] | Stop-FemagInstance -WhatIf -PassThru", job);
        var noInstance = ps.Run("$args[0] | Stop-FemagInstance -PassThru -Verbose", notStarted);

        Assert.True(whatIf.Errors.Count == 0 && whatIf.Terminating == null, whatIf.Describe());
        Assert.Empty(whatIf.Output);
        Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(job.InstanceId()));
        Assert.Contains(noInstance.Verbose, v => v.Contains("has no instance"));
        Assert.Equal("Uploaded", Assert.Single(noInstance.Output).State());
    }

    [Fact]
    public async Task An_instance_the_module_did_not_launch_is_refused_and_keeps_running()
    {
        var foreign = await Cloud.LaunchAsync(new Amazon.EC2.Model.Tag("Name", "someone-elses"));
        using var ps = new PsSession();

        var result = ps.Run("Stop-FemagInstance -InstanceId $args[0] -Region eu-central-1 -EndpointUrl $args[1] -Confirm:$false", foreign, Cloud.Endpoint);

        var error = Assert.Single(result.Errors);
        Assert.Equal("FemagInstanceNotModule,FemagAws.Commands.StopFemagInstanceCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.PermissionDenied, error.CategoryInfo.Category);
        Assert.Contains(foreign, error.Exception.Message);
        Assert.Contains("femag-aws:bucket", error.Exception.Message);
        Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(foreign));

        // The aws command the error names ends it as printed: it names the region and the endpoint.
        var message = error.Exception.Message;
        var command = message.Substring(message.IndexOf("'aws ", StringComparison.Ordinal) + 1);
        command = command.Substring(0, command.IndexOf('\''));
        var run = ScriptProcess.Run(command + "; exit $LASTEXITCODE");
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.NotEqual(InstanceStateName.Running, await Cloud.InstanceStateAsync(foreign));
    }
}

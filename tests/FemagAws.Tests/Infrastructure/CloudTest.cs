using System.Management.Automation;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// Base of the test classes that run pipelines against their class's local cloud. After each test, whatever
/// instance it left running is terminated, so the next test starts with an idle cloud.
/// </summary>
public abstract class CloudTest : IClassFixture<LocalCloudFixture>, IAsyncLifetime
{
    /// <summary>The pipeline up to finished jobs, with test-sized waits; <c>$args[0]</c> = folders, <c>$args[1]</c> = config file.</summary>
    protected const string UntilFinished =
        "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | " +
        "Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120";

    /// <summary>The whole pipeline with test-sized waits; <c>$args[0]</c> = folders, <c>$args[1]</c> = config file.</summary>
    protected const string WholePipeline = UntilFinished + " | Receive-FemagResult";

    protected CloudTest(LocalCloudFixture fixture) => Cloud = fixture.Cloud;

    protected LocalCloud Cloud { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Cloud.TerminateAllAsync();

    /// <summary>New-FemagBucket for some folders of a workspace; asserts it worked and returns the jobs.</summary>
    protected static List<PSObject> NewBuckets(PsSession ps, Workspace ws, params DirectoryInfo[] folders)
    {
        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", folders.Select(f => f.FullName).ToArray(), ws.ConfigFile);
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        return result.Output.ToList();
    }

    /// <summary>Runs a workspace's folders until their jobs finished, results not yet received; asserts it worked.</summary>
    protected static List<PSObject> FinishJobs(PsSession ps, Workspace ws, params DirectoryInfo[] folders)
    {
        var result = ps.Run(UntilFinished, folders.Select(f => f.FullName).ToArray(), ws.ConfigFile);
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        return result.Output.ToList();
    }
}

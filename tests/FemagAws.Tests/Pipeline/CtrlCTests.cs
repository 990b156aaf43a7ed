using System.Diagnostics;
using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// Ctrl+C in a real interactive pwsh, in a terminal, during the whole pipeline: the user reads one account of the
/// stop, which names each instance once with what runs on, what is only uploaded, and one command each to go on or to
/// clean up; the cloud agrees with it; and the clean-up command, typed as printed, leaves nothing of the run behind.
/// </summary>
public sealed class CtrlCTests : CloudTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly ITestOutputHelper _output;

    public CtrlCTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture)
    {
        _output = output;
    }

    [Fact]
    public async Task Ctrl_C_while_waiting_prints_one_account_and_leaves_the_instances_running()
    {
        using var ws = new Workspace(Cloud);
        ws.AddJob("0", "-- fake-femag: sleep 600\n");
        ws.AddJob("1", "-- fake-femag: sleep 600\n");
        var before = await Cloud.BucketNamesAsync();
        using var pwsh = new Terminal(AwsEnvironment());

        pwsh.Type(Pipeline(ws, string.Empty));
        var instances = await LiveAsync(before, pwsh, live => live.Count == 2 && live.All(i => i.State.Name == InstanceStateName.Running) && pwsh.Screen().Contains("Waiting for FEMAG jobs"));
        pwsh.PressCtrlC();
        var printed = await pwsh.WaitForPromptAsync(Patience);
        _output.WriteLine(printed);

        var account = StopAccount.Single(printed);
        Assert.Contains("Running and billing, 2 instance(s)", account.Text);
        Assert.All(instances, i => Assert.Equal(1, account.Mentions(i.InstanceId)));

        // Both buckets have their instance, so none is told to be started again.
        Assert.DoesNotContain("Uploaded, no instance", account.Text);
        Assert.DoesNotContain("Start-FemagInstance", account.Text);
        var goOn = Assert.Single(account.GoOn);
        Assert.Equal(goOn, account.GoOnWith("Wait-FemagJob | Receive-FemagResult"));
        Assert.All(instances, i => Assert.Contains($"'{BucketOf(i)}'", goOn));
        Assert.Contains("| Stop-FemagInstance -PassThru | Remove-FemagBucket -Force", account.CleanUp);

        // Without -StopOnCancel the instances run on, as the account says.
        foreach (var instance in instances)
        {
            Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(instance.InstanceId));
        }

        await CleanUpAsPrintedAsync(pwsh, account, before);
    }

    [Fact]
    public async Task Ctrl_C_while_uploading_and_launching_prints_one_account_of_everything_left()
    {
        using var ws = new Workspace(Cloud);
        var random = new Random(11);
        for (var i = 0; i < 6; i++)
        {
            var folder = ws.AddJob(i.ToString(), "-- fake-femag: sleep 600\n");
            var model = new byte[24 << 20];
            random.NextBytes(model);
            File.WriteAllBytes(Path.Combine(folder.FullName, "model.nc"), model);
        }

        var before = await Cloud.BucketNamesAsync();
        using var pwsh = new Terminal(AwsEnvironment());

        // Two uploads at a time: when the first instance is launched, later folders are still on their way or not begun.
        pwsh.Type(Pipeline(ws, "-ThrottleLimit 2"));
        await LiveAsync(before, pwsh, live => live.Count > 0);
        pwsh.PressCtrlC();
        var printed = await pwsh.WaitForPromptAsync(Patience);
        _output.WriteLine(printed);

        var account = StopAccount.Single(printed);
        var buckets = (await Cloud.BucketNamesAsync()).Except(before).ToList();
        Assert.True(buckets.Count < 6 || account.Text.Contains("Upload cut off"), "The stop came after every upload");

        // Each instance of the run is named once: as running, or, when its launch was cut off before its job was
        // passed on, as terminated. A bucket whose instance runs is not told to be started.
        var instances = (await Cloud.InstancesAsync()).Where(i => i.Tags.Any(t => t.Key == "femag-aws:bucket" && buckets.Contains(t.Value))).ToList();
        Assert.NotEmpty(instances);
        var running = account.Lines.SingleOrDefault(l => l.StartsWith("  Running and billing", StringComparison.Ordinal)) ?? string.Empty;
        var terminated = account.Lines.SingleOrDefault(l => l.StartsWith("  Terminated by the stop", StringComparison.Ordinal)) ?? string.Empty;
        var uploaded = account.Lines.SingleOrDefault(l => l.StartsWith("  Uploaded, no instance", StringComparison.Ordinal)) ?? string.Empty;
        Assert.All(instances, i =>
        {
            Assert.Equal(1, account.Mentions(i.InstanceId));
            if (i.State.Name == InstanceStateName.Terminated)
            {
                Assert.Contains(i.InstanceId, terminated);
            }
            else
            {
                Assert.Contains(i.InstanceId, running);
                Assert.DoesNotContain(BucketOf(i), uploaded);
            }
        });

        // Every bucket the run left is in the account, and the clean-up command covers it.
        Assert.All(buckets, b => Assert.Contains($"'{b}'", account.CleanUp));

        await CleanUpAsPrintedAsync(pwsh, account, before);
    }

    private static Dictionary<string, string> AwsEnvironment() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = "testing",
        ["AWS_SECRET_ACCESS_KEY"] = "testing",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    private string Pipeline(Workspace ws, string uploadOptions) =>
        $"Get-ChildItem '{Path.Combine(ws.Root, "parvar")}' | New-FemagBucket -ConfigFile '{ws.ConfigFile}' -EndpointUrl '{Cloud.Endpoint}' {uploadOptions} | Start-FemagInstance | Wait-FemagJob";

    private static string BucketOf(Instance instance) => instance.Tags.Single(t => t.Key == "femag-aws:bucket").Value;

    /// <summary>The instances, not terminated, of the buckets made since <paramref name="before"/>.</summary>
    private async Task<List<Instance>> LiveAsync(List<string> before)
    {
        var buckets = (await Cloud.BucketNamesAsync()).Except(before).ToHashSet();
        return (await Cloud.InstancesAsync())
            .Where(i => i.State.Name != InstanceStateName.Terminated && i.Tags.Any(t => t.Key == "femag-aws:bucket" && buckets.Contains(t.Value)))
            .ToList();
    }

    /// <summary>Polls the cloud until the run's live instances satisfy <paramref name="ready"/>.</summary>
    private async Task<List<Instance>> LiveAsync(List<string> before, Terminal pwsh, Func<List<Instance>, bool> ready)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var live = await LiveAsync(before);
            if (ready(live))
            {
                return live;
            }

            if (clock.Elapsed > Patience)
            {
                throw new TimeoutException($"The pipeline did not get there within {Patience.TotalSeconds} s:\n{pwsh.Screen()}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Types the account's clean-up command as printed: it ends quietly, and nothing of the run is left.</summary>
    private async Task CleanUpAsPrintedAsync(Terminal pwsh, StopAccount account, List<string> before)
    {
        Assert.NotNull(account.CleanUp);
        var live = await LiveAsync(before);
        var printed = await pwsh.RunAsync(account.CleanUp!, Patience);
        Assert.True(printed.Trim().Length == 0, "The clean-up command printed:\n" + printed);
        Assert.Empty((await Cloud.BucketNamesAsync()).Except(before));
        foreach (var instance in live)
        {
            Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(instance.InstanceId));
        }
    }
}

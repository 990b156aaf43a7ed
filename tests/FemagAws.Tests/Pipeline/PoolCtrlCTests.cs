using System.Diagnostics;
using System.Text.RegularExpressions;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// Ctrl+C in a real interactive pwsh (as <see cref="CtrlCTests"/>) on a pipeline of pool jobs: the one account tells
/// the pool, its queue, its instances running and billing (or that none were launched yet) and its jobs; the cloud
/// agrees; and the clean-up command, typed as printed, leaves no instance, no queue and no bucket of the run.
/// </summary>
public sealed class PoolCtrlCTests : CloudTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly ITestOutputHelper _output;

    public PoolCtrlCTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture)
    {
        _output = output;
    }

    [Fact]
    public async Task Ctrl_C_while_waiting_for_a_pool_tells_its_queue_its_instances_and_its_jobs()
    {
        using var ws = PoolWorkspace(3, "pool_size = 2\n");
        var before = await Cloud.BucketNamesAsync();
        var known = await PoolInstanceIdsAsync();
        using var pwsh = new Terminal(AwsEnvironment());

        pwsh.Type(Pipeline(ws, "Wait-FemagJob -PollInterval 1"));
        var instances = await UntilAsync(pwsh, async () =>
        {
            var live = (await PoolInstancesAsync()).Where(i => !known.Contains(i.InstanceId) && i.State.Name == InstanceStateName.Running).ToList();
            return live.Count == 2 && pwsh.Screen().Contains("Waiting for FEMAG jobs") ? live : null;
        });
        pwsh.PressCtrlC();
        var printed = await pwsh.WaitForPromptAsync(Patience);
        _output.WriteLine(printed);

        var account = StopAccount.Single(printed);
        var poolId = PoolOf(instances[0]);
        var pool = Assert.Single(account.Lines, l => l.StartsWith("  Pool ", StringComparison.Ordinal));
        Assert.StartsWith($"  Pool {poolId}, queue femag-aws-pool-{poolId}: 2 instance(s) running and billing: ", pool);
        Assert.All(instances, i => Assert.Equal(1, account.Mentions(i.InstanceId)));
        var buckets = (await Cloud.BucketNamesAsync()).Except(before).ToList();
        Assert.Equal(3, buckets.Count);
        Assert.Contains("; 3 job(s) in it: ", pool);
        Assert.All(buckets, b => Assert.Contains(b, pool));

        // The pool's jobs are waited for again, not started again (they are in its queue).
        Assert.DoesNotContain("Start-FemagInstance", account.Text);
        var goOn = Assert.Single(account.GoOn);
        Assert.Equal(goOn, account.GoOnWith("Wait-FemagJob | Receive-FemagResult"));
        Assert.All(buckets, b => Assert.Contains($"'{b}'", goOn));
        Assert.Contains("| Stop-FemagInstance -PassThru | Remove-FemagBucket -Force", account.CleanUp);

        // As the account says: the queue is there and the instances run on.
        Assert.Contains(await QueueNamesAsync(), q => q == $"femag-aws-pool-{poolId}");
        foreach (var instance in instances)
        {
            Assert.Equal(InstanceStateName.Running, await Cloud.InstanceStateAsync(instance.InstanceId));
        }

        await CleanUpAsPrintedAsync(pwsh, account, before, poolId);
    }

    [Fact]
    public async Task Ctrl_C_before_Start_FemagInstance_launched_the_pool_says_none_was_launched_yet()
    {
        // The command after Start-FemagInstance holds the first job, so Start-FemagInstance never gets past it to
        // launching the pool after its last job.
        using var ws = PoolWorkspace(1, "pool_size = 2\n");
        var before = await Cloud.BucketNamesAsync();
        var queues = await QueueNamesAsync();
        var known = await PoolInstanceIdsAsync();
        using var pwsh = new Terminal(AwsEnvironment());

        pwsh.Type(Pipeline(ws, "ForEach-Object { 'HELD ' + $_.PoolId; Start-Sleep 600 }"));
        await UntilAsync(pwsh, () => Task.FromResult(pwsh.Screen().Contains("HELD p") ? "held" : null));
        pwsh.PressCtrlC();
        var printed = await pwsh.WaitForPromptAsync(Patience);
        _output.WriteLine(printed);

        var account = StopAccount.Single(printed);
        var poolId = Regex.Match(printed, @"HELD (p\d{14}-[0-9a-f]{8})").Groups[1].Value;
        Assert.NotEmpty(poolId);
        var bucket = Assert.Single((await Cloud.BucketNamesAsync()).Except(before));
        var pool = Assert.Single(account.Lines, l => l.StartsWith("  Pool ", StringComparison.Ordinal));
        Assert.Equal($"  Pool {poolId}, queue femag-aws-pool-{poolId}: no instance launched yet (Wait-FemagJob launches them); 1 job(s) in it: {bucket} (job 0)", pool);
        Assert.Empty((await PoolInstanceIdsAsync()).Except(known));
        Assert.Contains($"femag-aws-pool-{poolId}", (await QueueNamesAsync()).Except(queues));
        Assert.Contains($"'{bucket}' | Wait-FemagJob | Receive-FemagResult", Assert.Single(account.GoOn));

        await CleanUpAsPrintedAsync(pwsh, account, before, poolId);
    }

    [Fact]
    public async Task Ctrl_C_with_StopOnCancel_withdraws_the_pool_jobs_and_removes_the_pool()
    {
        using var ws = PoolWorkspace(2, "pool_size = 1\nslots_per_instance = 2\n");
        var before = await Cloud.BucketNamesAsync();
        var known = await PoolInstanceIdsAsync();
        using var pwsh = new Terminal(AwsEnvironment());

        pwsh.Type(Pipeline(ws, "Wait-FemagJob -PollInterval 1 -StopOnCancel"));
        var instance = await UntilAsync(pwsh, async () =>
        {
            var live = (await PoolInstancesAsync()).Where(i => !known.Contains(i.InstanceId) && i.State.Name == InstanceStateName.Running).ToList();
            return live.Count == 1 && pwsh.Screen().Contains("Waiting for FEMAG jobs") ? live[0] : null;
        });
        pwsh.PressCtrlC();
        var printed = await pwsh.WaitForPromptAsync(Patience);
        _output.WriteLine(printed);

        var account = StopAccount.Single(printed);
        var poolId = PoolOf(instance);
        var buckets = (await Cloud.BucketNamesAsync()).Except(before).ToList();
        Assert.Contains($"  Pool {poolId} removed: queue femag-aws-pool-{poolId} deleted, no instance of it running", account.Lines);
        var uploaded = Assert.Single(account.Lines, l => l.StartsWith("  Uploaded, no instance, 2 bucket(s): ", StringComparison.Ordinal));
        Assert.All(buckets, b => Assert.Contains(b, uploaded));
        Assert.DoesNotContain("Stop-FemagInstance", account.CleanUp);
        Assert.Equal(InstanceStateName.Terminated, await Cloud.InstanceStateAsync(instance.InstanceId));
        Assert.DoesNotContain($"femag-aws-pool-{poolId}", await QueueNamesAsync());

        await CleanUpAsPrintedAsync(pwsh, account, before, poolId);
    }

    private Workspace PoolWorkspace(int jobs, string pool)
    {
        var ws = new Workspace(Cloud, pool);
        for (var i = 0; i < jobs; i++)
        {
            ws.AddJob(i.ToString(), "-- fake-femag: sleep 600\n");
        }

        return ws;
    }

    private static Dictionary<string, string> AwsEnvironment() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = "testing",
        ["AWS_SECRET_ACCESS_KEY"] = "testing",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    private string Pipeline(Workspace ws, string then) =>
        $"Get-ChildItem '{Path.Combine(ws.Root, "parvar")}' | New-FemagBucket -ConfigFile '{ws.ConfigFile}' -EndpointUrl '{Cloud.Endpoint}' | Start-FemagInstance | {then}";

    private static string PoolOf(Instance instance) => instance.Tags.Single(t => t.Key == "femag-aws:pool").Value;

    private async Task<List<Instance>> PoolInstancesAsync() =>
        (await Cloud.InstancesAsync()).Where(i => i.Tags.Any(t => t.Key == "femag-aws:pool")).ToList();

    private async Task<HashSet<string>> PoolInstanceIdsAsync() => (await PoolInstancesAsync()).Select(i => i.InstanceId).ToHashSet();

    /// <summary>The names of the queues in eu-central-1, as ListQueues gives them.</summary>
    private async Task<List<string>> QueueNamesAsync()
    {
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("testing", "testing"), new AmazonSQSConfig { ServiceURL = Cloud.Endpoint, AuthenticationRegion = "eu-central-1" });
        var urls = (await sqs.ListQueuesAsync(new ListQueuesRequest())).QueueUrls ?? new List<string>();
        return urls.Select(u => u.Substring(u.LastIndexOf('/') + 1)).ToList();
    }

    /// <summary>Polls until <paramref name="ready"/> gives a value.</summary>
    private static async Task<T> UntilAsync<T>(Terminal pwsh, Func<Task<T?>> ready)
        where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await ready() is T value)
            {
                return value;
            }

            if (clock.Elapsed > Patience)
            {
                throw new TimeoutException($"The pipeline did not get there within {Patience.TotalSeconds} s:\n{pwsh.Screen()}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Types the account's clean-up command as printed: it ends quietly, and no bucket, instance or queue of the run is left.</summary>
    private async Task CleanUpAsPrintedAsync(Terminal pwsh, StopAccount account, List<string> before, string poolId)
    {
        Assert.NotNull(account.CleanUp);
        var printed = await pwsh.RunAsync(account.CleanUp!, Patience);
        Assert.True(printed.Trim().Length == 0, "The clean-up command printed:\n" + printed);
        Assert.Empty((await Cloud.BucketNamesAsync()).Except(before));
        Assert.DoesNotContain(await PoolInstancesAsync(), i => PoolOf(i) == poolId && i.State.Name != InstanceStateName.Terminated);
        Assert.DoesNotContain(await QueueNamesAsync(), q => q.StartsWith($"femag-aws-pool-{poolId}", StringComparison.Ordinal));
    }
}

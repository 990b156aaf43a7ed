using Amazon.EC2.Model;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// The IAM policies shipped in examples/ allow what the module and the recommended cloud-init script really send: each
/// request recorded by a proxy is turned into the authorizations AWS makes (<see cref="IamRequests"/>) and judged
/// against the policy (<see cref="IamPolicy"/>).
/// </summary>
public sealed class PolicyTests : CloudTest
{
    private const string Wait = "Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 240";
    private const string Start = "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance";

    private static readonly Dictionary<string, string> Placeholders = new()
    {
        ["<ACCOUNT-ID>"] = IamRequests.Account,
        ["<INSTANCE-ROLE>"] = LocalCloud.InstanceProfile,
    };

    private readonly ITestOutputHelper _output;

    public PolicyTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture)
    {
        _output = output;
    }

    private static string ClientPolicyFile => Path.Combine(Repo.Root, "examples", "iam_policy_client.json");

    private static string InstancePolicyFile => Path.Combine(Repo.Root, "examples", "iam_policy_instance.json");

    [Fact]
    public async Task Every_request_of_a_pipeline_a_resume_a_Spot_relaunch_and_clean_up_is_allowed_by_the_shipped_policies()
    {
        await using var client = new AwsProxy(Cloud.Endpoint);
        await using var instances = new AwsProxy(Cloud.Endpoint);

        // {{ENV}} exports every config key, so this one becomes the instances' AWS_ENDPOINT_URL, which their aws CLI
        // honours: what the recommended script sends passes the second proxy.
        using var ws = new Workspace(Cloud, extraConfig: $"aws_endpoint_url = {instances.Endpoint}\n", endpointUrl: client.Endpoint);
        File.Copy(Path.Combine(Repo.Root, "examples", "cloud_init_recommended.txt"), Path.Combine(ws.Root, "cloud_init.txt"), overwrite: true);

        // Above both sides' multipart thresholds (the module's 8 MiB parts, the CLI's 8 MB): the archive and the result go up in parts.
        var large = ws.AddJob("0", "-- fake-femag: result-mb 9\n");
        var bytes = new byte[9 << 20];
        new Random(19).NextBytes(bytes);
        File.WriteAllBytes(Path.Combine(large.FullName, "input.bin"), bytes);
        var resumed = ws.AddJob("1", "-- job\n");
        var spot = ws.AddJob("2", "-- fake-femag: sleep 5\n");
        var stopped = ws.AddJob("3", "-- fake-femag: sleep 120\n");

        using (var ps = new PsSession())
        {
            // The whole pipeline; delete_buckets = 1 empties and deletes the bucket after the results are in.
            var pipeline = ps.Run(Start + " | " + Wait + " | Receive-FemagResult", new[] { large.FullName }, ws.ConfigFile);
            Assert.True(pipeline.Errors.Count == 0 && pipeline.Terminating == null, pipeline.Describe() + Cloud.RunnerLog);
            Assert.Equal("Succeeded", Assert.Single(pipeline.Output).State());

            // Started here, waited for and received from a new session below.
            Assert.Empty(ps.Run(Start, new[] { resumed.FullName }, ws.ConfigFile).Errors);
            var spotJob = Assert.Single(ps.Run(Start + " -Spot", new[] { spot.FullName }, ws.ConfigFile).Output);

            // A Spot interruption while FEMAG runs, as SpotTests plays it: EC2 ends the instance from outside.
            await WhileFemagRunsAsync(spotJob.InstanceId()!);
            using var ec2 = Cloud.Ec2();
            await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = new List<string> { spotJob.InstanceId()! } });
        }

        using (var ps = new PsSession())
        {
            // Each job's log, the lost Spot instance's console output among them.
            var logs = ps.Run("Get-FemagJob -ConfigFile $args[0] | Get-FemagJobLog -Tail 1", ws.ConfigFile);
            Assert.True(logs.Errors.Count == 0 && logs.Terminating == null, logs.Describe());

            // The documented resume: the Spot job is relaunched on its way.
            var resume = ps.Run("Get-FemagJob -ConfigFile $args[0] | " + Wait + " | Receive-FemagResult", ws.ConfigFile);
            Assert.True(resume.Errors.Count == 0 && resume.Terminating == null, resume.Describe() + Cloud.RunnerLog);
            Assert.Equal(new[] { ("Succeeded", 1), ("Succeeded", 2) }, resume.Output.Select(j => (j.State(), (int)j.Properties["Attempt"].Value)).OrderBy(j => j.Item2));

            // Clean-up of a job that still runs.
            var jobs = ps.Run("$script:jobs = " + Start + "; $script:jobs", new[] { stopped.FullName }, ws.ConfigFile);
            Assert.True(jobs.Errors.Count == 0, jobs.Describe());
            var cleanUp = ps.Run("$script:jobs | Stop-FemagInstance; $script:jobs | Remove-FemagBucket -Confirm:$false; Get-FemagBucket -ConfigFile $args[0]", ws.ConfigFile);
            Assert.True(cleanUp.Errors.Count == 0 && cleanUp.Terminating == null, cleanUp.Describe());
            Assert.Empty(cleanUp.Output);
        }

        var tags = (await Cloud.InstancesAsync()).ToDictionary(i => i.InstanceId, i => (IReadOnlyDictionary<string, string>)(i.Tags ?? new()).ToDictionary(t => t.Key, t => t.Value));
        var requests = new IamRequests(id => tags.GetValueOrDefault(id), profile => profile);
        _output.WriteLine("client:\n" + client.Describe() + "\ninstances:\n" + instances.Describe());

        var clientChecks = client.Requests.SelectMany(requests.ChecksOf).ToList();
        AssertAllowed(IamPolicy.Load(ClientPolicyFile, Placeholders), clientChecks, "client");
        Assert.Empty(new[]
        {
            "s3:CreateBucket", "s3:PutBucketOwnershipControls", "s3:PutBucketTagging", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration",
            "s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject", "s3:GetObject",
            "s3:DeleteObject", "s3:DeleteBucket", "ec2:RunInstances", "ec2:CreateTags", "ec2:DescribeInstances", "ec2:TerminateInstances", "ec2:GetConsoleOutput", "iam:PassRole",
        }.Except(clientChecks.Select(c => c.Action)));
        Assert.Contains(clientChecks, c => c.Resource.EndsWith(":spot-instances-request/*", StringComparison.Ordinal));
        Assert.True(client.Count("s3:UploadPart") > 1, client.Describe());

        var instanceChecks = instances.Requests.SelectMany(requests.ChecksOf).ToList();
        AssertAllowed(IamPolicy.Load(InstancePolicyFile), instanceChecks, "instance profile");
        Assert.Empty(new[] { "s3:ListBucket", "s3:GetObject", "s3:PutObject" }.Except(instanceChecks.Select(c => c.Action)));
        Assert.True(instances.Count("s3:UploadPart") > 1, instances.Describe());
    }

    [Fact]
    public async Task Every_request_of_a_pool_run_and_a_pool_clean_up_is_allowed_by_the_client_policy()
    {
        await using var client = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, extraConfig: "pool_size = 1\nslots_per_instance = 2\n", endpointUrl: client.Endpoint);
        var done = new[] { ws.AddJob("0", "-- job\n"), ws.AddJob("1", "-- job\n") };
        var left = ws.AddJob("2", "-- fake-femag: sleep 120\n");

        using (var ps = new PsSession())
        {
            var pipeline = ps.Run(Start + " | " + Wait + " | Receive-FemagResult", done.Select(d => d.FullName).ToArray(), ws.ConfigFile);
            Assert.True(pipeline.Errors.Count == 0 && pipeline.Terminating == null, pipeline.Describe() + Cloud.RunnerLog);
            Assert.Equal(new[] { "Succeeded", "Succeeded" }, pipeline.Output.Select(j => j.State()));

            // A pool left running, cleaned up from the account alone, its bucket too (the other tests share the account).
            Assert.Empty(ps.Run(Start, new[] { left.FullName }, ws.ConfigFile).Errors);
            var cleanUp = ps.Run("Get-FemagJob -ConfigFile $args[0] | Where-Object PoolId | Stop-FemagInstance -PassThru | Remove-FemagBucket -Confirm:$false; Get-FemagJob -ConfigFile $args[0] | Where-Object PoolId", ws.ConfigFile);
            Assert.True(cleanUp.Errors.Count == 0 && cleanUp.Terminating == null, cleanUp.Describe());
            Assert.Empty(cleanUp.Output);
        }

        Assert.DoesNotContain(await Cloud.InstancesAsync(), i => i.Tags.Any(t => t.Key == "femag-aws:pool") &&
                                                                (i.State.Name == Amazon.EC2.InstanceStateName.Running || i.State.Name == Amazon.EC2.InstanceStateName.Pending));

        var tags = (await Cloud.InstancesAsync()).ToDictionary(i => i.InstanceId, i => (IReadOnlyDictionary<string, string>)(i.Tags ?? new()).ToDictionary(t => t.Key, t => t.Value));
        var requests = new IamRequests(id => tags.GetValueOrDefault(id), profile => profile);
        _output.WriteLine("client:\n" + client.Describe());
        var clientChecks = client.Requests.SelectMany(requests.ChecksOf).ToList();
        AssertAllowed(IamPolicy.Load(ClientPolicyFile, Placeholders), clientChecks, "client");
        Assert.Empty(new[]
        {
            "sqs:CreateQueue", "sqs:TagQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SendMessage", "sqs:ListQueues", "sqs:ListQueueTags",
            "sqs:DeleteQueue", "ec2:RunInstances", "ec2:CreateTags", "ec2:TerminateInstances", "s3:PutBucketTagging", "s3:DeleteBucket",
        }.Except(clientChecks.Select(c => c.Action)));
    }

    [Fact]
    public void The_policies_allow_nothing_beyond_the_modules_buckets_and_tagged_instances()
    {
        var clientPolicy = IamPolicy.Load(ClientPolicyFile, Placeholders);
        var instancePolicy = IamPolicy.Load(InstancePolicyFile);
        var job = "arn:aws:s3:::0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-3";
        var tagged = new Dictionary<string, string[]> { ["ec2:ResourceTag/femag-aws:bucket"] = new[] { "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-3" } };
        var someonesInstance = new Dictionary<string, string[]> { ["ec2:ResourceTag/Name"] = new[] { "web" } };
        var instance = "arn:aws:ec2:eu-central-1:123456789012:instance/i-0123456789abcdef0";

        Assert.True(clientPolicy.Allows(new IamCheck("s3:CreateBucket", job, IamCheck.NoContext)));
        Assert.True(clientPolicy.Allows(new IamCheck("s3:DeleteObject", job + "/femag/result.bin", IamCheck.NoContext)));
        Assert.True(clientPolicy.Allows(new IamCheck("ec2:TerminateInstances", instance, tagged)));
        Assert.True(instancePolicy.Allows(new IamCheck("s3:PutObject", job + "/exit_code", IamCheck.NoContext)));

        // Other buckets, other instances, other roles, and tags that would make an instance look like the module's.
        Assert.False(clientPolicy.Allows(new IamCheck("s3:DeleteBucket", "arn:aws:s3:::my-thesis", IamCheck.NoContext)));
        Assert.False(clientPolicy.Allows(new IamCheck("s3:GetObject", "arn:aws:s3:::my-thesis/chapter1.tex", IamCheck.NoContext)));
        Assert.False(clientPolicy.Allows(new IamCheck("ec2:TerminateInstances", instance, someonesInstance)));
        Assert.False(clientPolicy.Allows(new IamCheck("ec2:CreateTags", instance, new Dictionary<string, string[]>(someonesInstance)
        {
            ["aws:RequestTag/femag-aws:bucket"] = new[] { "x" },
            ["aws:TagKeys"] = new[] { "femag-aws:bucket" },
        })));
        Assert.False(clientPolicy.Allows(new IamCheck("ec2:CreateTags", instance, new Dictionary<string, string[]>(tagged)
        {
            ["aws:RequestTag/femag-aws:bucket"] = new[] { "x" },
            ["aws:TagKeys"] = new[] { "femag-aws:bucket" },
        })));
        Assert.False(clientPolicy.Allows(new IamCheck("ec2:RunInstances", "arn:aws:ec2:eu-central-1:123456789012:instance/*", IamCheck.NoContext)));
        Assert.False(clientPolicy.Allows(new IamCheck("iam:PassRole", "arn:aws:iam::123456789012:role/Admin",
            new Dictionary<string, string[]> { ["iam:PassedToService"] = new[] { "ec2.amazonaws.com" } })));

        // The instance writes objects, and deletes them only so a pool's worker can clear a rerun's bucket back to its
        // archive: never the bucket's tags, which the client trusts, nor the bucket itself.
        Assert.False(instancePolicy.Allows(new IamCheck("s3:PutBucketTagging", job, IamCheck.NoContext)));
        Assert.False(instancePolicy.Allows(new IamCheck("s3:DeleteBucket", job, IamCheck.NoContext)));
        Assert.True(instancePolicy.Allows(new IamCheck("s3:DeleteObject", job + "/femag.fsl", IamCheck.NoContext)));
        Assert.False(instancePolicy.Allows(new IamCheck("s3:GetObject", "arn:aws:s3:::my-thesis/chapter1.tex", IamCheck.NoContext)));
    }

    /// <summary>Every authorization is allowed; else fails naming each refused one.</summary>
    private void AssertAllowed(IamPolicy policy, List<IamCheck> checks, string whose)
    {
        _output.WriteLine($"{whose}: " + string.Join(", ", checks.Select(c => c.Action).Distinct().Order(StringComparer.Ordinal)));
        var refused = checks.Where(c => !policy.Allows(c)).Select(c => c.ToString()).Distinct().ToList();
        Assert.True(refused.Count == 0, $"The {whose} policy refuses:\n" + string.Join("\n", refused));
    }

    /// <summary>Returns once the instance's fake FEMAG has started (its first console line), so the job is mid-run.</summary>
    private async Task WhileFemagRunsAsync(string instanceId)
    {
        var console = Path.Combine(Cloud.Sandbox, instanceId, "console.log");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!(File.Exists(console) && (await File.ReadAllTextAsync(console, timeout.Token)).Contains("fake xfemag -b", StringComparison.Ordinal)))
        {
            await Task.Delay(100, timeout.Token);
        }
    }
}

using System.Management.Automation;
using System.Text;
using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

public sealed class HappyPathTests : CloudTest
{
    public HappyPathTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Whole_pipeline_runs_every_folder_and_leaves_nothing_behind()
    {
        using var ws = new Workspace(Cloud);
        var grusse = "-- Grüße aus Zürich: Ωμέγα\nexit_on_end = true\n";
        ws.AddJob("0", "-- job 0\n");
        var one = ws.AddJob("1", grusse);
        File.WriteAllBytes(Path.Combine(one.FullName, "Kennlinie µ.mcv"), new byte[] { 0, 1, 2, 255, 0xC3, 0xBC });
        Directory.CreateDirectory(Path.Combine(one.FullName, "curves"));
        File.WriteAllText(Path.Combine(one.FullName, "curves", "M270.mcv"), "curve\n");
        ws.AddJob("2", "-- job 2\n");

        using var ps = new PsSession();
        var result = ps.Run(
            "$jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | " +
            "Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 180 | Receive-FemagResult; $jobs",
            Directory.GetDirectories(Path.Combine(ws.Root, "parvar")).Order().ToArray(), ws.ConfigFile);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe() + Cloud.RunnerLog);
        var jobs = result.Output.OrderBy(j => (int)j.Properties["Index"].Value).ToList();
        Assert.Equal(new[] { 0, 1, 2 }, jobs.Select(j => (int)j.Properties["Index"].Value));
        foreach (var job in jobs)
        {
            Assert.Equal("Succeeded", job.Properties["State"].Value.ToString());
            Assert.Equal(0, job.Properties["ExitCode"].Value);
            Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-" + job.Properties["Index"].Value + "$", (string)job.Properties["BucketName"].Value);
            var folder = (string)job.Properties["Folder"].Value;
            Assert.Equal("0", File.ReadAllText(Path.Combine(folder, "exit_code")).Trim());
            Assert.Contains("fake xfemag -b femag.fsl", File.ReadAllText(Path.Combine(folder, "femag.log")));
        }

        // The fsl and a binary model file with non-ASCII names reached the instance byte for byte.
        var log = File.ReadAllText(Path.Combine(one.FullName, "femag.log"));
        Assert.Contains(Sha256(Encoding.UTF8.GetBytes(grusse)), log);
        // The job's own input archive is not downloaded again.
        Assert.False(File.Exists(Path.Combine(one.FullName, "1.tar.gz")));
        Assert.Equal(new byte[] { 0, 1, 2, 255, 0xC3, 0xBC }, File.ReadAllBytes(Path.Combine(one.FullName, "Kennlinie µ.mcv")));
        Assert.Equal("curve\n", File.ReadAllText(Path.Combine(one.FullName, "curves", "M270.mcv")));

        // No instance is left running, and with delete_buckets = 1 no bucket is left either.
        var instances = await Cloud.InstancesAsync();
        var ours = instances.Where(i => jobs.Any(j => (string)j.Properties["InstanceId"].Value == i.InstanceId)).ToList();
        Assert.Equal(3, ours.Count);
        Assert.All(ours, i => Assert.Equal(InstanceStateName.Terminated, i.State.Name));
        var buckets = await Cloud.BucketNamesAsync();
        Assert.DoesNotContain(buckets, b => jobs.Any(j => (string)j.Properties["BucketName"].Value == b));

        // Launch parameters and tags as the femagtools contract asks.
        var first = ours.Single(i => i.InstanceId == (string)jobs[0].Properties["InstanceId"].Value);
        Assert.Equal("ami-6d4ceb03", first.ImageId);
        Assert.Equal("t2.small", first.InstanceType.Value);
        Assert.Equal(LocalCloud.KeyPair, first.KeyName);
        Assert.Contains(first.SecurityGroups, g => g.GroupId == LocalCloud.SecurityGroup);
        Assert.Contains(first.Tags, t => t.Key == "Name" && t.Value == (string)jobs[0].Properties["BucketName"].Value + "-femag");
        Assert.Contains(first.Tags, t => t.Key == "femag-aws:bucket" && t.Value == (string)jobs[0].Properties["BucketName"].Value);
        using var ec2 = Cloud.Ec2();
        var behaviour = await ec2.DescribeInstanceAttributeAsync(new DescribeInstanceAttributeRequest { InstanceId = first.InstanceId, Attribute = InstanceAttributeName.InstanceInitiatedShutdownBehavior });
        Assert.Equal("terminate", behaviour.InstanceAttribute.InstanceInitiatedShutdownBehavior);

        // The table view shows one row per job with its folder, state and exit code.
        ps.Run("$args[0] | Out-Host", new object[] { jobs.ToArray() });
        var text = ps.HostOutput.ToString();
        Assert.Matches(@"(?m)^Index +State +Exit +Folder +Reason", text);
        Assert.True(3 == text.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^ +\d Succeeded +0 \S")), text);
    }

    private static string Sha256(byte[] data) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data)).ToLowerInvariant();
}

public sealed class BindingTests : CloudTest
{
    public BindingTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public void Folders_bind_as_strings_DirectoryInfo_PSPath_and_LiteralPath_objects_in_pipeline_order()
    {
        using var ws = new Workspace(Cloud);
        var dirs = Enumerable.Range(0, 4).Select(i => ws.AddJob(i.ToString(), "-- job\n")).ToArray();
        using var ps = new PsSession();

        // A Get-ChildItem row carries PSPath (provider-qualified); Import-Csv rows carry plain properties.
        var result = ps.Run(
            "$args[0], [IO.DirectoryInfo]$args[1], [pscustomobject]@{ PSPath = 'Microsoft.PowerShell.Core\\FileSystem::' + $args[2] }, [pscustomobject]@{ LiteralPath = $args[3] } | " +
            "New-FemagBucket -ConfigFile $args[4]",
            dirs[0].FullName, dirs[1].FullName, dirs[2].FullName, dirs[3].FullName, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var jobs = result.Output.OrderBy(j => j.Index()).ToList();
        Assert.Equal(dirs.Select(d => d.FullName), jobs.Select(j => j.Folder()));
        Assert.Equal(new[] { 0, 1, 2, 3 }, jobs.Select(j => j.Index()));
        Assert.All(jobs, j => Assert.Equal("Uploaded", j.State()));
    }
}

public sealed class GetChildItemBindingTests : CloudTest
{
    public GetChildItemBindingTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public void A_Get_ChildItem_row_with_FullName_and_PSPath_binds_its_folder()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        // What Get-ChildItem emits: a DirectoryInfo wrapped with the provider's PSPath and PSChildName notes.
        var result = ps.Run(
            "$row = [psobject][IO.DirectoryInfo]$args[0]; " +
            "$row.PSObject.Properties.Add([psnoteproperty]::new('PSPath', 'Microsoft.PowerShell.Core\\FileSystem::' + $args[0])); " +
            "$row.PSObject.Properties.Add([psnoteproperty]::new('PSChildName', '0')); " +
            "$row | New-FemagBucket -ConfigFile $args[1]",
            folder.FullName, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Equal(folder.FullName, Assert.Single(result.Output).Folder());
    }
}

public sealed class RecommendedCloudInitTests : CloudTest
{
    public RecommendedCloudInitTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task The_READMEsCloud_init_finishes_without_a_settle_wait_and_terminates_itself()
    {
        using var ws = new Workspace(Cloud);
        File.Copy(Path.Combine(Repo.Root, "examples", "cloud_init_recommended.txt"), Path.Combine(ws.Root, "cloud_init.txt"), overwrite: true);
        var folder = ws.AddJob("0", "-- fake-femag: result-mb 20\n");
        using var ps = new PsSession();
        // A settle time far beyond -Timeout: only the instance's own shutdown can make the job finish in time.
        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 3600 -Timeout 120 | Receive-FemagResult",
            new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe() + Cloud.RunnerLog);
        var job = Assert.Single(result.Output);
        Assert.Equal("Succeeded", job.State());
        Assert.Equal(20L * 1024 * 1024, new FileInfo(Path.Combine(folder.FullName, "result.bin")).Length);
        Assert.Equal(Amazon.EC2.InstanceStateName.Terminated, await Cloud.InstanceStateAsync(job.InstanceId()));
        Assert.Contains("shutdown", File.ReadAllText(Path.Combine(Cloud.Sandbox, job.InstanceId()!, "shutdown")));
    }
}

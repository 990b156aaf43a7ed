using System.Management.Automation;
using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Jobs that outlive a session (Clixml) and buckets that are used again.</summary>
public sealed class ResumeTests : CloudTest
{
    public ResumeTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public void Jobs_saved_as_Clixml_pipe_on_in_a_new_session_at_every_step()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: exit 0\n");

        // Each step runs in a fresh runspace that knows the jobs only from their serialized form.
        var xml = Step("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { folder.FullName }, ws.ConfigFile);
        xml = Step("[System.Management.Automation.PSSerializer]::Deserialize($args[0]) | Start-FemagInstance", xml);
        xml = Step("[System.Management.Automation.PSSerializer]::Deserialize($args[0]) | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120", xml);
        xml = Step("[System.Management.Automation.PSSerializer]::Deserialize($args[0]) | Receive-FemagResult", xml);

        using var ps = new PsSession();
        var job = Assert.Single(ps.Run("[System.Management.Automation.PSSerializer]::Deserialize($args[0])", xml).Output);
        Assert.Equal("Succeeded", job.State());
        Assert.Equal("0", File.ReadAllText(Path.Combine(folder.FullName, "exit_code")).Trim());
    }

    [Fact]
    public async Task A_reused_bucket_runs_again_and_a_stale_exit_code_does_not_finish_it()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- fake-femag: exit 0\n");
        using var ps = new PsSession();
        var bucket = Assert.Single(NewBuckets(ps, ws, folder)).Bucket();

        // An earlier run left exit_code = 0 and an upload it never completed; this run's FEMAG takes a while and returns 4.
        using (var s3 = Cloud.S3())
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "exit_code", ContentBody = "0\n" });
            await s3.InitiateMultipartUploadAsync(bucket, "result.bin");
            var other = ws.AddJob("tmp", "-- fake-femag: sleep 3\n-- fake-femag: exit 4\n");
            var scratch = Assert.Single(NewBuckets(ps, ws, other)).Bucket();
            using var archive = await s3.GetObjectAsync(scratch, "0.tar.gz");
            using var copy = new MemoryStream();
            await archive.ResponseStream.CopyToAsync(copy);
            copy.Position = 0;
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "0.tar.gz", InputStream = copy });
        }

        // The femagtools 'buckets' list: id and folder, as Import-Csv rows would bring them.
        var rerun = ps.Run(
            "[pscustomobject]@{ id = $args[0]; folder = $args[1] } | Get-FemagBucket -ConfigFile $args[2] | Start-FemagInstance | " +
            "Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 | Receive-FemagResult",
            bucket, folder.FullName, ws.ConfigFile);

        Assert.True(rerun.Errors.Count == 0, rerun.Describe());
        var job = Assert.Single(rerun.Output);
        Assert.Equal(bucket, job.Bucket());
        Assert.Equal(folder.FullName, job.Folder());
        Assert.Equal("Failed", job.State());
        Assert.Equal(4, job.ExitCode());
        Assert.Equal("4", File.ReadAllText(Path.Combine(folder.FullName, "exit_code")).Trim());
    }

    [Fact]
    public void Get_FemagBucket_lists_the_modules_buckets_with_their_folders()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var bucket = Assert.Single(NewBuckets(ps, ws, folder)).Bucket();

        var listed = ps.Run("Get-FemagBucket -ConfigFile $args[0]", ws.ConfigFile);

        Assert.Empty(listed.Errors);
        var job = Assert.Single(listed.Output, j => j.Bucket() == bucket);
        Assert.Equal(folder.FullName, job.Folder());
        Assert.Equal("Uploaded", job.State());
    }

    [Fact]
    public void Get_FemagBucket_lists_the_modules_buckets_in_a_region_without_any_config()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var bucket = Assert.Single(NewBuckets(ps, ws, folder)).Bucket();

        var listed = ps.Run("Get-FemagBucket -Region eu-central-1 -EndpointUrl $args[0]", Cloud.Endpoint);
        var elsewhere = ps.Run("Get-FemagBucket -Region us-east-1 -EndpointUrl $args[0]", Cloud.Endpoint);

        Assert.True(listed.Errors.Count == 0 && listed.Terminating == null, listed.Describe());
        var job = Assert.Single(listed.Output, j => j.Bucket() == bucket);
        Assert.Equal(folder.FullName, job.Folder());
        Assert.Equal("Uploaded", job.State());
        Assert.True(elsewhere.Errors.Count == 0 && elsewhere.Terminating == null, elsewhere.Describe());
        Assert.DoesNotContain(elsewhere.Output, j => j.Bucket() == bucket);
    }

    [Fact]
    public void Get_FemagBucket_with_names_but_no_config_says_to_give_the_config_the_jobs_start_with()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        using var ps = new PsSession();
        var bucket = Assert.Single(NewBuckets(ps, ws, ws.AddJob("0", "-- job\n"))).Bucket();

        var result = ps.Run("[pscustomobject]@{ id = $args[1] } | Get-FemagBucket -EndpointUrl $args[0]", Cloud.Endpoint, bucket);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagConfigNeeded,", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("-ConfigFile", error.Exception.Message);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void A_bucket_that_does_not_exist_is_an_object_not_found_error()
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();

        var result = ps.Run("Get-FemagBucket -Name 00000000-0000-0000-0000-000000000000-0 -ConfigFile $args[0]", ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.Equal(System.Management.Automation.ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Contains("00000000-0000-0000-0000-000000000000-0", error.Exception.Message);
        Assert.Empty(result.Output);
    }

    private static string Step(string script, params object[] args)
    {
        using var ps = new PsSession();
        var result = ps.Run("$jobs = " + script + "; [System.Management.Automation.PSSerializer]::Serialize($jobs)", args);
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        return (string)Assert.Single(result.Output).BaseObject;
    }
}

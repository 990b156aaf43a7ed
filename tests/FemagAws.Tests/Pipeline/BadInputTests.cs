using System.Management.Automation;
using Amazon.EC2;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Bad input gets a clear error record and loses nothing else.</summary>
public sealed class BadInputTests : CloudTest
{
    public BadInputTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task A_missing_config_file_stops_before_anything_is_created()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        var before = await Cloud.BucketNamesAsync();
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { folder.FullName }, Path.Combine(ws.Root, "nope.ini"));

        // A terminating error of the cmdlet: the statement stops, nothing is emitted.
        var error = Assert.Single(result.Errors);
        Assert.Empty(result.Output);
        Assert.StartsWith("FemagConfigNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains("nope.ini", error.Exception.Message);
        Assert.Equal(before, await Cloud.BucketNamesAsync());
    }

    [Fact]
    public void A_missing_folder_is_an_error_for_that_folder_and_the_others_go_on()
    {
        using var ws = new Workspace(Cloud);
        var a = ws.AddJob("0", "-- job\n");
        var c = ws.AddJob("2", "-- job\n");
        var missing = Path.Combine(ws.Root, "parvar", "1");
        using var ps = new PsSession();

        var result = ps.Run("$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { a.FullName, missing, c.FullName }, ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagFolderNotFound,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Contains(missing, error.Exception.Message);
        Assert.Equal(new[] { 0, 2 }, result.Output.Select(j => j.Index()).Order());
    }

    [Fact]
    public void Waiting_for_a_job_never_started_is_an_invalid_operation_in_its_record_and_its_exception()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Wait-FemagJob", new[] { folder.FullName }, ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagJobNotStarted,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidOperation, error.CategoryInfo.Category);
        // A script that reads $_.Exception.Kind, or rethrows the exception, sees the same kind of failure.
        Assert.Equal("InvalidOperation", error.Exception.GetType().GetProperty("Kind")!.GetValue(error.Exception)!.ToString());
    }

    [Fact]
    public async Task A_missingCloud_init_launches_nothing_and_says_which_file()
    {
        using var ws = new Workspace(Cloud);
        File.Delete(Path.Combine(ws.Root, "cloud_init.txt"));
        var folder = ws.AddJob("0", "-- job\n");
        var before = (await Cloud.InstancesAsync()).Count;
        var buckets = await Cloud.BucketNamesAsync();
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance", new[] { folder.FullName }, ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagCloudInitUnreadable,", error.FullyQualifiedErrorId);
        Assert.Contains(Path.Combine(ws.Root, "cloud_init.txt"), error.Exception.Message);
        Assert.Empty(result.Output);
        Assert.Equal(before, (await Cloud.InstancesAsync()).Count);
        Assert.Equal(buckets, await Cloud.BucketNamesAsync());
    }

    [Fact]
    public void A_malformed_config_stops_New_FemagBucket_with_the_line()
    {
        using var ws = new Workspace(Cloud);
        File.AppendAllText(ws.ConfigFile, "this is not an ini line\n");
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { folder.FullName }, ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.Empty(result.Output);
        Assert.StartsWith("FemagConfigInvalid,", error.FullyQualifiedErrorId);
        Assert.Contains("config.ini, line 11:", error.Exception.Message);
    }

    [Fact]
    public async Task A_launch_failure_is_an_error_for_that_job_and_the_other_jobs_go_on()
    {
        using var ws = new Workspace(Cloud);
        var good = ws.AddJob("0", "-- fake-femag: sleep 30\n");
        var bad = ws.AddJob("1", "-- job\n");
        var badConfig = Path.Combine(ws.Root, "bad.ini");
        File.WriteAllText(badConfig, File.ReadAllText(ws.ConfigFile).Replace("sg-8475b5dd,", "sg-0000000000000dead,"));
        using var ps = new PsSession();

        var result = ps.Run(
            "$a = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[2]; $b = [IO.DirectoryInfo[]]$args[1] | New-FemagBucket -ConfigFile $args[3]; @($b) + @($a) | Start-FemagInstance",
            new[] { good.FullName }, new[] { bad.FullName }, ws.ConfigFile, badConfig);

        var error = Assert.Single(result.Errors);
        Assert.Contains("sg-0000000000000dead", error.Exception.Message);
        Assert.Equal("Failed", PSObject.AsPSObject(error.TargetObject).State());
        Assert.Equal(2, result.Output.Count);
        var started = Assert.Single(result.Output, j => j.State() != "Failed");
        Assert.Equal(good.FullName, started.Folder());
        Assert.Equal("Running", started.State());
    }

    [Fact]
    public async Task A_failed_launch_goes_on_as_Failed_keeps_its_bucket_and_the_commands_its_error_prints_run_as_printed()
    {
        // delete_buckets = 1: Receive-FemagResult must still keep the bucket of a job that never ran.
        using var ws = new Workspace(Cloud);
        var good = File.ReadAllText(ws.ConfigFile);
        File.WriteAllText(ws.ConfigFile, good.Replace("sg-8475b5dd,", "sg-0000000000000dead,"));
        var folders = new[] { ws.AddJob("0", "-- job\n").FullName, ws.AddJob("1", "-- job\n").FullName };
        using var ps = new PsSession();

        var result = ps.Run("$script:jobs = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance | " +
                            "Wait-FemagJob -PollInterval 1 -SettleTime 1 | Receive-FemagResult; $script:jobs", folders, ws.ConfigFile);

        Assert.Equal(2, result.Errors.Count);
        Assert.Equal(2, result.Output.Count);
        Assert.All(result.Output, j => Assert.Equal(("Failed", (string?)null), (j.State(), j.InstanceId())));
        var buckets = await Cloud.BucketNamesAsync();
        Assert.All(result.Output, j => Assert.Contains(j.Bucket(), buckets));

        // Each error ends with the command to start the job again and the one to delete its bucket, each on its own line.
        string[] Commands(int index)
        {
            var job = result.Output.Single(j => j.Index() == index);
            var error = Assert.Single(result.Errors, e => PSObject.AsPSObject(e.TargetObject).Bucket() == job.Bucket());
            return error.Exception.Message.Split('\n').Where(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.Trim()).ToArray();
        }

        var restart = Commands(0);
        var remove = Commands(1);
        Assert.Equal(2, restart.Length);
        Assert.EndsWith("| Start-FemagInstance", restart[0]);
        Assert.StartsWith("Remove-FemagBucket ", remove[1]);

        // The cause fixed, the printed commands run as printed, in a new session.
        File.WriteAllText(ws.ConfigFile, good);
        using var fresh = new PsSession();
        var restarted = fresh.Run(restart[0] + " | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120");
        var removed = fresh.Run(remove[1]);

        Assert.True(restarted.Errors.Count == 0 && restarted.Terminating == null, restarted.Describe());
        var rerun = Assert.Single(restarted.Output);
        Assert.Equal((result.Output.Single(j => j.Index() == 0).Bucket(), "Succeeded"), (rerun.Bucket(), rerun.State()));
        Assert.True(removed.Errors.Count == 0 && removed.Terminating == null, removed.Describe());
        Assert.DoesNotContain(result.Output.Single(j => j.Index() == 1).Bucket(), await Cloud.BucketNamesAsync());

        // The failed jobs were passed on, so the saved ones clean up with one command.
        var cleaned = ps.Run("$script:jobs | Remove-FemagBucket -Force");
        Assert.True(cleaned.Errors.Count == 0 && cleaned.Terminating == null, cleaned.Describe());
        Assert.DoesNotContain(result.Output.Single(j => j.Index() == 0).Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public void A_region_that_is_no_AWS_region_is_an_error_before_any_request()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -Region Frankfurt", new[] { folder.FullName }, ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagRegionInvalid,", error.FullyQualifiedErrorId);
        Assert.Contains("eu-central-1", error.Exception.Message);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void An_empty_image_id_is_caught_before_anything_is_created()
    {
        using var ws = new Workspace(Cloud);
        File.WriteAllText(ws.ConfigFile, File.ReadAllText(ws.ConfigFile).Replace("image_id =  ami-6d4ceb03", "image_id ="));
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance", new[] { folder.FullName }, ws.ConfigFile);

        Assert.StartsWith("FemagImageMissing,", Assert.Single(result.Errors).FullyQualifiedErrorId);
        Assert.Empty(result.Output);
    }
}

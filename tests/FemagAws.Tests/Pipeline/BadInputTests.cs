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
        var started = Assert.Single(result.Output);
        Assert.Equal(good.FullName, started.Folder());
        Assert.Equal("Running", started.State());
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

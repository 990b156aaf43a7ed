using Amazon.EC2;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Sets the region variables of the process environment, so it runs alone.</summary>
[CollectionDefinition(nameof(RegionTests), DisableParallelization = true)]
public sealed class RegionCollection
{
}

/// <summary>
/// Where no job decides the region, it is found as AWS Tools and the AWS CLI find it: -Region, server_location where the
/// config file sets it, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, femagtools' eu-central-1.
/// </summary>
[Collection(nameof(RegionTests))]
public sealed class RegionTests : CloudTest
{
    private const string East = "us-east-1";

    public RegionTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task With_AWS_REGION_and_no_config_Get_FemagJob_finds_that_regions_jobs_and_Stop_FemagInstance_stops_them()
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        var job = StartInEast(ps, ws);

        using (new EnvironmentScope(Environment(awsRegion: East)))
        {
            var result = ps.Run("Get-FemagJob -EndpointUrl $args[0] -Debug | Where-Object BucketName -eq $args[1] | Stop-FemagInstance -PassThru", Cloud.Endpoint, job.Bucket());

            Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
            var stopped = Assert.Single(result.Output);
            Assert.Equal(East, stopped.Properties["Region"].Value);
            Assert.Equal("Failed", stopped.State());
            Assert.Contains(result.Debug, d => d.Contains("region us-east-1 from the environment variable AWS_REGION", StringComparison.Ordinal));
        }

        Assert.Equal(InstanceStateName.Terminated, (await Cloud.InstancesAsync(East)).Single(i => i.InstanceId == job.InstanceId()).State.Name);
    }

    [Fact]
    public void AWS_DEFAULT_REGION_counts_when_AWS_REGION_is_not_set_and_AWS_REGION_comes_first()
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        var bucket = UploadInEast(ps, ws);

        using (new EnvironmentScope(Environment(awsDefaultRegion: East)))
        {
            var listed = ps.Run("Get-FemagBucket -EndpointUrl $args[0] -Debug", Cloud.Endpoint);

            Assert.True(listed.Errors.Count == 0 && listed.Terminating == null, listed.Describe());
            Assert.Contains(listed.Output, j => j.Bucket() == bucket);
            Assert.All(listed.Output, j => Assert.Equal(East, j.Properties["Region"].Value));
            Assert.Contains(listed.Debug, d => d.Contains("region us-east-1 from the environment variable AWS_DEFAULT_REGION", StringComparison.Ordinal));
        }

        using (new EnvironmentScope(Environment(awsRegion: "eu-central-1", awsDefaultRegion: East)))
        {
            var listed = ps.Run("Get-FemagBucket -EndpointUrl $args[0] -Debug", Cloud.Endpoint);

            Assert.True(listed.Errors.Count == 0 && listed.Terminating == null, listed.Describe());
            Assert.DoesNotContain(listed.Output, j => j.Bucket() == bucket);
            Assert.Contains(listed.Debug, d => d.Contains("region eu-central-1 from the environment variable AWS_REGION", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_profiles_region_counts_when_the_environment_names_none()
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        var bucket = UploadInEast(ps, ws);

        // A profile of -ProfileLocation's file, with its region in the config file beside it.
        var aws = Directory.CreateDirectory(Path.Combine(ws.Root, "aws")).FullName;
        var credentials = Path.Combine(aws, "credentials");
        File.WriteAllText(credentials, "[default]\naws_access_key_id = AKIAFEMAGDEFAULT0009\naws_secret_access_key = d\n\n[femag-east]\naws_access_key_id = AKIAFEMAGEAST0000009\naws_secret_access_key = e\n");
        File.WriteAllText(Path.Combine(aws, "config"), "[default]\nregion = eu-central-1\n\n[profile femag-east]\nregion = us-east-1\n");

        using (new EnvironmentScope(Environment()))
        {
            var named = ps.Run("Get-FemagBucket -ProfileName femag-east -ProfileLocation $args[1] -EndpointUrl $args[0] -Debug", Cloud.Endpoint, credentials);

            Assert.True(named.Errors.Count == 0 && named.Terminating == null, named.Describe());
            Assert.Contains(named.Output, j => j.Bucket() == bucket);
            Assert.Contains(named.Debug, d => d.Contains("region us-east-1 from region in profile 'femag-east'", StringComparison.Ordinal));

            var fileDefault = ps.Run("Get-FemagBucket -ProfileLocation $args[1] -EndpointUrl $args[0] -Debug", Cloud.Endpoint, credentials);

            Assert.True(fileDefault.Errors.Count == 0 && fileDefault.Terminating == null, fileDefault.Describe());
            Assert.DoesNotContain(fileDefault.Output, j => j.Bucket() == bucket);
            Assert.Contains(fileDefault.Debug, d => d.Contains("region eu-central-1 from region in profile 'default'", StringComparison.Ordinal));
        }

        // The profile AWS_PROFILE names, in the file AWS_CONFIG_FILE names: in a process of its own, as the SDK reads that variable once per process.
        var config = Path.Combine(ws.Root, "aws-config");
        File.WriteAllText(config, "[profile femag-env]\nregion = us-east-1\n");
        var environment = Environment();
        environment["AWS_PROFILE"] = "femag-env";
        environment["AWS_CONFIG_FILE"] = config;
        environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(ws.Root, "no-credentials");

        var run = ScriptProcess.Run(
            "param($Module, $Endpoint) Import-Module $Module; $DebugPreference = 'Continue'; Get-FemagBucket -EndpointUrl $Endpoint | ForEach-Object { 'BUCKET ' + $_.BucketName }",
            environment, "-Module", Repo.ModuleManifest, "-Endpoint", Cloud.Endpoint);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("BUCKET " + bucket, run.Lines);
        Assert.Contains(run.Lines, l => l.Contains("region us-east-1 from region in profile 'femag-env'", StringComparison.Ordinal));
    }

    [Fact]
    public void Region_wins_over_the_environment()
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        var bucket = UploadInEast(ps, ws);

        using (new EnvironmentScope(Environment(awsRegion: "eu-central-1")))
        {
            var listed = ps.Run("Get-FemagJob -Region us-east-1 -EndpointUrl $args[0] -Debug", Cloud.Endpoint);

            Assert.True(listed.Errors.Count == 0 && listed.Terminating == null, listed.Describe());
            Assert.Contains(listed.Output, j => j.Bucket() == bucket);
            Assert.Contains(listed.Debug, d => d.Contains("region us-east-1 from -Region", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Server_location_in_the_config_wins_over_the_environment_and_a_config_without_it_leaves_the_region_to_it()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        var withoutRegion = Path.Combine(ws.Root, "without-region.ini");
        File.WriteAllLines(withoutRegion, File.ReadAllLines(ws.ConfigFile).Where(l => !l.StartsWith("server_location", StringComparison.Ordinal)));
        using var ps = new PsSession();

        using (new EnvironmentScope(Environment(awsRegion: East)))
        {
            var configured = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -Debug", new[] { folder.FullName }, ws.ConfigFile);
            var unconfigured = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -Debug", new[] { folder.FullName }, withoutRegion);

            Assert.True(configured.Errors.Count == 0 && configured.Terminating == null, configured.Describe());
            var central = Assert.Single(configured.Output);
            Assert.Equal("eu-central-1", central.Properties["Region"].Value);
            Assert.Equal("eu-central-1", await Cloud.BucketRegionAsync(central.Bucket()));
            Assert.Contains(configured.Debug, d => d.Contains("region eu-central-1 from server_location in " + ws.ConfigFile, StringComparison.Ordinal));

            Assert.True(unconfigured.Errors.Count == 0 && unconfigured.Terminating == null, unconfigured.Describe());
            var east = Assert.Single(unconfigured.Output);
            Assert.Equal(East, east.Properties["Region"].Value);
            Assert.Equal(East, await Cloud.BucketRegionAsync(east.Bucket()));
            // The SERVER_LOCATION that {{ENV}} exports on the instance agrees with where the bucket is.
            Assert.Equal(East, System.Management.Automation.PSObject.AsPSObject(east.Properties["Config"].Value).Properties["ServerLocation"].Value);
            Assert.Contains(unconfigured.Debug, d => d.Contains("region us-east-1 from the environment variable AWS_REGION", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Instances_and_buckets_named_by_id_are_looked_for_in_the_environments_region()
    {
        using var ws = new Workspace(Cloud, deleteBuckets: false);
        using var ps = new PsSession();
        var job = StartInEast(ps, ws);

        using (new EnvironmentScope(Environment(awsRegion: East)))
        {
            // The preference, not -Debug: with -Debug alone, PowerShell asks before each of the cmdlet's verbose messages.
            var stopped = ps.Run("$DebugPreference = 'Continue'; Stop-FemagInstance -InstanceId $args[1] -EndpointUrl $args[0]", Cloud.Endpoint, job.InstanceId());

            Assert.True(stopped.Errors.Count == 0 && stopped.Terminating == null, stopped.Describe());
            Assert.Contains(stopped.Debug, d => d.Contains("region us-east-1 from the environment variable AWS_REGION", StringComparison.Ordinal));
            Assert.Equal(InstanceStateName.Terminated, (await Cloud.InstancesAsync(East)).Single(i => i.InstanceId == job.InstanceId()).State.Name);

            var removed = ps.Run("$DebugPreference = 'Continue'; Remove-FemagBucket -Name $args[1] -Force -EndpointUrl $args[0]", Cloud.Endpoint, job.Bucket());

            Assert.True(removed.Errors.Count == 0 && removed.Terminating == null, removed.Describe());
            Assert.Contains(removed.Debug, d => d.Contains("region us-east-1 from the environment variable AWS_REGION", StringComparison.Ordinal));
            Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
        }
    }

    [Fact]
    public void A_region_variable_that_names_no_region_is_an_error_that_names_the_variable()
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();

        using (new EnvironmentScope(Environment(awsRegion: "Frankfurt")))
        {
            var result = ps.Run("Get-FemagJob -EndpointUrl $args[0]", Cloud.Endpoint);

            var error = Assert.Single(result.Errors);
            Assert.StartsWith("FemagRegionInvalid,", error.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("'Frankfurt'", error.Exception.Message);
            Assert.Contains("AWS_REGION", error.Exception.Message);
            Assert.Empty(result.Output);
        }
    }

    /// <summary>
    /// The region variables as given, and no AWS_PROFILE or AWS_CONFIG_FILE: the SDK would read the file
    /// AWS_CONFIG_FILE names instead of the config file beside -ProfileLocation's.
    /// </summary>
    private static Dictionary<string, string?> Environment(string? awsRegion = null, string? awsDefaultRegion = null) => new()
    {
        ["AWS_REGION"] = awsRegion,
        ["AWS_DEFAULT_REGION"] = awsDefaultRegion,
        ["AWS_PROFILE"] = null,
        ["AWS_CONFIG_FILE"] = null,
    };

    /// <summary>A job in us-east-1 whose instance runs until stopped.</summary>
    private static System.Management.Automation.PSObject StartInEast(PsSession ps, Workspace ws)
    {
        var folder = ws.AddJob("east", "-- fake-femag: sleep 600\n");
        var started = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -Region us-east-1 | Start-FemagInstance", new[] { folder.FullName }, ws.ConfigFile);
        Assert.True(started.Errors.Count == 0 && started.Terminating == null, started.Describe());
        return Assert.Single(started.Output);
    }

    /// <summary>An uploaded job in us-east-1; returns its bucket.</summary>
    private static string UploadInEast(PsSession ps, Workspace ws)
    {
        var folder = ws.AddJob("east", "-- job\n");
        var uploaded = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -Region us-east-1", new[] { folder.FullName }, ws.ConfigFile);
        Assert.True(uploaded.Errors.Count == 0 && uploaded.Terminating == null, uploaded.Describe());
        return Assert.Single(uploaded.Output).Bucket();
    }
}

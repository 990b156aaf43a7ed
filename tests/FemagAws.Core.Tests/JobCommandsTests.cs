using FemagAws.Aws;
using FemagAws.Jobs;

namespace FemagAws.Core.Tests;

/// <summary>
/// The command lines the module prints name what reaches the job's bucket (region, endpoint, profile), so they run as
/// printed; the engine tests run them against the local cloud where a failure can be made to print them.
/// </summary>
public sealed class JobCommandsTests
{
    private static readonly AwsTarget Local = new("eu-west-1", "http://127.0.0.1:4566", "lab", "/home/o'brien/creds");

    [Fact]
    public void Remove_and_list_commands_name_the_region_endpoint_and_profile_quoted_for_PowerShell()
    {
        Assert.Equal(
            "Remove-FemagBucket -Name 'b-0' -Region eu-west-1 -EndpointUrl 'http://127.0.0.1:4566' -ProfileName 'lab' -ProfileLocation '/home/o''brien/creds' -Force",
            JobCommands.RemoveBucket(Local, "b-0"));
        Assert.Equal(
            "Get-FemagJob -Region eu-west-1 -EndpointUrl 'http://127.0.0.1:4566' -ProfileName 'lab' -ProfileLocation '/home/o''brien/creds'",
            JobCommands.ListJobs(Local));
        Assert.Equal("Remove-FemagBucket -Name 'b-0' -Region us-east-1 -Force", JobCommands.RemoveBucket(new AwsTarget("us-east-1", null, null), "b-0"));
    }

    [Fact]
    public void Aws_cli_commands_name_the_region_endpoint_and_profile()
    {
        Assert.Equal("aws s3 rb s3://b-0 --force --region eu-west-1 --endpoint-url http://127.0.0.1:4566 --profile lab", JobCommands.AwsCli(Local, "s3 rb s3://b-0 --force"));
    }

    [Fact]
    public void A_failed_launch_restarts_from_its_config_file_with_what_the_config_does_not_name()
    {
        var config = FemagConfig.FromSettings(new Dictionary<string, string> { ["endpoint_url"] = "http://127.0.0.1:4566" }, "/work/config.ini");
        var job = new AwsTarget("eu-west-1", "http://127.0.0.1:4566", "lab").NewJob(3, "b-3", config, FemagJobState.Failed);

        Assert.Equal("Get-FemagBucket -Name 'b-3' -ConfigFile '/work/config.ini' -Region eu-west-1 -ProfileName 'lab' | Start-FemagInstance", JobCommands.Restart(job));
    }
}

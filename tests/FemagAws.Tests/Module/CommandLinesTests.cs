using System.Collections;
using System.Reflection;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Module;

/// <summary>
/// The command lines the module writes for Core (FemagAws.Internal.PowerShellCommands) name what reaches the job's
/// bucket (region, endpoint, profile), quoted for PowerShell, so they run as printed; the pipeline tests run them against
/// the local cloud where a failure can be made to print them. Reached by reflection in the imported module, as the
/// module's Core lives in its own load context.
/// </summary>
public sealed class CommandLinesTests : IDisposable
{
    private readonly PsSession _ps = new();
    private readonly object _commands;
    private readonly Type _target;
    private readonly object _local;

    public CommandLinesTests()
    {
        var module = (Assembly)_ps.Run("(Get-Module FemagAws).ImplementingAssembly").Output.Single().BaseObject;
        var type = module.GetType("FemagAws.Internal.PowerShellCommands", throwOnError: true)!;
        _commands = type.GetField("Instance")!.GetValue(null)!;
        _target = type.GetMethod("RemoveBucket")!.GetParameters()[0].ParameterType;
        _local = Target("eu-west-1", "http://127.0.0.1:4566", "lab", "/home/o'brien/creds");
    }

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Remove_and_list_commands_name_the_region_endpoint_and_profile_quoted_for_PowerShell()
    {
        Assert.Equal(
            "Remove-FemagBucket -Name 'b-0' -Region eu-west-1 -EndpointUrl 'http://127.0.0.1:4566' -ProfileName 'lab' -ProfileLocation '/home/o''brien/creds' -Force",
            Call("RemoveBucket", _local, "b-0"));
        Assert.Equal(
            "Get-FemagJob -Region eu-west-1 -EndpointUrl 'http://127.0.0.1:4566' -ProfileName 'lab' -ProfileLocation '/home/o''brien/creds'",
            Call("ListJobs", _local));
        Assert.Equal("Remove-FemagBucket -Name 'b-0' -Region us-east-1 -Force", Call("RemoveBucket", Target("us-east-1", null, null, null), "b-0"));
    }

    [Fact]
    public void Aws_cli_commands_name_the_region_endpoint_and_profile()
    {
        Assert.Equal("aws s3 rb s3://b-0 --force --region eu-west-1 --endpoint-url http://127.0.0.1:4566 --profile lab", Call("DeleteOtherBucket", _local, "b-0"));
        Assert.Equal(
            "aws ec2 terminate-instances --instance-ids i-1 i-2 --region eu-west-1 --endpoint-url http://127.0.0.1:4566 --profile lab",
            Call("TerminateInstances", _local, new[] { "i-1", "i-2" }));
    }

    [Fact]
    public void A_failed_launch_restarts_from_its_config_file_with_what_the_config_does_not_name()
    {
        var job = Job(Target("eu-west-1", "http://127.0.0.1:4566", "lab", null), 3, "/work/config.ini");

        Assert.Equal("Get-FemagBucket -Name 'b-3' -ConfigFile '/work/config.ini' -Region eu-west-1 -ProfileName 'lab' | Start-FemagInstance", Call("Restart", job));
    }

    [Fact]
    public void Going_on_after_a_stop_gives_one_line_per_place_and_step_in_the_order_the_jobs_came()
    {
        var here = Target("eu-west-1", null, null, null);
        var there = Target("us-east-1", null, null, null);
        var step = _target.Assembly.GetType("FemagAws.Jobs.GoOnStep", throwOnError: true)!;
        var pair = typeof(KeyValuePair<,>).MakeGenericType(_target.Assembly.GetType("FemagAws.FemagJob", throwOnError: true)!, step);
        var jobs = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(pair))!;
        foreach (var (job, next) in new[] { (Job(here, 0, null), "Wait"), (Job(there, 1, null), "Start"), (Job(here, 2, null), "Wait"), (Job(here, 3, null), "Receive"), (Job(here, 4, null), "Start") })
        {
            jobs.Add(Activator.CreateInstance(pair, job, Enum.Parse(step, next)));
        }

        Assert.Equal(
            new[]
            {
                "Get-FemagJob -Region eu-west-1 | Where-Object BucketName -in 'b-0', 'b-2' | Wait-FemagJob | Receive-FemagResult",
                "Get-FemagJob -Region eu-west-1 | Where-Object BucketName -in 'b-4' | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult",
                "Get-FemagJob -Region eu-west-1 | Where-Object BucketName -in 'b-3' | Receive-FemagResult",
                "Get-FemagJob -Region us-east-1 | Where-Object BucketName -in 'b-1' | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult",
            },
            ((IEnumerable<string>)Call("GoOn", jobs)).ToList());
    }

    private object Target(string region, string? endpointUrl, string? profileName, string? profileLocation) =>
        _target.GetConstructors().Single().Invoke(new object?[] { region, endpointUrl, profileName, profileLocation, null });

    /// <summary>Job <paramref name="index"/> (bucket b-index) of a config read from <paramref name="configFile"/> that names the local endpoint.</summary>
    private object Job(object target, int index, string? configFile)
    {
        var config = _target.Assembly.GetType("FemagAws.FemagConfig", throwOnError: true)!.GetMethod("FromSettings")!
            .Invoke(null, new object?[] { new Dictionary<string, string> { ["endpoint_url"] = "http://127.0.0.1:4566" }, configFile })!;
        return _target.GetMethod("NewJob")!.Invoke(target, new[] { index, "b-" + index, config })!;
    }

    private object Call(string method, params object[] args) => _commands.GetType().GetMethod(method)!.Invoke(_commands, args)!;
}

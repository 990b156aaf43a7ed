using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Module;

/// <summary>FemagAws next to another module's AWS SDK, as in an admin's session with AWS.Tools 4.x imported first.</summary>
public sealed class CoexistenceTests : CloudTest
{
    public CoexistenceTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task With_AWSSDK_Core_3_7_loaded_first_the_whole_pipeline_runs_with_its_credentials_object_and_both_SDKs_stay_usable()
    {
        var awsToolsCore = AwsToolsSdk.Core;
        Assert.True(File.Exists(awsToolsCore), awsToolsCore);
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job 0\n");

        // A fresh process: the test process itself already holds AWSSDK.Core 4 in PowerShell's load context.
        var run = ScriptProcess.Run(
            """
            param($AwsToolsCore, $Module, $Folder, $ConfigFile)
            $ErrorActionPreference = 'Stop'
            $old = [System.Reflection.Assembly]::LoadFrom($AwsToolsCore)
            "OLD-REGION " + [Amazon.RegionEndpoint]::GetBySystemName('eu-west-1').SystemName
            # What AWS Tools' Get-AWSCredential returns: a credentials object of their SDK, handed to FemagAws.
            $awsToolsCredential = [Amazon.Runtime.BasicAWSCredentials]::new('AKIAFEMAGAWSTOOLS001', 'aws-tools-secret')
            Import-Module $Module
            $job = [IO.DirectoryInfo]$Folder | New-FemagBucket -ConfigFile $ConfigFile -Credential $awsToolsCredential | Start-FemagInstance |
                Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 | Receive-FemagResult
            "STATE " + $job.State
            "OLD-REGION-AFTER " + [Amazon.RegionEndpoint]::GetBySystemName('eu-west-2').SystemName
            $default = [System.Runtime.Loader.AssemblyLoadContext]::Default
            foreach ($a in [AppDomain]::CurrentDomain.GetAssemblies()) {
                $n = $a.GetName()
                if ($n.Name -in 'AWSSDK.Core', 'AWSSDK.S3', 'FemagAws', 'FemagAws.Core') {
                    "LOADED {0} {1} {2}" -f $n.Name, $n.Version, $(if ([System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($a) -eq $default) { 'default' } else { 'isolated' })
                }
            }
            """,
            null, "-AwsToolsCore", awsToolsCore, "-Module", Repo.ModuleManifest, "-Folder", folder.FullName, "-ConfigFile", ws.ConfigFile);

        Assert.True(run.ExitCode == 0, run.Output + Cloud.RunnerLog);
        Assert.Contains("OLD-REGION eu-west-1", run.Lines);
        Assert.Contains("STATE Succeeded", run.Lines);
        Assert.Contains("OLD-REGION-AFTER eu-west-2", run.Lines);
        Assert.Equal("0", File.ReadAllText(Path.Combine(folder.FullName, "exit_code")).Trim());
        Assert.Equal(new[] { "AKIAFEMAGAWSTOOLS001" }, proxy.AccessKeyIds.Keys);
        var loaded = run.Lines.Where(l => l.StartsWith("LOADED ", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(
            new[]
            {
                "LOADED AWSSDK.Core 3.3.0.0 default", "LOADED AWSSDK.Core 4.0.0.0 isolated", "LOADED AWSSDK.S3 4.0.0.0 isolated",
                "LOADED FemagAws 0.1.0.0 default", "LOADED FemagAws.Core 0.1.0.0 isolated",
            },
            loaded);
    }
}

using System.Management.Automation;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Module;

/// <summary>The module folder that 'dotnet build' lays out is what users import.</summary>
public sealed class ManifestTests
{
    [Fact]
    public void Test_ModuleManifest_passes_and_the_export_list_matches_the_cmdlet_classes()
    {
        using var ps = new PsSession();

        var manifest = ps.Run("Test-ModuleManifest $args[0]", Repo.ModuleManifest);
        Assert.True(manifest.Errors.Count == 0, manifest.Describe());
        var info = Assert.Single(manifest.Output);
        var exported = ((System.Collections.IDictionary)info.Properties["ExportedCmdlets"].Value).Keys.Cast<string>().Order().ToList();

        var reflected = ps.Run(
            "(Get-Module FemagAws).ImplementingAssembly.GetTypes() | Where-Object { $_.IsPublic -and -not $_.IsAbstract } | " +
            "ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) } | ForEach-Object { $_.VerbName + '-' + $_.NounName }");
        Assert.Equal(reflected.Output.Select(o => (string)o.BaseObject).Order(), exported);
        Assert.Equal(
            new[]
            {
                "Export-FemagReport", "Get-FemagBucket", "Get-FemagJob", "Get-FemagJobLog", "Import-FemagConfig", "New-FemagBucket", "Receive-FemagResult", "Remove-FemagBucket",
                "Start-FemagInstance", "Stop-FemagInstance", "Wait-FemagJob",
            },
            exported);
    }

    [Fact]
    public void Only_the_cmdlet_assembly_sits_beside_the_manifest_and_the_rest_is_in_dependencies()
    {
        var folder = Path.GetDirectoryName(Repo.ModuleManifest)!;

        Assert.Equal(new[] { "FemagAws.dll" }, Directory.GetFiles(folder, "*.dll").Select(Path.GetFileName));
        var dependencies = Directory.GetFiles(Path.Combine(folder, "dependencies"), "*.dll").Select(Path.GetFileName).ToList();
        Assert.Contains("FemagAws.Core.dll", dependencies);
        Assert.Contains("FemagAws.LoadContext.dll", dependencies);
        Assert.Contains("AWSSDK.SecurityToken.dll", dependencies);
        Assert.Contains("AWSSDK.SSO.dll", dependencies);
        Assert.Contains("AWSSDK.SSOOIDC.dll", dependencies);
        Assert.Contains("AWSSDK.SQS.dll", dependencies);
        Assert.Contains("AWSSDK.Core.dll", dependencies);
        Assert.Contains("ICSharpCode.SharpZipLib.dll", dependencies);
        Assert.DoesNotContain("System.Management.Automation.dll", dependencies);
        Assert.DoesNotContain("System.Runtime.Loader.dll", dependencies);
        Assert.True(File.Exists(Path.Combine(folder, "FemagAws.format.ps1xml")));
    }

    [Fact]
    public void The_core_assembly_has_no_PowerShell_types_and_the_cmdlet_assembly_no_AWS_SDK_or_load_context_types()
    {
        using var ps = new PsSession();
        var folder = Path.GetDirectoryName(Repo.ModuleManifest)!;
        const string References = "[System.Reflection.Assembly]::LoadFile($args[0]).GetReferencedAssemblies() | ForEach-Object Name";

        var core = ps.Run(References, Path.Combine(folder, "dependencies", "FemagAws.Core.dll")).Output.Select(o => (string)o.BaseObject).ToList();
        var cmdlets = ps.Run(References, Path.Combine(folder, "FemagAws.dll")).Output.Select(o => (string)o.BaseObject).ToList();

        Assert.DoesNotContain("System.Management.Automation", core);
        Assert.Contains("AWSSDK.S3", core);
        // The cmdlets load in PowerShell's own context, where another module's AWSSDK may already be.
        Assert.Contains("FemagAws.Core", cmdlets);
        Assert.DoesNotContain(cmdlets, name => name.StartsWith("AWSSDK", StringComparison.Ordinal));
        // Windows PowerShell lists every type of the cmdlet assembly; none may need what .NET Framework lacks.
        Assert.DoesNotContain("System.Runtime.Loader", cmdlets);
        Assert.DoesNotContain("FemagAws.LoadContext", cmdlets);
    }

    [Fact]
    public void No_parameter_or_output_type_comes_from_the_AWS_SDK()
    {
        using var ps = new PsSession();

        // Every parameter type and output type, and the types of their public properties two levels down.
        var types = ps.Run(
            "$seen = @{}; function Walk($t, $depth) { if ($t.IsArray) { $t = $t.GetElementType() }; if ($null -eq $t -or $seen.ContainsKey($t.FullName)) { return }; " +
            "$seen[$t.FullName] = $t.Assembly.GetName().Name; if ($depth -gt 0) { foreach ($p in $t.GetProperties()) { Walk $p.PropertyType ($depth - 1) } } }; " +
            "foreach ($c in Get-Command -Module FemagAws) { foreach ($p in $c.Parameters.Values) { Walk $p.ParameterType 2 }; foreach ($o in $c.OutputType) { Walk $o.Type 2 } }; " +
            "$seen.GetEnumerator() | ForEach-Object { $_.Key + ' @ ' + $_.Value }");

        Assert.True(types.Errors.Count == 0, types.Describe());
        var all = types.Output.Select(o => (string)o.BaseObject).ToList();
        Assert.Contains(all, t => t.StartsWith("FemagAws.FemagJob @ FemagAws.Core", StringComparison.Ordinal));
        Assert.DoesNotContain(all, t => t.Contains("@ AWSSDK", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_cmdlet_that_talks_to_AWS_has_AWS_Tools_credential_parameters_and_aliases()
    {
        using var ps = new PsSession();

        var result = ps.Run(
            "foreach ($c in Get-Command -Module FemagAws | Where-Object Name -notin 'Import-FemagConfig', 'Export-FemagReport') { foreach ($p in 'Region','ProfileName','ProfileLocation','AccessKey','SecretKey','SessionToken','Credential','EndpointUrl') { " +
            "$a = [string[]]@($c.Parameters[$p].Aliases); [Array]::Sort($a, [StringComparer]::Ordinal); $c.Name + ' ' + $p + ':' + ($a -join ',') } }");

        Assert.True(result.Errors.Count == 0, result.Describe());
        var lines = result.Output.Select(o => (string)o.BaseObject).ToList();
        Assert.Equal(9 * 8, lines.Count);
        var expected = new[]
        {
            "Region:RegionToCall", "ProfileName:AWSProfileName,StoredCredentials", "ProfileLocation:AWSProfilesLocation,ProfilesLocation",
            "AccessKey:AK", "SecretKey:SK,SecretAccessKey", "SessionToken:ST", "Credential:", "EndpointUrl:",
        };
        foreach (var cmdlet in lines.Select(l => l.Split(' ')[0]).Distinct())
        {
            Assert.Equal(expected, lines.Where(l => l.StartsWith(cmdlet + " ", StringComparison.Ordinal)).Select(l => l.Split(' ', 2)[1]));
        }
    }

    [Fact]
    public void Every_cmdlet_declares_its_output_and_every_one_that_changes_something_supports_ShouldProcess()
    {
        using var ps = new PsSession();

        var cmdlets = ps.Run(
            "foreach ($t in (Get-Module FemagAws).ImplementingAssembly.GetTypes()) { $c = $t.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false); " +
            "if ($c) { [pscustomobject]@{ Name = $c[0].VerbName + '-' + $c[0].NounName; ShouldProcess = $c[0].SupportsShouldProcess; " +
            "Outputs = @($t.GetCustomAttributes([System.Management.Automation.OutputTypeAttribute], $false)).Count } } }");

        Assert.Equal(11, cmdlets.Output.Count);
        foreach (var cmdlet in cmdlets.Output)
        {
            var name = (string)cmdlet.Properties["Name"].Value;
            Assert.True((int)cmdlet.Properties["Outputs"].Value > 0, name + " has no [OutputType]");
            // Get and Import only read; Wait launches only queued jobs that Start-FemagInstance's ShouldProcess already let through.
            var readsOnly = name.StartsWith("Get-", StringComparison.Ordinal) || name.StartsWith("Import-", StringComparison.Ordinal) || name == "Wait-FemagJob";
            Assert.True(readsOnly || (bool)cmdlet.Properties["ShouldProcess"].Value, name + " changes state but does not support ShouldProcess");
        }
    }
}

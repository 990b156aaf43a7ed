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
                "Get-FemagBucket", "Get-FemagJob", "Import-FemagConfig", "New-FemagBucket", "Receive-FemagResult", "Remove-FemagBucket",
                "Start-FemagInstance", "Stop-FemagInstance", "Wait-FemagJob",
            },
            exported);
    }

    [Fact]
    public void The_module_folder_holds_no_PowerShell_engine_assembly()
    {
        var folder = Path.GetDirectoryName(Repo.ModuleManifest)!;

        Assert.False(File.Exists(Path.Combine(folder, "System.Management.Automation.dll")));
        Assert.True(File.Exists(Path.Combine(folder, "FemagAws.dll")));
        Assert.True(File.Exists(Path.Combine(folder, "FemagAws.Core.dll")));
        Assert.True(File.Exists(Path.Combine(folder, "FemagAws.format.ps1xml")));
    }

    [Fact]
    public void The_core_assembly_has_no_PowerShell_types_in_it()
    {
        using var ps = new PsSession();

        var references = ps.Run(
            "[System.Reflection.Assembly]::LoadFrom($args[0]).GetReferencedAssemblies() | ForEach-Object Name",
            Path.Combine(Path.GetDirectoryName(Repo.ModuleManifest)!, "FemagAws.Core.dll"));

        Assert.DoesNotContain("System.Management.Automation", references.Output.Select(o => (string)o.BaseObject));
        Assert.Contains("AWSSDK.S3", references.Output.Select(o => (string)o.BaseObject));
    }
}

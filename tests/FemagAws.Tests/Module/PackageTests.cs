using System.IO.Compression;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security.Cryptography;
using System.Xml.Linq;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Module;

/// <summary>
/// The release package out/FemagAws.&lt;version&gt;.nupkg (tools/FemagAws.Package, built before the tests): a NuGet
/// package with the manifest at its root that Install-PSResource and Install-Module take from a local repository.
/// </summary>
public sealed class PackageTests : IClassFixture<ExtractedPackage>
{
    private static readonly string[] Cmdlets =
    {
        "Export-FemagReport", "Get-FemagBucket", "Get-FemagJob", "Get-FemagJobLog", "Import-FemagConfig", "New-FemagBucket", "Receive-FemagResult", "Remove-FemagBucket",
        "Start-FemagInstance", "Stop-FemagInstance", "Wait-FemagJob",
    };

    private readonly ExtractedPackage _package;

    public PackageTests(ExtractedPackage package) => _package = package;

    [Fact]
    public void The_package_holds_the_manifest_and_nuspec_at_its_root_and_no_PowerShell_engine()
    {
        var entries = _package.Entries;

        Assert.Equal($"FemagAws.{_package.Version}.nupkg", Path.GetFileName(_package.PackagePath));
        Assert.Contains("FemagAws.psd1", entries);
        Assert.Contains("FemagAws.nuspec", entries);
        Assert.Contains("FemagAws.dll", entries);
        Assert.Contains("[Content_Types].xml", entries);
        Assert.Contains("_rels/.rels", entries);
        Assert.DoesNotContain(entries, e => Path.GetFileName(e).Equals("System.Management.Automation.dll", StringComparison.OrdinalIgnoreCase));
        // A module package, not a library: nothing in lib/ or content/, no dependencies.
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.OrdinalIgnoreCase) || e.StartsWith("content", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(_package.Nuspec.Descendants(), e => e.Name.LocalName == "dependency");
    }

    [Fact]
    public void The_nuspec_has_the_manifest_s_id_version_and_metadata_and_the_tags_Publish_Module_writes()
    {
        var manifest = TestModuleManifest(_package.ManifestPath);
        var nuspec = _package.Nuspec;
        string Meta(string name) => nuspec.Descendants().Single(e => e.Name.LocalName == name).Value;

        Assert.Equal("FemagAws", Meta("id"));
        Assert.Equal(_package.Version, Meta("version"));
        Assert.Equal(manifest.Version.ToString(), Meta("version"));
        Assert.Equal(manifest.Author, Meta("authors"));
        Assert.Equal(manifest.Description, Meta("description"));
        Assert.Equal(manifest.Copyright, Meta("copyright"));

        var tags = Meta("tags").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(tags.Distinct(), tags);
        Assert.Contains("PSModule", tags);
        Assert.Contains("PSIncludes_Cmdlet", tags);
        Assert.Contains("PSEdition_Desktop", tags);
        Assert.Contains("PSEdition_Core", tags);
        Assert.All(manifest.Tags, tag => Assert.Contains(tag, tags));
        var exported = manifest.ExportedCmdlets.Keys.Order().ToList();
        Assert.Equal(Cmdlets, exported);
        Assert.Equal(exported, tags.Where(t => t.StartsWith("PSCmdlet_", StringComparison.Ordinal)).Select(t => t["PSCmdlet_".Length..]).Order());
        Assert.Equal(exported, tags.Where(t => t.StartsWith("PSCommand_", StringComparison.Ordinal)).Select(t => t["PSCommand_".Length..]).Order());
    }

    [Fact]
    public void Every_file_of_the_module_folder_is_in_the_package_unchanged_and_nothing_else()
    {
        var moduleDir = Path.GetDirectoryName(Repo.ModuleManifest)!;
        var folder = Directory.GetFiles(moduleDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(moduleDir, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
        var extracted = Directory.GetFiles(_package.ModuleBase, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_package.ModuleBase, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Contains("FemagAws.psd1", folder);
        Assert.Contains("en-US/FemagAws.dll-Help.xml", folder);
        Assert.Equal(folder, extracted);
        Assert.All(folder, file => Assert.True(
            Hash(Path.Combine(moduleDir, file)) == Hash(Path.Combine(_package.ModuleBase, file)),
            $"{file} differs between out/FemagAws and the package"));
    }

    [Fact]
    public void Test_ModuleManifest_passes_on_the_extracted_package_without_loading_it_here()
    {
        var manifest = TestModuleManifest(_package.ManifestPath);

        Assert.Equal("FemagAws", manifest.Name);
        Assert.Equal(_package.ModuleBase, manifest.ModuleBase.TrimEnd(Path.DirectorySeparatorChar));
        Assert.Equal("FemagAws.dll", manifest.RootModule);
        // This process imports out/FemagAws in other tests; an assembly of the same name from elsewhere must not load here.
        Assert.DoesNotContain(
            AppDomain.CurrentDomain.GetAssemblies(),
            a => !a.IsDynamic && a.Location.StartsWith(_package.ModuleBase + Path.DirectorySeparatorChar, StringComparison.Ordinal));
    }

    [Fact]
    public void The_extracted_package_imports_in_a_fresh_process_with_its_cmdlets_help_and_assemblies()
    {
        // A process of its own: this one already holds FemagAws.dll from out/FemagAws, and .NET loads an assembly
        // of one identity only once; here the package's copy is the only one.
        var run = ScriptProcess.Run(
            """
            param($Module, $Config)
            $ErrorActionPreference = 'Stop'
            Import-Module $Module
            $m = Get-Module FemagAws
            "BASE " + $m.ModuleBase
            "VERSION " + $m.Version
            foreach ($c in Get-Command -Module FemagAws) { "COMMAND " + $c.CommandType + " " + $c.Name + " " + $c.Module.ModuleBase }
            "EXAMPLES " + @((Get-Help New-FemagBucket -Full).examples.example).Count
            "REGION " + (Import-FemagConfig $Config).ServerLocation
            # Region completion asks the AWS SDK, which must load from the package as well.
            "COMPLETES " + ((TabExpansion2 -inputScript 'New-FemagBucket -Region eu-cen' -cursorColumn 30).CompletionMatches.Count -gt 0)
            foreach ($a in [AppDomain]::CurrentDomain.GetAssemblies()) {
                if ($a.GetName().Name -like 'FemagAws*' -or $a.GetName().Name -like 'AWSSDK.*') { "ASSEMBLY " + $a.GetName().Name + " " + $a.Location }
            }
            """,
            null, "-Module", _package.ModuleBase, "-Config", Path.Combine(Repo.Root, "examples", "config.ini"));

        Assert.True(run.ExitCode == 0, run.Output);
        var lines = run.Lines;
        Assert.DoesNotContain(lines, l => l.StartsWith("ERROR", StringComparison.Ordinal));
        Assert.Contains("BASE " + _package.ModuleBase, lines);
        Assert.Contains("VERSION " + _package.Version, lines);
        Assert.Equal(
            Cmdlets.Select(c => $"COMMAND Cmdlet {c} {_package.ModuleBase}"),
            lines.Where(l => l.StartsWith("COMMAND ", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        // The MAML help from the package's en-US/ (PowerShell's generated stub has no examples).
        var examples = int.Parse(lines.Single(l => l.StartsWith("EXAMPLES ", StringComparison.Ordinal))["EXAMPLES ".Length..]);
        Assert.True(examples >= 2, run.Output);
        // A cmdlet that runs the engine: FemagAws.Core and its dependencies load from the package too.
        Assert.Contains("REGION eu-central-1", lines);
        var assemblies = lines.Where(l => l.StartsWith("ASSEMBLY ", StringComparison.Ordinal)).ToList();
        Assert.Contains($"ASSEMBLY FemagAws {Path.Combine(_package.ModuleBase, "FemagAws.dll")}", assemblies);
        Assert.Contains("COMPLETES True", lines);
        Assert.Contains($"ASSEMBLY FemagAws.Core {Path.Combine(_package.ModuleBase, "dependencies", "FemagAws.Core.dll")}", assemblies);
        Assert.Contains($"ASSEMBLY AWSSDK.Core {Path.Combine(_package.ModuleBase, "dependencies", "AWSSDK.Core.dll")}", assemblies);
        Assert.All(assemblies, l => Assert.Contains(" " + _package.ModuleBase + Path.DirectorySeparatorChar, l));
    }

    /// <summary>Test-ModuleManifest in a fresh runspace of the hosted engine, without the module imported.</summary>
    private static PSModuleInfo TestModuleManifest(string path)
    {
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddCommand("Test-ModuleManifest").AddParameter("Path", path);
        var output = ps.Invoke();
        Assert.True(!ps.HadErrors, string.Join("\n", ps.Streams.Error.Select(e => $"{e.FullyQualifiedErrorId}: {e.Exception.Message}")));
        return (PSModuleInfo)Assert.Single(output).BaseObject;
    }

    private static string Hash(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
}

/// <summary>
/// out/FemagAws.&lt;version&gt;.nupkg, opened, and unpacked into a temporary folder named FemagAws as the installers
/// do (without the NuGet parts: [Content_Types].xml, _rels/, package/, the nuspec); removed after the tests.
/// </summary>
public sealed class ExtractedPackage : IDisposable
{
    private readonly string _root;

    public ExtractedPackage()
    {
        Version = XDocument.Load(Path.Combine(Repo.Root, "Directory.Build.props")).Descendants("ModuleVersion").Single().Value;
        PackagePath = Path.Combine(Repo.Root, "out", $"FemagAws.{Version}.nupkg");
        if (!File.Exists(PackagePath))
        {
            throw new InvalidOperationException($"{PackagePath} is missing: tools/FemagAws.Package builds it (dotnet pack tools/FemagAws.Package).");
        }

        _root = Directory.CreateTempSubdirectory("femag-package-").FullName;
        ModuleBase = Directory.CreateDirectory(Path.Combine(_root, "FemagAws")).FullName;
        using var zip = ZipFile.OpenRead(PackagePath);
        Entries = zip.Entries.Select(e => Uri.UnescapeDataString(e.FullName)).ToList();
        using (var nuspec = zip.GetEntry("FemagAws.nuspec")?.Open() ?? throw new InvalidOperationException("No FemagAws.nuspec at the package root."))
        {
            Nuspec = XDocument.Load(nuspec);
        }

        foreach (var entry in zip.Entries)
        {
            var name = Uri.UnescapeDataString(entry.FullName);
            if (name.EndsWith('/') || IsNuGetPart(name))
            {
                continue;
            }

            var target = Path.GetFullPath(Path.Combine(ModuleBase, name));
            Assert.StartsWith(ModuleBase + Path.DirectorySeparatorChar, target);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            entry.ExtractToFile(target);
        }
    }

    public string Version { get; }

    public string PackagePath { get; }

    /// <summary>Every entry of the package, '/'-separated, as NuGet wrote it.</summary>
    public IReadOnlyList<string> Entries { get; }

    public XDocument Nuspec { get; }

    /// <summary>The unpacked module folder, named FemagAws.</summary>
    public string ModuleBase { get; }

    public string ManifestPath => Path.Combine(ModuleBase, "FemagAws.psd1");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static bool IsNuGetPart(string name) =>
        name == "[Content_Types].xml" || name == "FemagAws.nuspec" || name.StartsWith("_rels/", StringComparison.Ordinal) ||
        name.StartsWith("package/", StringComparison.Ordinal);
}

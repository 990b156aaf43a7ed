using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Module;

/// <summary>
/// Get-Help in the real engine finds the MAML help that the build generates from the cmdlets' doc comments
/// (en-US/FemagAws.dll-Help.xml in the module folder), not PowerShell's auto-generated stub.
/// </summary>
public sealed class HelpTests : IDisposable
{
    private readonly PsSession _ps = new();

    public void Dispose() => _ps.Dispose();

    private static readonly string[] Names =
    {
        "Export-FemagReport", "Get-FemagBucket", "Get-FemagJob", "Get-FemagJobLog", "Import-FemagConfig", "New-FemagBucket", "Receive-FemagResult", "Remove-FemagBucket", "Start-FemagInstance",
        "Stop-FemagInstance", "Wait-FemagJob",
    };

    public static TheoryData<string> Cmdlets() => new(Names);

    [Fact]
    public void Every_exported_cmdlet_is_covered_here()
    {
        var exported = Strings("(Get-Module FemagAws).ExportedCmdlets.Keys");

        Assert.Equal(Names.Order(), exported.Order());
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void Get_Help_Full_shows_the_authored_synopsis_and_description(string name)
    {
        var help = Help(name);

        // The auto-generated stub is an ExtendedCmdletHelpInfo whose synopsis is the syntax line.
        Assert.Contains("MamlCommandHelpInfo", help.TypeNames);
        var synopsis = (string)help.Properties["Synopsis"].Value;
        Assert.Equal(AuthoredSynopsis(name), Normalize(synopsis));
        Assert.DoesNotContain("[<CommonParameters>]", synopsis);
        Assert.False(synopsis.TrimStart().StartsWith(name, StringComparison.OrdinalIgnoreCase), synopsis);

        var description = string.Join("\n", Strings("@((Get-Help -Name $args[0] -Full).description) | ForEach-Object { $_.Text }", name));
        Assert.True(description.Trim().Length > 40, $"{name}: description is '{description}'");
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void Get_Help_Full_describes_every_parameter(string name)
    {
        var parameters = Strings("(Get-Command -Name $args[0]).Parameters.Keys | Where-Object { [System.Management.Automation.Cmdlet]::CommonParameters -notcontains $_ }", name);
        var described = Strings(
            "foreach ($p in @((Get-Help -Name $args[0] -Full).parameters.parameter)) { [string]$p.name + '=' + ((@($p.description) | ForEach-Object { $_.Text }) -join ' ') }",
            name).Select(line => line.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1].Trim(), StringComparer.OrdinalIgnoreCase);

        Assert.NotEmpty(parameters);
        var missing = parameters.Where(p => !described.TryGetValue(p, out var text) || text.Length == 0).ToList();
        Assert.True(missing.Count == 0, $"{name}: no description in Get-Help for -{string.Join(", -", missing)}");

        // And nothing documented that the cmdlet does not have.
        Assert.Empty(described.Keys.Except(parameters, StringComparer.OrdinalIgnoreCase));
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void Get_Help_Full_has_at_least_two_examples_with_code_and_remarks(string name)
    {
        var examples = Strings(
            "foreach ($e in @((Get-Help -Name $args[0] -Full).examples.example)) { [string]$e.title + '|' + [string]$e.code + '|' + ((@($e.remarks) | ForEach-Object { $_.Text }) -join ' ') }",
            name);

        Assert.True(examples.Count >= 2, $"{name}: {examples.Count} example(s)");
        for (var i = 0; i < examples.Count; i++)
        {
            var parts = examples[i].Split('|', 3);
            Assert.Contains($"EXAMPLE {i + 1}", parts[0]);
            Assert.False(string.IsNullOrWhiteSpace(parts[1]), $"{name}: example {i + 1} has no code");
            Assert.False(string.IsNullOrWhiteSpace(parts[2]), $"{name}: example {i + 1} has no remarks");
        }
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void One_example_at_least_is_a_pipeline(string name)
    {
        var codes = Strings("foreach ($e in @((Get-Help -Name $args[0] -Full).examples.example)) { [string]$e.code }", name);

        Assert.Contains(codes, code => code.Contains(" | ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_help_generator_fails_the_build_for_a_parameter_without_a_description()
    {
        var doc = DocFile();
        var sessionToken = doc.Descendants("member").Single(m => (string?)m.Attribute("name") == "P:FemagAws.Internal.FemagAwsCmdlet.SessionToken");
        sessionToken.Descendants("para").Single(p => (string?)p.Attribute("type") == "description").Remove();
        var dir = Directory.CreateTempSubdirectory("femag-helpgen-").FullName;
        try
        {
            var docPath = Path.Combine(dir, "FemagAws.xml");
            doc.Save(docPath);
            var outPath = Path.Combine(dir, "FemagAws.dll-Help.xml");
            var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { BuildOutput("tools", "FemagAws.HelpGen", "net10.0", "FemagAws.HelpGen.dll"), BuildOutput("src", "FemagAws", "netstandard2.0", "FemagAws.dll"), docPath, outPath })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();

            Assert.Equal(1, process.ExitCode);
            Assert.Contains("error HELPGEN001", output);
            Assert.Contains("SessionToken", output);
            Assert.False(File.Exists(outPath));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Get_Help_shows_pipeline_input_and_output_types()
    {
        var job = Strings("$h = Get-Help -Name Start-FemagInstance -Full; [string]$h.inputTypes.inputType.type.name; [string]$h.returnValues.returnValue.type.name; [string]@($h.parameters.parameter)[0].pipelineInput");

        Assert.Equal(new[] { "FemagAws.FemagJob", "FemagAws.FemagJob", "True (ByValue)" }, job);
    }

    [Fact]
    public void Inherited_parameters_carry_the_base_class_descriptions()
    {
        var region = Strings("@((Get-Help -Name Wait-FemagJob -Full).parameters.parameter) | Where-Object { $_.name -eq 'Region' } | ForEach-Object { $_.description[0].Text; $_.aliases }");

        Assert.Equal(2, region.Count);
        Assert.Contains("server_location", region[0]);
        Assert.Equal("RegionToCall", region[1]);
    }

    [Fact]
    public void Get_Help_about_FemagAws_shows_the_conceptual_topic()
    {
        var text = string.Join("\n", Strings("Get-Help -Name about_FemagAws"));

        Assert.StartsWith("TOPIC", text.TrimStart());
        Assert.Contains("SHORT DESCRIPTION", text);
        Assert.Contains("LONG DESCRIPTION", text);
        Assert.Contains("New-FemagBucket -ConfigFile config.ini", text);
        Assert.Contains("Import-Clixml", text);

        // The subjects the topic must cover: pipeline, keys, credential and region order, instance side, scheduled tasks.
        foreach (var subject in new[]
                 {
                     "THE PIPELINE", "THE CONFIGURATION FILE", "server_location", "max_instances", "CREDENTIALS AND REGION", "-ProfileLocation",
                     "-AccessKey", "-Credential", "AWS_PROFILE", "aws sso login", "-Debug", "THE INSTANCE SIDE", "{{ENV}}", "exit_code",
                     "RUNNING FROM SCHEDULED TASKS", "-Confirm:$false", "-Force", "instance profile", "TAB COMPLETION", "NEXT TO AWS TOOLS",
                 })
        {
            Assert.Contains(subject, text);
        }
    }

    [Fact]
    public void The_committed_help_is_the_one_in_the_module_folder()
    {
        var committed = Path.Combine(Repo.Root, "en-US", "FemagAws.dll-Help.xml");
        var laidOut = Path.Combine(Path.GetDirectoryName(Repo.ModuleManifest)!, "en-US", "FemagAws.dll-Help.xml");

        Assert.Equal(File.ReadAllText(committed), File.ReadAllText(laidOut));
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(Repo.ModuleManifest)!, "en-US", "about_FemagAws.help.txt")));
    }

    private PSObject Help(string name)
    {
        var result = _ps.Run("Get-Help -Name $args[0] -Full", name);
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        return Assert.Single(result.Output);
    }

    private List<string> Strings(string script, params object?[] args)
    {
        var result = _ps.Run(script, args);
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        return result.Output.Select(o => o?.BaseObject?.ToString() ?? string.Empty).ToList();
    }

    /// <summary>The synopsis as written in the cmdlet class's doc comment (the compiler's XML doc file).</summary>
    private string AuthoredSynopsis(string name)
    {
        var typeName = Strings("(Get-Command -Name $args[0]).ImplementingType.FullName", name).Single();
        var member = DocFile().Descendants("member").Single(m => (string?)m.Attribute("name") == "T:" + typeName);
        var para = member.Descendants("para").Single(p => (string?)p.Attribute("type") == "synopsis");
        return Normalize(para.Value);
    }

    /// <summary>FemagAws.xml of the build the tests run from (bin/&lt;Configuration&gt;/…), else the newest one.</summary>
    private static XDocument DocFile() => XDocument.Load(DocPath());

    private static string DocPath()
    {
        var own = BuildOutput("src", "FemagAws", "netstandard2.0", "FemagAws.xml");
        return File.Exists(own)
            ? own
            : Directory.EnumerateFiles(Path.Combine(Repo.Root, "src", "FemagAws", "bin"), "FemagAws.xml", SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).First();
    }

    /// <summary>A file in a project's bin folder of the configuration the tests were built in.</summary>
    private static string BuildOutput(string folder, string project, string framework, string file)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Debug";
        return Path.Combine(Repo.Root, folder, project, "bin", configuration, framework, file);
    }

    private static string Normalize(string text) => Regex.Replace(text, @"\s+", " ").Trim();
}

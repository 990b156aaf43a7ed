using System.Management.Automation.Language;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Module;

/// <summary>
/// Every PowerShell script of the repository (build, example, Pester files), even one no test runs, parses in
/// PowerShell 7's own parser.
/// </summary>
public sealed class ScriptFileTests
{
    public static TheoryData<string> Scripts() => new(
        Directory.EnumerateFiles(Repo.Root, "*.ps1", SearchOption.TopDirectoryOnly)
            .Concat(Directory.EnumerateFiles(Path.Combine(Repo.Root, "tests"), "*.ps1"))
            .Concat(Directory.EnumerateFiles(Path.Combine(Repo.Root, "examples"), "*.ps1"))
            .Select(p => Path.GetRelativePath(Repo.Root, p))
            .Order());

    [Theory]
    [MemberData(nameof(Scripts))]
    public void The_script_parses(string script)
    {
        Parser.ParseFile(Path.Combine(Repo.Root, script), out _, out var errors);

        Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => $"{e.Extent.StartLineNumber}: {e.Message}")));
    }
}

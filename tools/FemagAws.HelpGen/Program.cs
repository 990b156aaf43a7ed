using System.Management.Automation;
using System.Reflection;
using FemagAws.HelpGen;

// Usage: FemagAws.HelpGen <module.dll> <module.xml> <out/Module.dll-Help.xml> [--link <related topic>]...
// Writes MAML help for every public cmdlet of the assembly from its XML doc comments (XmlDoc2CmdletDoc style).
// Exits 1, writing nothing, when a cmdlet lacks a synopsis, a description, two examples or a parameter description.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: FemagAws.HelpGen <module.dll> <module.xml> <output-Help.xml> [--link <related topic>]...");
    return 2;
}

var dllPath = Path.GetFullPath(args[0]);
var docPath = Path.GetFullPath(args[1]);
var outPath = Path.GetFullPath(args[2]);
var links = new List<string>();
for (var i = 3; i < args.Length; i++)
{
    if (args[i] == "--link" && i + 1 < args.Length)
    {
        links.Add(args[++i]);
    }
    else
    {
        Console.Error.WriteLine($"FemagAws.HelpGen: unknown argument '{args[i]}'.");
        return 2;
    }
}

foreach (var input in new[] { dllPath, docPath })
{
    if (!File.Exists(input))
    {
        Console.Error.WriteLine($"{input} : error HELPGEN000: file not found. Is GenerateDocumentationFile set in the module's project?");
        return 1;
    }
}

// Assembly.LoadFrom resolves the module's own dependencies (FemagAws.Core, the AWS SDK) from its folder;
// System.Management.Automation binds to the 7.6.9 this tool references, so the attributes are the real types.
var assembly = Assembly.LoadFrom(dllPath);
var docs = DocComments.Load(docPath, Path.GetDirectoryName(dllPath)!);
var cmdlets = CmdletModel.Read(assembly, docs, out var problems);

if (cmdlets.Count == 0)
{
    problems.Add(new Problem("(assembly)", $"{Path.GetFileName(dllPath)} has no public cmdlet classes."));
}

if (problems.Count > 0)
{
    // Canonical MSBuild error format, so each problem shows up as a build error of its own.
    foreach (var problem in problems)
    {
        Console.WriteLine($"{docPath} : error HELPGEN001: {problem.Cmdlet}: {problem.Message}");
    }

    Console.WriteLine($"{docPath} : error HELPGEN001: help not written: {problems.Count} problem(s). Every cmdlet needs <para type=\"synopsis\">, <para type=\"description\"> and at least 2 <example>s; every parameter a <para type=\"description\">.");
    return 1;
}

var bytes = MamlWriter.Write(cmdlets, links);

// Re-read what was produced: it must be well-formed and hold one command per cmdlet.
var check = MamlWriter.Verify(bytes);
if (check != cmdlets.Count)
{
    Console.WriteLine($"{outPath} : error HELPGEN002: the written help holds {check} commands, expected {cmdlets.Count}.");
    return 1;
}

Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);

// Unchanged help keeps its timestamp, so incremental builds and editors are not disturbed.
if (!File.Exists(outPath) || !File.ReadAllBytes(outPath).AsSpan().SequenceEqual(bytes))
{
    var temp = outPath + ".tmp";
    File.WriteAllBytes(temp, bytes);
    File.Move(temp, outPath, overwrite: true);
    Console.WriteLine($"FemagAws.HelpGen: wrote help for {cmdlets.Count} cmdlets to {outPath}");
}
else
{
    Console.WriteLine($"FemagAws.HelpGen: help for {cmdlets.Count} cmdlets in {outPath} is up to date");
}

if (MamlWriter.Verify(File.ReadAllBytes(outPath)) != cmdlets.Count)
{
    Console.WriteLine($"{outPath} : error HELPGEN002: the file on disk does not read back as the help just written.");
    return 1;
}

return 0;

using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace FemagAws.HelpGen;

/// <summary>Writes cmdlet help as MAML, the format Get-Help reads from &lt;Module&gt;.dll-Help.xml.</summary>
public static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    private static readonly XNamespace MsHelp = "http://msdn.microsoft.com/mshelp";

    public static byte[] Write(IEnumerable<CmdletHelp> cmdlets, IReadOnlyList<string> links)
    {
        var root = new XElement(Msh + "helpItems",
            new XAttribute("schema", "maml"),
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XAttribute(XNamespace.Xmlns + "MSHelp", MsHelp),
            cmdlets.Select(c => CommandElement(c, links)));

        var settings = new XmlWriterSettings
        {
            Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
            Indent = true,
            IndentChars = "  ",
            NewLineChars = "\n",
            NewLineHandling = NewLineHandling.Replace,
        };
        using var stream = new MemoryStream();
        using (var writer = XmlWriter.Create(stream, settings))
        {
            new XDocument(new XDeclaration("1.0", "utf-8", null), root).Save(writer);
        }

        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    /// <summary>Parses written help; returns how many commands it holds. Throws when it is not well-formed MAML.</summary>
    public static int Verify(byte[] maml)
    {
        using var stream = new MemoryStream(maml);
        var doc = XDocument.Load(stream);
        if (doc.Root?.Name != Msh + "helpItems" || (string?)doc.Root.Attribute("schema") != "maml")
        {
            throw new InvalidDataException("The help's root is not <helpItems schema=\"maml\">.");
        }

        return doc.Root.Elements(Command + "command").Count(c => c.Element(Command + "details")?.Element(Command + "name")?.Value.Length > 0);
    }

    private static XElement CommandElement(CmdletHelp cmdlet, IReadOnlyList<string> links) =>
        new(Command + "command",
            new XElement(Command + "details",
                new XElement(Command + "name", cmdlet.Name),
                new XElement(Command + "verb", cmdlet.Verb),
                new XElement(Command + "noun", cmdlet.Noun),
                Description(new[] { cmdlet.Synopsis })),
            Description(cmdlet.Description),
            new XElement(Command + "syntax",
                cmdlet.ParameterSets.Select(set => SyntaxItem(cmdlet, set))),
            new XElement(Command + "parameters",
                cmdlet.Parameters.Select(p => Parameter(p, p.Mandatory, p.Position, p.ByValue, p.ByPropertyName, inSyntax: false))),
            new XElement(Command + "inputTypes",
                cmdlet.Inputs.Select(i => new XElement(Command + "inputType", TypeElement(i.Name), Description(new[] { i.Description })))),
            new XElement(Command + "returnValues",
                cmdlet.Outputs.Select(o => new XElement(Command + "returnValue", TypeElement(o.Name), Description(new[] { o.Description })))),
            new XElement(Command + "examples",
                cmdlet.Examples.Select((e, i) => new XElement(Command + "example",
                    new XElement(Maml + "title", $"-------------------------- EXAMPLE {i + 1} --------------------------"),
                    new XElement(Dev + "code", e.Code),
                    // The trailing empty paragraph puts a blank line between examples, as in PowerShell's own help.
                    new XElement(Dev + "remarks", e.Remarks.Select(Para), Para(string.Empty))))),
            new XElement(Command + "relatedLinks",
                links.Select(l => new XElement(Maml + "navigationLink",
                    new XElement(Maml + "linkText", l),
                    new XElement(Maml + "uri")))));

    private static XElement SyntaxItem(CmdletHelp cmdlet, string set)
    {
        // As PowerShell orders syntax: positional parameters by position, then mandatory ones, then the rest.
        var parameters = cmdlet.Parameters
            .Where(p => p.InSet(set))
            .Select(p => (Parameter: p, Binding: p.BindingIn(set)))
            .OrderBy(x => x.Binding.Position ?? int.MaxValue)
            .ThenBy(x => x.Binding.Mandatory ? 0 : 1)
            .ThenBy(x => x.Parameter.Order);
        return new XElement(Command + "syntaxItem",
            new XElement(Maml + "name", cmdlet.Name),
            parameters.Select(x => Parameter(x.Parameter, x.Binding.Mandatory, x.Binding.Position, x.Binding.ByValue, x.Binding.ByPropertyName, inSyntax: true)));
    }

    private static XElement Parameter(ParameterHelp parameter, bool required, int? position, bool byValue, bool byPropertyName, bool inSyntax)
    {
        var element = new XElement(Command + "parameter",
            new XAttribute("required", Bool(required)),
            new XAttribute("variableLength", Bool(parameter.Type.IsArray)),
            new XAttribute("globbing", "false"),
            new XAttribute("pipelineInput", PipelineInput(byValue, byPropertyName)),
            new XAttribute("position", position?.ToString(CultureInfo.InvariantCulture) ?? "named"),
            new XAttribute("aliases", parameter.Aliases.Count > 0 ? string.Join(", ", parameter.Aliases) : "none"),
            new XElement(Maml + "name", parameter.Name));

        // The syntax needs only name, value and type; words and defaults are in the parameters section.
        if (!inSyntax)
        {
            element.Add(Description(parameter.Description));
        }

        // A switch takes no value: its syntax is [-Force], its parameter entry -Force [<SwitchParameter>].
        if (!(inSyntax && parameter.IsSwitch))
        {
            element.Add(new XElement(Command + "parameterValue",
                new XAttribute("required", Bool(!parameter.IsSwitch)),
                new XAttribute("variableLength", Bool(parameter.Type.IsArray)),
                TypeNames.Short(parameter.Type)));
        }

        element.Add(TypeElement(TypeNames.Full(parameter.Type)));
        if (!inSyntax)
        {
            element.Add(new XElement(Dev + "defaultValue", parameter.DefaultValue ?? "None"));
        }

        return element;
    }

    private static string PipelineInput(bool byValue, bool byPropertyName) => (byValue, byPropertyName) switch
    {
        (true, true) => "True (ByValue, ByPropertyName)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };

    private static XElement TypeElement(string name) =>
        new(Dev + "type", new XElement(Maml + "name", name), new XElement(Maml + "uri"));

    private static XElement Description(IEnumerable<string> paragraphs) =>
        new(Maml + "description", paragraphs.Where(p => p.Length > 0).Select(Para));

    private static XElement Para(string text) => new(Maml + "para", text);

    private static string Bool(bool value) => value ? "true" : "false";
}

using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace FemagAws.HelpGen;

/// <summary>The members of one or more XML documentation files, by id (T:Type, P:Type.Property).</summary>
public sealed partial class DocComments
{
    private readonly Dictionary<string, XElement> _members = new(StringComparer.Ordinal);

    /// <summary>Reads the module's doc file, and the doc files of the assemblies beside it (for output types).</summary>
    public static DocComments Load(string docPath, string assemblyFolder)
    {
        var docs = new DocComments();
        docs.Add(docPath);
        foreach (var other in Directory.EnumerateFiles(assemblyFolder, "*.xml"))
        {
            if (!string.Equals(Path.GetFullPath(other), docPath, StringComparison.Ordinal) &&
                File.Exists(Path.ChangeExtension(other, ".dll")))
            {
                try
                {
                    docs.Add(other);
                }
                catch (System.Xml.XmlException)
                {
                    // Not a doc file; only the module's own one is required.
                }
            }
        }

        return docs;
    }

    public XElement? Member(string id) => _members.TryGetValue(id, out var member) ? member : null;

    /// <summary>The paragraphs &lt;para type="<paramref name="type"/>"&gt; directly inside the member's summary (or the member itself).</summary>
    public static List<string> Paras(XElement? member, string type)
    {
        if (member == null)
        {
            return new List<string>();
        }

        return member.Descendants("para")
            .Where(p => (string?)p.Attribute("type") == type)
            .Select(Text)
            .Where(t => t.Length > 0)
            .ToList();
    }

    /// <summary>A summary as plain text, for the descriptions of input and output types.</summary>
    public static string Summary(XElement? member) => member?.Element("summary") is { } summary ? Text(summary) : string.Empty;

    /// <summary>The text of an element with whitespace collapsed; see/c/paramref become their names.</summary>
    public static string Text(XElement element)
    {
        var text = new StringBuilder();
        AppendText(text, element);
        return Whitespace().Replace(text.ToString(), " ").Trim();
    }

    /// <summary>Code as written: common indentation and surrounding blank lines removed, line breaks kept.</summary>
    public static string Code(XElement element)
    {
        var lines = element.Value.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[0].Length == 0)
        {
            lines.RemoveAt(0);
        }

        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        var indent = lines.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l.Substring(indent) : l));
    }

    private void Add(string path)
    {
        var doc = XDocument.Load(path);
        foreach (var member in doc.Descendants("member"))
        {
            if ((string?)member.Attribute("name") is { } name)
            {
                _members.TryAdd(name, member);
            }
        }
    }

    private static void AppendText(StringBuilder text, XElement element)
    {
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText t:
                    text.Append(t.Value);
                    break;
                case XElement { Name.LocalName: "see" or "seealso" } see:
                    var name = (string?)see.Attribute("cref") ?? (string?)see.Attribute("langword") ?? (string?)see.Attribute("href") ?? string.Empty;
                    text.Append(see.IsEmpty || see.Value.Length == 0 ? ShortName(name) : see.Value);
                    break;
                case XElement { Name.LocalName: "paramref" or "typeparamref" } reference:
                    text.Append((string?)reference.Attribute("name"));
                    break;
                case XElement { Name.LocalName: "para" } para:
                    text.Append(' ');
                    AppendText(text, para);
                    text.Append(' ');
                    break;
                case XElement other:
                    AppendText(text, other);
                    break;
            }
        }
    }

    private static string ShortName(string cref)
    {
        var name = cref.Length > 2 && cref[1] == ':' ? cref.Substring(2) : cref;
        var paren = name.IndexOf('(');
        if (paren >= 0)
        {
            name = name.Substring(0, paren);
        }

        return name.Substring(name.LastIndexOf('.') + 1);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

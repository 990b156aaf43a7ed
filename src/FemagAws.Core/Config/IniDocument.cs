using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FemagAws.Config
{
    /// <summary>One <c>key = value</c> entry and the line it came from, for error messages.</summary>
    public sealed class IniEntry
    {
        public IniEntry(string key, string value, int line)
        {
            Key = key;
            Value = value;
            Line = line;
        }

        public string Key { get; }

        public string Value { get; internal set; }

        public int Line { get; }
    }

    /// <summary>
    /// A small INI reader with the rules of Python's configparser that femagtools configs rely on:
    /// <c>=</c> or <c>:</c>, whole-line <c>#</c>/<c>;</c> comments, indented continuation lines,
    /// case-insensitive keys, [DEFAULT] inherited by every section, duplicates rejected. As femagtools' default
    /// ConfigParser, it has no inline comments: a <c>;</c> or <c>#</c> after a value is part of the value.
    /// Unlike configparser it tolerates a UTF-8 BOM and does no % interpolation.
    /// </summary>
    public sealed class IniDocument
    {
        private readonly Dictionary<string, List<IniEntry>> _sections = new Dictionary<string, List<IniEntry>>(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _sectionLines = new Dictionary<string, int>(StringComparer.Ordinal);

        private IniDocument(string? path)
        {
            Path = path;
        }

        public string? Path { get; }

        public IEnumerable<string> SectionNames => _sections.Keys;

        public static IniDocument Load(string path)
        {
            string text;
            try
            {
                // detectEncodingFromByteOrderMarks drops the BOM Windows PowerShell 5.1 writes.
                using (var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true))
                {
                    text = reader.ReadToEnd();
                }
            }
            catch (Exception ex) when (ex is FileNotFoundException || ex is DirectoryNotFoundException)
            {
                throw new FemagException("FemagConfigNotFound", FemagErrorKind.ObjectNotFound,
                    $"Configuration file '{path}' was not found. Pass the path of an INI file with an [amazon] section, e.g. -ConfigFile ./config.ini.", ex);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new FemagException("FemagConfigUnreadable", FemagErrorKind.ResourceUnavailable,
                    $"Configuration file '{path}' cannot be read: {ex.Message}", ex);
            }

            return Parse(text, path);
        }

        public static IniDocument Parse(string text, string? path = null)
        {
            var doc = new IniDocument(path);
            if (text.Length > 0 && text[0] == '\uFEFF')
            {
                text = text.Substring(1);
            }

            var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
            List<IniEntry>? section = null;
            IniEntry? last = null;
            for (var i = 0; i < lines.Length; i++)
            {
                var lineNo = i + 1;
                var raw = lines[i];
                var trimmed = raw.Trim();
                if (trimmed.Length == 0)
                {
                    last = null;
                    continue;
                }

                if (trimmed[0] == '#' || trimmed[0] == ';')
                {
                    continue;
                }

                if (char.IsWhiteSpace(raw[0]) && last != null)
                {
                    last.Value = last.Value.Length == 0 ? trimmed : last.Value + "\n" + trimmed;
                    continue;
                }

                if (trimmed[0] == '[')
                {
                    if (trimmed[trimmed.Length - 1] != ']')
                    {
                        throw new FemagConfigException(path, lineNo, $"section header '{trimmed}' has no closing ']'.");
                    }

                    var name = trimmed.Substring(1, trimmed.Length - 2).Trim();
                    if (doc._sections.ContainsKey(name))
                    {
                        throw new FemagConfigException(path, lineNo, $"section [{name}] appears twice (first on line {doc._sectionLines[name]}); merge them into one.");
                    }

                    section = new List<IniEntry>();
                    doc._sections.Add(name, section);
                    doc._sectionLines.Add(name, lineNo);
                    last = null;
                    continue;
                }

                if (section == null)
                {
                    throw new FemagConfigException(path, lineNo, $"'{trimmed}' stands before any section header; put it under [amazon].");
                }

                var eq = raw.IndexOf('=');
                var colon = raw.IndexOf(':');
                var split = eq < 0 ? colon : colon < 0 ? eq : Math.Min(eq, colon);
                if (split <= 0 || raw.Substring(0, split).Trim().Length == 0)
                {
                    throw new FemagConfigException(path, lineNo, $"expected 'key = value' but found '{trimmed}'.");
                }

                var key = raw.Substring(0, split).Trim().ToLowerInvariant();
                var value = raw.Substring(split + 1).Trim();
                var twin = section.Find(e => e.Key == key);
                if (twin != null)
                {
                    throw new FemagConfigException(path, lineNo, $"key '{key}' is set twice (first on line {twin.Line}); keep one.");
                }

                last = new IniEntry(key, value, lineNo);
                section.Add(last);
            }

            return doc;
        }

        public int SectionLine(string name) => _sectionLines.TryGetValue(name, out var line) ? line : 0;

        /// <summary>The entries of a section, with [DEFAULT] entries it does not override added, as configparser does.</summary>
        public IReadOnlyList<IniEntry> Entries(string name)
        {
            var result = new List<IniEntry>(_sections[name]);
            if (!string.Equals(name, "DEFAULT", StringComparison.Ordinal) && _sections.TryGetValue("DEFAULT", out var defaults))
            {
                foreach (var entry in defaults)
                {
                    if (!result.Exists(e => e.Key == entry.Key))
                    {
                        result.Add(entry);
                    }
                }
            }

            return result;
        }
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using FemagAws.Aws.S3;

namespace FemagAws.Jobs
{
    /// <summary>
    /// What a platform's file system makes of result keys as file names. S3 allows keys that a folder cannot take, or
    /// that two keys share as one file (Windows and macOS ignore case, so 'a.txt' and 'A.txt' overwrite each other and
    /// deleting the bucket then loses one of them); each key is checked against the rules of the platform that receives
    /// it, and the rule sets of the other platforms are here for the tests.
    /// </summary>
    public sealed class KeyPathRules
    {
        /// <summary>Case-sensitive; a name is at most 255 bytes of UTF-8.</summary>
        public static readonly KeyPathRules Linux = new KeyPathRules("Linux", name => Encoding.UTF8.GetByteCount(name), "bytes", fold: name => name, windowsNames: false, sameFile: null);

        /// <summary>As APFS and HFS+ are formatted by default: case- and normalization-insensitive, 255 bytes of UTF-8 a name.</summary>
        public static readonly KeyPathRules MacOS = new KeyPathRules("macOS", name => Encoding.UTF8.GetByteCount(name), "bytes",
            fold: name => name.Normalize(NormalizationForm.FormD).ToUpperInvariant(), windowsNames: false, sameFile: "they differ only in case or in how an accented letter is encoded");

        /// <summary>Case-insensitive; reserved device names, '&lt;&gt;:"/\|?*', control characters and a trailing dot or space are refused; 255 UTF-16 units a name.</summary>
        public static readonly KeyPathRules Windows = new KeyPathRules("Windows", name => name.Length, "UTF-16 characters",
            fold: name => name.ToUpperInvariant(), windowsNames: true, sameFile: "they differ only in case");

        private const int MaxName = 255;
        private const string WindowsInvalid = "<>:\"/\\|?*";
        private static readonly HashSet<string> DeviceNames = new HashSet<string>(
            new[] { "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$" }
                .Concat(new[] { "COM", "LPT" }.SelectMany(p => "0123456789\u00b9\u00b2\u00b3".Select(d => p + d))),
            StringComparer.OrdinalIgnoreCase);

        private readonly Func<string, int> _length;
        private readonly string _unitName;
        private readonly Func<string, string> _fold;
        private readonly bool _windowsNames;
        private readonly string? _sameFile;

        private KeyPathRules(string platform, Func<string, int> length, string unitName, Func<string, string> fold, bool windowsNames, string? sameFile)
        {
            Platform = platform;
            _length = length;
            _unitName = unitName;
            _fold = fold;
            _windowsNames = windowsNames;
            _sameFile = sameFile;
        }

        /// <summary>The rules of the platform this process runs on.</summary>
        public static KeyPathRules Current =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? Windows : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? MacOS : Linux;

        public string Platform { get; }

        /// <summary>
        /// The keys that cannot each get a file of their own here, with the reason: a name this platform does not allow,
        /// two keys that would be one file, or a file where other keys need a folder. The keys are relative paths that
        /// <see cref="ResultReceiver.ResolveKeyPath"/> accepted ('/'-separated, a trailing '/' for a folder); the rest
        /// can all be written.
        /// </summary>
        public Dictionary<string, string> Refusals(IEnumerable<string> keys)
        {
            var refused = new Dictionary<string, string>(StringComparer.Ordinal);
            var files = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            var folders = new HashSet<string>(StringComparer.Ordinal);
            foreach (var key in keys.Distinct(StringComparer.Ordinal))
            {
                var isFolder = key.EndsWith("/", StringComparison.Ordinal);
                var parts = key.TrimEnd('/').Split('/');
                var why = parts.Select((part, i) => WhyNot(part, isFile: !isFolder && i == parts.Length - 1)).FirstOrDefault(w => w != null);
                if (why != null)
                {
                    refused[key] = why;
                    continue;
                }

                for (var i = 1; i < parts.Length; i++)
                {
                    folders.Add(_fold(string.Join("/", parts, 0, i)));
                }

                var identity = _fold(string.Join("/", parts));
                if (isFolder)
                {
                    folders.Add(identity);
                }
                else
                {
                    if (!files.TryGetValue(identity, out var same))
                    {
                        files[identity] = same = new List<string>();
                    }

                    same.Add(key);
                }
            }

            foreach (var pair in files)
            {
                foreach (var key in pair.Value)
                {
                    if (pair.Value.Count > 1)
                    {
                        var others = string.Join("', '", pair.Value.Where(k => k != key).OrderBy(k => k, StringComparer.Ordinal));
                        refused[key] = $"it and '{others}' would be one file on {Platform}, because {_sameFile}";
                    }
                    else if (folders.Contains(pair.Key))
                    {
                        refused[key] = "other keys need a folder of that name";
                    }
                }
            }

            return refused;
        }

        /// <summary>Why one part of a key cannot be a name here, or null.</summary>
        private string? WhyNot(string name, bool isFile)
        {
            if (_windowsNames)
            {
                var bad = name.FirstOrDefault(c => c < ' ' || WindowsInvalid.IndexOf(c) >= 0);
                if (bad != default(char))
                {
                    return bad < ' '
                        ? $"'{name}' holds a control character, which {Platform} does not allow in a name"
                        : $"'{name}' holds '{bad}', which {Platform} does not allow in a name";
                }

                if (name.EndsWith(".", StringComparison.Ordinal) || name.EndsWith(" ", StringComparison.Ordinal))
                {
                    return $"'{name}' ends in a dot or a space, which {Platform} drops, so it would be written under another name";
                }

                var stem = name.Split('.')[0].TrimEnd(' ');
                if (DeviceNames.Contains(stem))
                {
                    return $"'{stem.ToUpperInvariant()}' is a device name {Platform} reserves, with any extension";
                }
            }

            // A file is first written under its name plus the download's suffix, which must fit too.
            var limit = isFile ? MaxName - JobBuckets.PartialDownloadSuffix.Length : MaxName;
            if (_length(name) > limit)
            {
                return string.Format(CultureInfo.InvariantCulture, "'{0}…' is longer than {1} {2}: a name on {3} has at most {4}{5}",
                    name.Substring(0, 20), limit, _unitName, Platform, MaxName, isFile ? $", and the download first writes the file with '{JobBuckets.PartialDownloadSuffix}' added" : string.Empty);
            }

            return null;
        }
    }
}

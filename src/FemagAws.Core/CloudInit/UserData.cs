using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace FemagAws.CloudInit
{
    /// <summary>Renders the user's cloud-init script into the user data of one job's instance.</summary>
    public static class UserData
    {
        /// <summary>EC2 rejects user data above 16 KB before base64.</summary>
        public const int MaxBytes = 16 * 1024;

        public const string EnvMarker = "{{ENV}}";

        /// <summary>Reads and renders the config's cloud-init file for a bucket; checks it exists and fits.</summary>
        /// <param name="config">The job's config.</param>
        /// <param name="bucketName">The job's bucket.</param>
        /// <param name="expectedBucketOwner">The account id that owns the bucket; null where the endpoint gives none.</param>
        public static string Render(FemagConfig config, string bucketName, string? expectedBucketOwner)
        {
            var userData = Render(Read(config), config, bucketName, expectedBucketOwner);
            var size = Encoding.UTF8.GetByteCount(userData);
            if (size > MaxBytes)
            {
                throw new FemagException("FemagUserDataTooLarge", FemagErrorKind.LimitsExceeded,
                    $"The rendered cloud-init for bucket {bucketName} is {size} bytes; EC2 accepts at most {MaxBytes}. Shorten '{config.CloudInit}' or fetch the bulk of the script from the bucket.");
            }

            return userData;
        }

        /// <summary>
        /// What to warn about in the config's cloud-init script, for the cmdlets to say: whether no line starts with
        /// {{ENV}} (the instance then never learns BUCKET_NAME), and which unknown keys (see
        /// <see cref="FemagConfig.UnknownKeys"/>) the script does not read as $KEY or ${KEY}. A script that cannot be
        /// read gives nothing to warn about: rendering it reports that error.
        /// </summary>
        public static CloudInitAdvice Advise(FemagConfig config)
        {
            string template;
            try
            {
                template = Read(config);
            }
            catch (FemagException)
            {
                return new CloudInitAdvice(false, Array.Empty<KeyValuePair<string, string?>>());
            }

            var lacksEnv = !Lines(template).Any(line => line.StartsWith(EnvMarker, StringComparison.Ordinal));
            var unread = config.UnknownKeys().Where(pair => !ReadsVariable(template, pair.Key.ToUpperInvariant())).ToList();
            return new CloudInitAdvice(lacksEnv, unread);
        }

        private static bool ReadsVariable(string script, string name) =>
            System.Text.RegularExpressions.Regex.IsMatch(script, @"\$\{?" + name + @"(?![A-Za-z0-9_])", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        /// <summary>The config's cloud-init script as written, before rendering.</summary>
        internal static string Read(FemagConfig config)
        {
            var path = config.CloudInit;
            if (path == null)
            {
                throw new FemagException("FemagCloudInitMissing", FemagErrorKind.InvalidArgument,
                    $"The configuration {config} sets no cloud_init. Add 'cloud_init = ./cloud_init.txt' to its [amazon] section: the script is what runs FEMAG on the instance.");
            }

            string template;
            try
            {
                template = File.ReadAllText(path, new UTF8Encoding(false));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new FemagException("FemagCloudInitUnreadable", FemagErrorKind.ObjectNotFound,
                    $"The cloud-init script '{path}' (cloud_init in {config}) cannot be read: {ex.Message} Check the path; a relative one is taken from the config file's folder.", ex);
            }

            return template;
        }

        /// <summary>
        /// Replaces every line that starts with {{ENV}} by one shell-quoted export per config key (upper case,
        /// ordinal order), then BUCKET_NAME and EXPECTED_BUCKET_OWNER (empty where unknown, so a script can pass
        /// ${EXPECTED_BUCKET_OWNER:+--expected-bucket-owner $EXPECTED_BUCKET_OWNER}). Windows line ends become \n so bash can run the script.
        /// A pool's worker applies max_runtime to each job itself, so its scripts get no <paramref name="watchdog"/>.
        /// </summary>
        public static string Render(string template, FemagConfig config, string bucketName, string? expectedBucketOwner, bool watchdog = true)
        {
            var lines = Lines(template);
            var output = new StringBuilder(template.Length + 512);
            for (var i = 0; i < lines.Length; i++)
            {
                var last = i == lines.Length - 1;
                if (lines[i].StartsWith(EnvMarker, StringComparison.Ordinal))
                {
                    AppendExports(output, config, bucketName, expectedBucketOwner);
                    continue;
                }

                output.Append(lines[i]);
                if (!last)
                {
                    output.Append('\n');
                }
            }

            return watchdog && config.MaxRuntime is double minutes ? AddWatchdog(output.ToString(), minutes) : output.ToString();
        }

        /// <summary>The script's lines, split at \n or \r\n, without a leading byte order mark.</summary>
        private static string[] Lines(string template)
        {
            var text = template.Replace("\r\n", "\n");
            return (text.Length > 0 && text[0] == '\uFEFF' ? text.Substring(1) : text).Split('\n');
        }

        /// <summary>
        /// True when rendered user data can end its instance by itself: a command line (not a comment, not an export)
        /// calls shutdown, poweroff or halt, as the max_runtime watchdog and the recommended script do. Without that the
        /// instance runs, and bills, until a client terminates it.
        /// </summary>
        public static bool EndsItself(string userData) =>
            userData.Split('\n').Select(line => line.Trim()).Any(line =>
                !line.StartsWith("#", StringComparison.Ordinal) && !line.StartsWith("export ", StringComparison.Ordinal) && ShutdownCommand.IsMatch(line));

        private static readonly System.Text.RegularExpressions.Regex ShutdownCommand =
            new System.Text.RegularExpressions.Regex(@"(^|[\s;&|('""`])(/\S*/)?(shutdown|poweroff|halt)($|[\s;&|)'""`])", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        /// <summary>Single-quotes a value for POSIX shells, so spaces, quotes and $ arrive unchanged.</summary>
        public static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''") + "'";

        /// <summary>
        /// Puts a watchdog right after the shebang: a background shutdown after max_runtime, so the instance ends (and,
        /// with shutdown behaviour terminate, stops billing) even when FEMAG hangs or the user's client is gone.
        /// </summary>
        private static string AddWatchdog(string script, double minutes)
        {
            var firstLineEnd = script.IndexOf('\n');
            var shebang = firstLineEnd < 0 ? script : script.Substring(0, firstLineEnd);
            if (!shebang.StartsWith("#!", StringComparison.Ordinal) || !(shebang.EndsWith("sh", StringComparison.Ordinal) || shebang.Contains("sh ")))
            {
                throw new FemagException("FemagWatchdogNeedsShellScript", FemagErrorKind.InvalidArgument,
                    $"max_runtime needs a cloud-init shell script that starts with a line such as #!/bin/bash; this one starts with '{shebang}'. Add the shebang, or remove max_runtime from the config.");
            }

            var seconds = (long)Math.Ceiling(minutes * 60);
            var watchdog = $"# femag-aws: max_runtime watchdog: shut down (and so terminate) after {minutes.ToString(System.Globalization.CultureInfo.InvariantCulture)} min, whatever this script does.\n" +
                           $"nohup sh -c 'sleep {seconds}; shutdown -h now' >/dev/null 2>&1 &\n";
            return firstLineEnd < 0 ? script + "\n" + watchdog : script.Substring(0, firstLineEnd + 1) + watchdog + script.Substring(firstLineEnd + 1);
        }

        private static void AppendExports(StringBuilder output, FemagConfig config, string bucketName, string? expectedBucketOwner)
        {
            foreach (var key in config.Settings.Keys.Select(k => k.ToUpperInvariant()).OrderBy(k => k, StringComparer.Ordinal))
            {
                var value = config.Settings[key.ToLowerInvariant()];
                output.Append("export ").Append(key).Append('=').Append(ShellQuote(value)).Append('\n');
            }

            output.Append("export BUCKET_NAME=").Append(ShellQuote(bucketName)).Append('\n');
            output.Append("export EXPECTED_BUCKET_OWNER=").Append(ShellQuote(expectedBucketOwner ?? string.Empty)).Append('\n');
        }
    }

    /// <summary>What <see cref="UserData.Advise"/> found; the cmdlets turn it into warnings.</summary>
    public sealed class CloudInitAdvice
    {
        public CloudInitAdvice(bool lacksEnv, IReadOnlyList<KeyValuePair<string, string?>> unknownKeys)
        {
            LacksEnv = lacksEnv;
            UnknownKeys = unknownKeys;
        }

        /// <summary>No line of the script starts with {{ENV}}, so the instance gets neither BUCKET_NAME nor the config.</summary>
        public bool LacksEnv { get; }

        /// <summary>Keys nothing reads (not the module, not femagtools, not the script), with the nearest known key or null.</summary>
        public IReadOnlyList<KeyValuePair<string, string?>> UnknownKeys { get; }
    }
}

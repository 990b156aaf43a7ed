using System;
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
        public static string Render(FemagConfig config, string bucketName)
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

            var userData = Render(template, config, bucketName);
            var size = Encoding.UTF8.GetByteCount(userData);
            if (size > MaxBytes)
            {
                throw new FemagException("FemagUserDataTooLarge", FemagErrorKind.LimitsExceeded,
                    $"The rendered cloud-init for bucket {bucketName} is {size} bytes; EC2 accepts at most {MaxBytes}. Shorten '{path}' or fetch the bulk of the script from the bucket.");
            }

            return userData;
        }

        /// <summary>
        /// Replaces every line that starts with {{ENV}} by one shell-quoted export per config key (upper case,
        /// ordinal order) and then BUCKET_NAME. Windows line ends become \n so bash can run the script.
        /// </summary>
        public static string Render(string template, FemagConfig config, string bucketName)
        {
            var text = template.Replace("\r\n", "\n");
            if (text.Length > 0 && text[0] == '\uFEFF')
            {
                text = text.Substring(1);
            }

            var output = new StringBuilder(text.Length + 512);
            var lines = text.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var last = i == lines.Length - 1;
                if (lines[i].StartsWith(EnvMarker, StringComparison.Ordinal))
                {
                    AppendExports(output, config, bucketName);
                    continue;
                }

                output.Append(lines[i]);
                if (!last)
                {
                    output.Append('\n');
                }
            }

            return config.MaxRuntime is double minutes ? AddWatchdog(output.ToString(), minutes) : output.ToString();
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

        private static void AppendExports(StringBuilder output, FemagConfig config, string bucketName)
        {
            foreach (var key in config.Settings.Keys.Select(k => k.ToUpperInvariant()).OrderBy(k => k, StringComparer.Ordinal))
            {
                var value = config.Settings[key.ToLowerInvariant()];
                output.Append("export ").Append(key).Append('=').Append(ShellQuote(value)).Append('\n');
            }

            output.Append("export BUCKET_NAME=").Append(ShellQuote(bucketName)).Append('\n');
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FemagAws.Config;

namespace FemagAws
{
    /// <summary>
    /// The [amazon] section of a femagtools engine configuration, typed. Every key, known or not, is kept in
    /// <see cref="Settings"/> because the cloud-init <c>{{ENV}}</c> line exports them all.
    /// </summary>
    public sealed class FemagConfig
    {
        public const string DefaultServerLocation = "eu-central-1";
        public const string DefaultInstanceType = "t2.micro";
        public const string DefaultImageId = "ami-b0cc23df";
        public const string DefaultCompanyName = "femag";
        public const string DefaultFinishTaskFilename = "exit_code";
        public const int DefaultMaxAttempts = 3;

        private static readonly Regex ShellName = new Regex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);
        private static readonly Regex SecretName = new Regex("secret|password|passwd|token|access_key|credential", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        // An access key id, or a 40-character secret access key (base64 alphabet, mixed case and digits).
        private static readonly Regex SecretValue = new Regex("(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA)[A-Z0-9]{16}|(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", RegexOptions.CultureInvariant);

        private static readonly Regex RegionName = new Regex("^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$", RegexOptions.CultureInvariant);

        // What configparser would take for an inline comment if femagtools had turned them on (inline_comment_prefixes).
        private static readonly Regex InlineComment = new Regex(@"\s[;#]", RegexOptions.CultureInvariant);

        /// <summary>
        /// Keys whose value is a number, a yes/no, a region, a URL or an AWS name, which never holds whitespace followed
        /// by ';' or '#'. Free text (key_name, company_name, cloud_init paths, unknown keys) is taken literally.
        /// </summary>
        private static readonly string[] PlainValueKeys =
        {
            "server_location", "instance_type", "image_id", "iam_instance_profile", "security_group_ids", "delete_buckets",
            "dry_run", "endpoint_url", "finish_task_filename", "max_runtime", "max_instances", "spot", "spot_fallback", "max_attempts",
            "pool_size", "slots_per_instance",
        };

        /// <summary>
        /// The keys femagtools reads or fills in (its default_config, the [amazon] options of its docs) and those this
        /// module adds. Any other key is only exported by {{ENV}}.
        /// </summary>
        public static IReadOnlyList<string> KnownKeys { get; } = new[]
        {
            "engine", "server_location", "instance_type", "acl", "image_id", "finish_task_filename", "company_name",
            "iam_instance_profile", "key_name", "security_group_ids", "cloud_init", "delete_buckets", "dry_run",
            "endpoint_url", "profile", "max_runtime", "max_instances", "spot", "spot_fallback", "max_attempts", "pool_size",
            "slots_per_instance",
        };

        /// <summary>True for names shaped like AWS regions (eu-central-1, us-gov-west-1).</summary>
        public static bool IsRegionName(string name) => RegionName.IsMatch(name);

        private readonly SortedDictionary<string, string> _settings;

        // The keys femagtools' defaults filled in because the source left them out.
        private readonly HashSet<string> _defaulted;

        private FemagConfig(SortedDictionary<string, string> settings, HashSet<string> defaulted, string? sourcePath)
        {
            _settings = settings;
            _defaulted = defaulted;
            SourcePath = sourcePath;
        }

        /// <summary>The femagtools defaults alone; a config is immutable, so one instance serves every new job.</summary>
        public static FemagConfig Defaults { get; } = FromSettings(Array.Empty<KeyValuePair<string, string>>());

        /// <summary>The INI file this came from, or null.</summary>
        public string? SourcePath { get; }

        /// <summary>Every key (lower case) with its value, defaults included; <c>cloud_init</c> holds the resolved path.</summary>
        public IReadOnlyDictionary<string, string> Settings => _settings;

        public string ServerLocation => Get("server_location") ?? DefaultServerLocation;

        /// <summary>
        /// False when the source leaves server_location out and <see cref="ServerLocation"/> is femagtools' default:
        /// then the config names no region, and the environment or the AWS profile may (see <see cref="Aws.AwsRegion"/>).
        /// </summary>
        internal bool SetsServerLocation => !_defaulted.Contains("server_location");

        public string InstanceType => Get("instance_type") ?? string.Empty;

        /// <summary>instance_type as a list: the types to try in order when EC2 has no capacity for one.</summary>
        public IReadOnlyList<string> InstanceTypes => SplitList(Get("instance_type"));

        /// <summary>Launch on Spot (spot = 1) rather than On-Demand.</summary>
        public bool Spot => ParseBool(Get("spot")) ?? false;

        /// <summary>A Spot launch EC2 refuses for capacity goes On-Demand, unless spot_fallback = 0.</summary>
        public bool SpotFallback => ParseBool(Get("spot_fallback")) ?? true;

        /// <summary>How many launches a job gets in all when its instances are lost (default 3).</summary>
        public int MaxAttempts => ParsePositive(Get("max_attempts")) is double n ? (int)n : DefaultMaxAttempts;

        public string ImageId => Get("image_id") ?? string.Empty;

        public string CompanyName => Get("company_name") ?? string.Empty;

        public string FinishTaskFilename => Get("finish_task_filename") ?? DefaultFinishTaskFilename;

        public string? IamInstanceProfile => Get("iam_instance_profile");

        public string? KeyName => Get("key_name");

        public IReadOnlyList<string> SecurityGroupIds => SplitList(Get("security_group_ids"));

        /// <summary>Full path of the cloud-init script, resolved against the config file's folder.</summary>
        public string? CloudInit => Get("cloud_init");

        public bool DeleteBuckets => ParseBool(Get("delete_buckets")) ?? false;

        public bool DryRun => ParseBool(Get("dry_run")) ?? false;

        /// <summary>An S3/EC2-compatible endpoint such as a local test cloud; null for real AWS.</summary>
        public string? EndpointUrl => Get("endpoint_url");

        /// <summary>
        /// Minutes after which each instance shuts itself down (and so terminates), whatever its script does; a
        /// watchdog against instances left running. Null when not set.
        /// </summary>
        public double? MaxRuntime => ParsePositive(Get("max_runtime"));

        /// <summary>How many jobs of one pipeline run at once; the others are queued. Null for no cap.</summary>
        public int? MaxInstances => ParsePositive(Get("max_instances")) is double n ? (int)n : (int?)null;

        /// <summary>Instances of a worker pool that runs the jobs from a queue; 0 (the default) runs one instance per job.</summary>
        public int PoolSize => ParseCount(Get("pool_size"), 0) ?? 0;

        /// <summary>Jobs one pool instance runs at once (default 1).</summary>
        public int SlotsPerInstance => ParseCount(Get("slots_per_instance"), 1) ?? 1;

        /// <summary>True when the jobs run in a worker pool (pool_size above 0).</summary>
        public bool IsPool => PoolSize > 0;

        /// <summary>A named profile from ~/.aws/credentials or ~/.aws/config.</summary>
        public string? Profile => Get("profile");

        /// <summary>
        /// Keys whose name or value looks like an AWS credential or another secret. {{ENV}} exports every key into the
        /// user data, which anyone allowed to describe the instance can read.
        /// </summary>
        public IReadOnlyList<string> KeysLookingLikeSecrets() =>
            _settings.Where(pair => SecretName.IsMatch(pair.Key) || SecretValue.IsMatch(pair.Value)).Select(pair => pair.Key).ToList();

        /// <summary>
        /// The keys neither femagtools nor this module knows, in order, each with the known key nearest to it (by edit
        /// distance; null when none is near): a misspelt key (instance_typ) is kept and exported, and its setting lost.
        /// </summary>
        public IReadOnlyList<KeyValuePair<string, string?>> UnknownKeys() =>
            _settings.Keys.Where(key => !KnownKeys.Contains(key))
                .Select(key => new KeyValuePair<string, string?>(key, EditDistance.Nearest(key, KnownKeys)))
                .ToList();

        /// <summary>Reads the [amazon] (or [AMAZON]) section of an INI file.</summary>
        public static FemagConfig Load(string path)
        {
            var fullPath = System.IO.Path.GetFullPath(path);
            var doc = IniDocument.Load(fullPath);
            var sections = doc.SectionNames.Where(s => string.Equals(s, "amazon", StringComparison.OrdinalIgnoreCase)).ToList();
            if (sections.Count == 0)
            {
                throw new FemagConfigException(fullPath, 0, "there is no [amazon] section. Start the engine settings with a line '[amazon]'.");
            }

            if (sections.Count > 1)
            {
                throw new FemagConfigException(fullPath, doc.SectionLine(sections[1]),
                    $"sections [{sections[0]}] and [{sections[1]}] both configure the engine; keep one.");
            }

            var entries = doc.Entries(sections[0]);
            var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                settings[entry.Key] = entry.Value;
            }

            return Build(settings, fullPath, key => entries.FirstOrDefault(e => e.Key == key)?.Line ?? 0);
        }

        /// <summary>Builds a config from key/value pairs, e.g. those of a deserialized job; validated like a file.</summary>
        public static FemagConfig FromSettings(IEnumerable<KeyValuePair<string, string>> settings, string? sourcePath = null)
        {
            var copy = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in settings)
            {
                copy[pair.Key.ToLowerInvariant()] = pair.Value ?? string.Empty;
            }

            return Build(copy, sourcePath, _ => 0);
        }

        /// <summary>A copy with some settings replaced (an empty or null value removes the key); defaults stay defaults.</summary>
        public FemagConfig With(IEnumerable<KeyValuePair<string, string?>> changes)
        {
            var copy = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in _settings.Where(pair => !_defaulted.Contains(pair.Key)))
            {
                copy[pair.Key] = pair.Value;
            }

            foreach (var change in changes)
            {
                if (string.IsNullOrEmpty(change.Value))
                {
                    copy.Remove(change.Key);
                }
                else
                {
                    copy[change.Key] = change.Value!;
                }
            }

            return Build(copy, SourcePath, _ => 0);
        }

        /// <summary>This config with server_location set to <paramref name="region"/>, e.g. after -Region.</summary>
        public FemagConfig ForRegion(string region) =>
            region == ServerLocation && SetsServerLocation ? this : With(new[] { new KeyValuePair<string, string?>("server_location", region) });

        public override string ToString() => SourcePath ?? "FemagConfig";

        internal static IReadOnlyList<string> SplitList(string? value) =>
            string.IsNullOrWhiteSpace(value)
                ? Array.Empty<string>()
                : value!.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToArray();

        private static double? ParsePositive(string? value) =>
            value != null && double.TryParse(value.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number) && number > 0
                ? number
                : (double?)null;

        /// <summary>A whole number of at least <paramref name="minimum"/>, or null when absent or not one.</summary>
        private static int? ParseCount(string? value, int minimum) =>
            value != null && int.TryParse(value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= minimum
                ? n
                : (int?)null;

        private static bool? ParseBool(string? value)
        {
            switch (value?.Trim().ToLowerInvariant())
            {
                case null:
                case "":
                    return null;
                case "1":
                case "true":
                case "yes":
                case "on":
                    return true;
                case "0":
                case "false":
                case "no":
                case "off":
                    return false;
                default:
                    throw new FormatException();
            }
        }

        private static FemagConfig Build(SortedDictionary<string, string> settings, string? path, Func<string, int> lineOf)
        {
            void Fail(string key, string problem) => throw new FemagConfigException(path, lineOf(key), problem);

            foreach (var key in settings.Keys)
            {
                // {{ENV}} turns every key into 'export KEY=...', so it must be a shell variable name.
                if (!ShellName.IsMatch(key))
                {
                    Fail(key, $"key '{key}' cannot be exported to the cloud-init script; use letters, digits and '_' only.");
                }
            }

            // femagtools reads the file with configparser's defaults, which keep 'max_runtime = 240 ; minutes' whole as the
            // value: say so rather than reject it as a bad number, or pass it on to EC2.
            foreach (var key in PlainValueKeys)
            {
                if (settings.TryGetValue(key, out var value) && InlineComment.IsMatch(value))
                {
                    Fail(key, $"{key} = '{value}': inline comments are not supported (femagtools, too, reads everything after '=' as the value). Put the comment on a line of its own, starting with ';' or '#'.");
                }
            }

            // As in femagtools, a default fills a key that is absent; a key set empty stays empty and is caught on use.
            var defaulted = new HashSet<string>(StringComparer.Ordinal);
            SetDefault(settings, defaulted, "server_location", DefaultServerLocation);
            SetDefault(settings, defaulted, "instance_type", DefaultInstanceType);
            SetDefault(settings, defaulted, "image_id", DefaultImageId);
            SetDefault(settings, defaulted, "company_name", DefaultCompanyName);
            SetDefault(settings, defaulted, "finish_task_filename", DefaultFinishTaskFilename);

            foreach (var key in new[] { "delete_buckets", "dry_run", "spot", "spot_fallback" })
            {
                if (settings.TryGetValue(key, out var value))
                {
                    try
                    {
                        ParseBool(value);
                    }
                    catch (FormatException)
                    {
                        Fail(key, $"{key} = '{value}' is not a yes/no value; use 1, 0, true, false, yes or no.");
                    }
                }
            }

            if (settings.TryGetValue("max_runtime", out var maxRuntime) && maxRuntime.Length > 0 && ParsePositive(maxRuntime) == null)
            {
                Fail("max_runtime", $"max_runtime = '{maxRuntime}' is not a number of minutes above 0, such as 180.");
            }

            if (settings.TryGetValue("max_instances", out var maxInstances) && maxInstances.Length > 0 && ParseCount(maxInstances, 1) == null)
            {
                Fail("max_instances", $"max_instances = '{maxInstances}' is not a whole number of instances above 0, such as 20.");
            }

            if (settings.TryGetValue("max_attempts", out var maxAttempts) && maxAttempts.Length > 0 && ParseCount(maxAttempts, 1) == null)
            {
                Fail("max_attempts", $"max_attempts = '{maxAttempts}' is not a whole number of launches above 0, such as 3.");
            }

            if (settings.TryGetValue("pool_size", out var poolSize) && poolSize.Length > 0 && ParseCount(poolSize, 0) == null)
            {
                Fail("pool_size", $"pool_size = '{poolSize}' is not a whole number of instances, such as 10 (0 runs one instance per job).");
            }

            if (settings.TryGetValue("slots_per_instance", out var slots) && slots.Length > 0 && ParseCount(slots, 1) == null)
            {
                Fail("slots_per_instance", $"slots_per_instance = '{slots}' is not a whole number of jobs per instance above 0, such as 2.");
            }

            if (settings.TryGetValue("instance_type", out var types) && types.Contains(","))
            {
                // A list: tried in order when EC2 has no capacity for a type; stored clean, like security_group_ids.
                settings["instance_type"] = string.Join(",", SplitList(types));
            }

            if (!IsRegionName(settings["server_location"]))
            {
                Fail("server_location", $"server_location = '{settings["server_location"]}' is not an AWS region name such as eu-central-1.");
            }

            if (settings.TryGetValue("security_group_ids", out var groups))
            {
                // Trailing commas (the femagtools idiom for one group) and spaces are fine; store the clean list.
                settings["security_group_ids"] = string.Join(",", SplitList(groups));
            }

            if (settings.TryGetValue("endpoint_url", out var endpoint) && endpoint.Length > 0 &&
                (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
            {
                Fail("endpoint_url", $"endpoint_url = '{endpoint}' is not an http:// or https:// URL.");
            }

            if (settings.TryGetValue("finish_task_filename", out var finish) && (finish.Length == 0 || finish.Contains("/")))
            {
                Fail("finish_task_filename", "finish_task_filename must be a plain object name such as exit_code.");
            }

            if (settings.TryGetValue("cloud_init", out var cloudInit) && cloudInit.Length > 0)
            {
                settings["cloud_init"] = ResolvePath(cloudInit, path);
            }

            return new FemagConfig(settings, defaulted, path);
        }

        private static void SetDefault(IDictionary<string, string> settings, ISet<string> defaulted, string key, string value)
        {
            if (!settings.ContainsKey(key))
            {
                settings[key] = value;
                defaulted.Add(key);
            }
        }

        /// <summary>A relative path means relative to the config file: scheduled tasks start in another folder.</summary>
        private static string ResolvePath(string value, string? configPath)
        {
            var expanded = PathUtil.ExpandHome(value);
            if (System.IO.Path.IsPathRooted(expanded))
            {
                return System.IO.Path.GetFullPath(expanded);
            }

            var baseDir = configPath != null ? System.IO.Path.GetDirectoryName(configPath)! : Directory.GetCurrentDirectory();
            return System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, expanded));
        }

        private string? Get(string key) =>
            _settings.TryGetValue(key, out var value) && value.Length > 0 ? value : null;
    }
}

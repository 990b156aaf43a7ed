using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using FemagAws.CloudInit;

namespace FemagAws.Runners.Pool
{
    /// <summary>What a pool sends: each job's script in its message, and the worker in the pool instances' user data.</summary>
    public static class PoolScripts
    {
        /// <summary>SQS's largest message: 256 KiB.</summary>
        public const int MaxMessageBytes = 256 * 1024;

        /// <summary>The message format's version, the first field; the worker refuses others.</summary>
        public const string MessageVersion = "v1";

        /// <summary>Seconds a worker waits with an empty queue and idle slots before it shuts its instance down.</summary>
        public const int IdleSeconds = 60;

        /// <summary>Seconds between a running job's visibility extensions; well inside the queue's visibility timeout.</summary>
        public const int HeartbeatSeconds = 10;

        private const string WorkerResource = "FemagAws.Runners.Pool.worker.sh";

        /// <summary>
        /// Refuses, before anything is created, a cloud_init the pool's worker cannot run: the worker runs it with bash,
        /// where cloud-init would have read a #cloud-config file, an #include list or a MIME multipart archive itself,
        /// or run the interpreter a #! line names.
        /// </summary>
        public static void CheckShellScript(FemagConfig config)
        {
            var template = UserData.Read(config);
            var first = template.TrimStart('\uFEFF').Replace("\r\n", "\n").Split('\n')[0].Trim();
            string? kind = null;
            if (first.StartsWith("#cloud-", StringComparison.OrdinalIgnoreCase) || first.StartsWith("#include", StringComparison.OrdinalIgnoreCase) ||
                first.StartsWith("#part-handler", StringComparison.OrdinalIgnoreCase))
            {
                kind = $"a cloud-init '{first}' file";
            }
            else if (first.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase) || first.StartsWith("MIME-Version:", StringComparison.OrdinalIgnoreCase))
            {
                kind = "a MIME multipart archive";
            }
            else if (first.StartsWith("#!", StringComparison.Ordinal) && !IsShell(first))
            {
                kind = $"a script for '{first.Substring(2).Trim()}'";
            }

            if (kind != null)
            {
                throw new FemagException("FemagPoolNeedsShellScript", FemagErrorKind.InvalidArgument,
                    $"cloud_init '{config.CloudInit}' is {kind}, but a pool (pool_size = {config.PoolSize}) runs each job's script with bash. " +
                    "Use a shell script that starts with #!/bin/bash, or set pool_size = 0 to give each job an instance of its own.");
            }
        }

        /// <summary>The job's script as its slot runs it: the rendered cloud-init, without the instance watchdog (the worker applies max_runtime).</summary>
        public static string Script(FemagJob job, string? expectedBucketOwner) =>
            UserData.Render(UserData.Read(job.Config), job.Config, job.BucketName, expectedBucketOwner, watchdog: false);

        /// <summary>
        /// The job's message: v1, bucket, index, max_runtime minutes (or -), finish file and the base64 of the job's
        /// rendered <paramref name="script"/>, one line with single spaces. The script travels in the message, not in the
        /// user data, so EC2's 16 KB limit does not apply to it; SQS's does.
        /// </summary>
        public static string Message(FemagJob job, string script)
        {
            var maxRuntime = job.Config.MaxRuntime is double minutes ? minutes.ToString("R", CultureInfo.InvariantCulture) : "-";
            var message = string.Join(" ", MessageVersion, job.BucketName, job.Index.ToString(CultureInfo.InvariantCulture), maxRuntime,
                job.Config.FinishTaskFilename, Convert.ToBase64String(Encoding.UTF8.GetBytes(script)));
            if (message.Length > MaxMessageBytes)
            {
                throw new FemagException("FemagPoolScriptTooLarge", FemagErrorKind.LimitsExceeded,
                    $"The rendered cloud-init of bucket {job.BucketName} makes a queue message of {message.Length} bytes; SQS takes at most {MaxMessageBytes}. Shorten '{job.Config.CloudInit}'.");
            }

            return message;
        }

        /// <summary>
        /// The pool instances' user data: the worker script with its settings exported after its #! line.
        /// <paramref name="expectedBucketOwner"/> (empty where the endpoint gives none) makes the worker's S3 requests
        /// refuse a job bucket of another account, as the jobs' own requests do.
        /// </summary>
        public static string WorkerUserData(string queueUrl, string region, string poolId, int slots, string? expectedBucketOwner) =>
            WorkerUserData(Worker(), queueUrl, region, poolId, slots, expectedBucketOwner);

        internal static string WorkerUserData(string worker, string queueUrl, string region, string poolId, int slots, string? expectedBucketOwner)
        {
            var header = new StringBuilder();
            void Export(string name, string value) => header.Append("export ").Append(name).Append('=').Append(UserData.ShellQuote(value)).Append('\n');
            Export("QUEUE_URL", queueUrl);
            Export("AWS_DEFAULT_REGION", region);
            Export("POOL_ID", poolId);
            Export("SLOTS", slots.ToString(CultureInfo.InvariantCulture));
            Export("IDLE_SECONDS", IdleSeconds.ToString(CultureInfo.InvariantCulture));
            Export("VISIBILITY_SECONDS", Aws.Sqs.PoolQueues.VisibilitySeconds.ToString(CultureInfo.InvariantCulture));
            Export("HEARTBEAT_SECONDS", HeartbeatSeconds.ToString(CultureInfo.InvariantCulture));
            Export("EXPECTED_BUCKET_OWNER", expectedBucketOwner ?? string.Empty);

            // cloud-init runs user data that starts with #!, so the header goes after that line.
            var text = worker.Replace("\r\n", "\n");
            var firstLineEnd = text.IndexOf('\n');
            var userData = text.StartsWith("#!", StringComparison.Ordinal) && firstLineEnd > 0
                ? text.Substring(0, firstLineEnd + 1) + header + text.Substring(firstLineEnd + 1)
                : "#!/bin/bash\n" + header + text;
            var size = Encoding.UTF8.GetByteCount(userData);
            if (size > UserData.MaxBytes)
            {
                throw new FemagException("FemagUserDataTooLarge", FemagErrorKind.LimitsExceeded,
                    $"The pool worker's user data is {size} bytes; EC2 accepts at most {UserData.MaxBytes}.");
            }

            return userData;
        }

        private static bool IsShell(string shebang)
        {
            // #!/bin/bash, #!/bin/sh, #!/usr/bin/env bash, with options or not.
            var words = shebang.Substring(2).Trim().Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            var program = words.Length > 1 && Path.GetFileName(words[0]) == "env" ? words[1] : words.FirstOrDefault() ?? string.Empty;
            var name = program.Substring(program.LastIndexOf('/') + 1);
            return name == "bash" || name == "sh";
        }

        private static string Worker()
        {
            using (var stream = typeof(PoolScripts).Assembly.GetManifestResourceStream(WorkerResource)
                                ?? throw new InvalidOperationException($"The resource {WorkerResource} is missing from FemagAws.Core."))
            using (var reader = new StreamReader(stream, Encoding.UTF8))
            {
                return reader.ReadToEnd();
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;

namespace FemagAws.Jobs
{
    /// <summary>What one Receive-FemagResult download did.</summary>
    public sealed class ReceiveOutcome
    {
        public int Files { get; internal set; }

        public long Bytes { get; internal set; }

        /// <summary>Set when the bucket was to be removed but had to be kept, saying why and what to do.</summary>
        public string? BucketKept { get; internal set; }

        /// <summary>Keys that were refused because they would land outside the destination.</summary>
        public List<FemagException> Refused { get; } = new List<FemagException>();

        public bool BucketRemoved { get; internal set; }
    }

    /// <summary>Receive-FemagResult's work for one job: every object of the bucket into a folder.</summary>
    public static class ResultReceiver
    {
        public static async Task<ReceiveOutcome> ReceiveAsync(AwsClients clients, FemagJob job, string destination, bool removeBucket, int parallelism, CancellationToken ct)
        {
            var root = Path.GetFullPath(destination);
            Directory.CreateDirectory(root);
            var outcome = new ReceiveOutcome();
            var objects = await JobBuckets.ListAsync(clients.S3, job.BucketName, ct).ConfigureAwait(false);
            var downloads = new List<KeyValuePair<string, string>>();
            foreach (var obj in objects)
            {
                var path = ResolveKeyPath(root, obj.Key);
                if (path == null)
                {
                    outcome.Refused.Add(new FemagException("FemagUnsafeResultKey", FemagErrorKind.SecurityError,
                        $"Bucket {job.BucketName} holds the key '{obj.Key}', which is not a plain relative path inside '{root}' ('..', a leading '/', '\\' or ':'). It was not downloaded and the bucket is kept; check what the instance uploaded."));
                    continue;
                }

                if (obj.Key.EndsWith("/", StringComparison.Ordinal))
                {
                    Directory.CreateDirectory(path);
                    continue;
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                downloads.Add(new KeyValuePair<string, string>(obj.Key, path));
                outcome.Bytes += obj.Size ?? 0;
            }

            using (var slots = new SemaphoreSlim(Math.Max(1, parallelism)))
            {
                await Task.WhenAll(downloads.Select(async d =>
                {
                    await slots.WaitAsync(ct).ConfigureAwait(false);
                    try
                    {
                        await JobBuckets.DownloadAsync(clients.S3, job.BucketName, d.Key, d.Value, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        slots.Release();
                    }
                })).ConfigureAwait(false);
            }

            outcome.Files = downloads.Count;

            // A bucket is only removed once everything in it is safely on disk.
            if (removeBucket && outcome.Refused.Count == 0)
            {
                // Folder markers carry no data; one with content was not received, so it keeps the bucket.
                var received = downloads.Select(d => d.Key).Concat(objects.Where(o => o.Key.EndsWith("/", StringComparison.Ordinal) && (o.Size ?? 0) == 0).Select(o => o.Key)).ToList();
                outcome.BucketRemoved = await JobBuckets.RemoveReceivedAsync(clients.S3, job.BucketName, received, ct).ConfigureAwait(false);
                if (!outcome.BucketRemoved)
                {
                    outcome.BucketKept = $"Job {job.Index}: bucket {job.BucketName} still holds objects that were not received (written after the listing) or an unfinished upload, so it was kept. " +
                                         $"Pipe the job into Receive-FemagResult again to fetch new objects, which then removes the bucket; 'Remove-FemagBucket -Name {job.BucketName}' removes it with whatever is left.";
                }
            }

            return outcome;
        }

        /// <summary>The local path for a key, or null when the key would escape <paramref name="root"/>.</summary>
        public static string? ResolveKeyPath(string root, string key)
        {
            if (key.Length == 0 || key.StartsWith("/", StringComparison.Ordinal) || key.IndexOf('\\') >= 0 || key.IndexOf(':') >= 0 || key.IndexOf('\0') >= 0)
            {
                return null;
            }

            var parts = key.TrimEnd('/').Split('/');
            if (parts.Any(p => p.Length == 0 || p == "." || p == ".."))
            {
                return null;
            }

            var rootFull = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
            var full = Path.GetFullPath(Path.Combine(rootFull, Path.Combine(parts)));
            return full.StartsWith(rootFull, StringComparison.Ordinal) ? full : null;
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.S3;
using FemagAws.Runners.Pool;

namespace FemagAws.Jobs
{
    /// <summary>What one Receive-FemagResult download did.</summary>
    public sealed class ReceiveOutcome
    {
        public int Files { get; internal set; }

        public long Bytes { get; internal set; }

        /// <summary>Objects not downloaded: the job's own input archive and files already in the destination.</summary>
        public int Skipped { get; internal set; }

        public long SkippedBytes { get; internal set; }

        /// <summary>Set when the bucket was to be removed but had to be kept, saying why and what to do.</summary>
        public string? BucketKept { get; internal set; }

        /// <summary>Keys that were refused: they would land outside the destination, or cannot each be a file of their own here.</summary>
        public List<FemagException> Refused { get; } = new List<FemagException>();

        /// <summary>Set when the bucket was to be removed but a live instance still uses it.</summary>
        public FemagException? BucketInUse { get; internal set; }

        public bool BucketRemoved { get; internal set; }
    }

    /// <summary>Receive-FemagResult's work for one job: every object of the bucket into a folder.</summary>
    public static class ResultReceiver
    {
        /// <param name="clients">The job's clients.</param>
        /// <param name="job">The job whose bucket is received.</param>
        /// <param name="destination">The folder the keys are resolved in.</param>
        /// <param name="removeBucket">Deletes every listed object and the bucket once all is on disk.</param>
        /// <param name="includeUnchanged">Downloads the job's own archive and files identical to those on disk too.</param>
        /// <param name="parallelism">Downloads at once.</param>
        /// <param name="ct">Stops the downloads; partial files are deleted.</param>
        /// <param name="rules">What the file system makes of keys as names; the running platform's when null.</param>
        public static async Task<ReceiveOutcome> ReceiveAsync(AwsClients clients, FemagJob job, string destination, bool removeBucket, bool includeUnchanged, int parallelism, CancellationToken ct, KeyPathRules? rules = null)
        {
            rules = rules ?? KeyPathRules.Current;
            var root = Path.GetFullPath(destination);
            Directory.CreateDirectory(root);
            var outcome = new ReceiveOutcome();
            var objects = await JobBuckets.ListAsync(clients.S3, job.BucketName, ct).ConfigureAwait(false);
            var downloads = new List<(S3Object Obj, string Path)>();
            var notHere = rules.Refusals(objects.Select(o => o.Key).Where(k => ResolveKeyPath(root, k) != null));
            var markers = new List<string>();
            foreach (var obj in objects)
            {
                // A pool's markers are bookkeeping, received without a download; its job log is a result like any other.
                if (JobMarkers.IsMarker(obj.Key) && obj.Key != JobMarkers.LogKey)
                {
                    markers.Add(obj.Key);
                    continue;
                }

                var path = ResolveKeyPath(root, obj.Key);
                if (path == null)
                {
                    outcome.Refused.Add(new FemagException("FemagUnsafeResultKey", FemagErrorKind.SecurityError,
                        $"Bucket {job.BucketName} holds the key '{obj.Key}', which is not a plain relative path inside '{root}' ('..', a leading '/', '\\' or ':'). It was not downloaded and the bucket is kept; check what the instance uploaded."));
                    continue;
                }

                if (notHere.TryGetValue(obj.Key, out var why))
                {
                    outcome.Refused.Add(new FemagException("FemagResultKeyNotAllowed", FemagErrorKind.InvalidData,
                        $"Bucket {job.BucketName} holds the key '{obj.Key}', which cannot be a file of its own in '{root}': {why}. It was not downloaded and the bucket is kept; fetch it under another name with the AWS CLI or the S3 console."));
                    continue;
                }

                if (obj.Key.EndsWith("/", StringComparison.Ordinal))
                {
                    Directory.CreateDirectory(path);
                    continue;
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                downloads.Add((obj, path));
            }

            bool[] skipped;
            using (var slots = new SemaphoreSlim(Math.Max(1, parallelism)))
            {
                skipped = await Task.WhenAll(downloads.Select(async d =>
                {
                    await slots.WaitAsync(ct).ConfigureAwait(false);
                    try
                    {
                        if (!includeUnchanged && await IsKnownAsync(clients.S3, job, d.Obj, d.Path, ct).ConfigureAwait(false))
                        {
                            return true;
                        }

                        await JobBuckets.DownloadAsync(clients.S3, job.BucketName, d.Obj.Key, d.Path, ct).ConfigureAwait(false);
                        return false;
                    }
                    finally
                    {
                        slots.Release();
                    }
                })).ConfigureAwait(false);
            }

            for (var i = 0; i < downloads.Count; i++)
            {
                var size = downloads[i].Obj.Size ?? 0;
                if (skipped[i])
                {
                    outcome.Skipped++;
                    outcome.SkippedBytes += size;
                }
                else
                {
                    outcome.Files++;
                    outcome.Bytes += size;
                }
            }

            // A bucket is only removed once everything in it is safely on disk (or is the job's input), and never
            // under a live instance: the job may have been judged finished while its instance runs on.
            if (removeBucket && outcome.Refused.Count == 0)
            {
                outcome.BucketInUse = await BucketRemover.InUseAsync(clients, job.BucketName, job.PoolId, ct).ConfigureAwait(false);
                if (outcome.BucketInUse == null)
                {
                    // Skipped objects count as received: their bytes are on disk already, or are the job's input.
                    // Folder markers carry no data; one with content was not received, so it keeps the bucket.
                    var received = downloads.Select(d => d.Obj.Key).Concat(objects.Where(o => o.Key.EndsWith("/", StringComparison.Ordinal) && (o.Size ?? 0) == 0).Select(o => o.Key)).Concat(markers).ToList();
                    outcome.BucketRemoved = await JobBuckets.RemoveReceivedAsync(clients.S3, job.BucketName, received, ct).ConfigureAwait(false);
                    if (!outcome.BucketRemoved)
                    {
                        outcome.BucketKept = $"Job {job.Index}: bucket {job.BucketName} still holds objects that were not received (written after the listing) or an unfinished upload, so it was kept. " +
                                             $"Pipe the job into Receive-FemagResult again to fetch new objects, which then removes the bucket; '{clients.Commands.RemoveBucket(clients.Target, job.BucketName)}' removes it with whatever is left.";
                    }
                }
            }

            return outcome;
        }

        /// <summary>
        /// True when the object need not be downloaded: it is the archive New-FemagBucket uploaded (same key and
        /// ETag), or its bytes are those of the file already at <paramref name="path"/> (same size and ETag).
        /// </summary>
        private static async Task<bool> IsKnownAsync(IAmazonS3 s3, FemagJob job, S3Object obj, string path, CancellationToken ct)
        {
            if (obj.Key == job.ArchiveKey)
            {
                // From New-FemagBucket, or for a rebuilt job from the bucket's tags: never from anything the instance can write.
                if (ETags.Same(job.ArchiveETag, obj.ETag))
                {
                    return true;
                }
            }

            var local = new FileInfo(path);
            if (!local.Exists || local.Length != (obj.Size ?? -1) || obj.ETag == null)
            {
                return false;
            }

            var parts = ETags.PartsOf(obj.ETag);
            if (parts == null)
            {
                return ETags.Same(await HashAsync(path, null, ct).ConfigureAwait(false), obj.ETag);
            }

            // A multipart ETag hashes the parts' MD5s, so the part size is needed; uploaders (S3 clients, the AWS CLI,
            // this module) cut equal parts, so the first part's size gives them all, and any other cut never matches.
            var layout = await JobBuckets.TryGetPartLayoutAsync(s3, job.BucketName, obj.Key, ct).ConfigureAwait(false);
            return layout != null && layout.Value.Parts == parts && ETags.Same(await HashAsync(path, layout.Value.PartSize, ct).ConfigureAwait(false), obj.ETag);
        }

        /// <summary>Hashes on the thread pool, so the files of one job are hashed side by side and no caller blocks.</summary>
        private static Task<string> HashAsync(string path, long? partSize, CancellationToken ct) => Task.Run(() => ETags.OfFile(path, partSize, ct), ct);

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

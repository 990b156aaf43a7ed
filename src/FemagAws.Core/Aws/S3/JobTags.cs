using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Amazon.S3.Model;

namespace FemagAws.Aws.S3
{
    /// <summary>
    /// What New-FemagBucket records on a job's bucket for later sessions: the job index, the local folder and the
    /// archive's ETag. They are bucket tags, not object metadata, because the instance may write objects but needs no
    /// s3:PutBucketTagging: nothing the instance writes chooses where a rebuilt job's results go or what is skipped.
    /// </summary>
    public sealed class JobTags
    {
        /// <summary>
        /// Tags femag-aws:folder:1, :2, … hold the folder's UTF-8 bytes in base64url (letters, digits, '-', '_'), cut
        /// into values of at most 256 characters: S3 tag values allow neither '\' nor most other characters of a path.
        /// </summary>
        public const string FolderTagPrefix = "femag-aws:folder:";

        /// <summary>The archive's ETag without quotes (hex digits, and '-' with the part count), as S3 gave it after the upload.</summary>
        public const string ArchiveETagTag = "femag-aws:archive-etag";

        /// <summary>The worker pool whose queue runs the job (Start-FemagInstance with pool_size), so Get-FemagJob finds pool jobs.</summary>
        public const string PoolTag = FemagAws.Aws.Sqs.PoolQueues.PoolTag;

        /// <summary>S3's limits: 256 characters per tag value, 50 tags per bucket.</summary>
        private const int ValueLength = 256;

        private const int MaxTags = 50;

        /// <summary>Tags left for the folder beside the index, the ETag and the pool; 47 × 256 base64 characters hold 9,024 bytes of path.</summary>
        private const int MaxFolderTags = MaxTags - 3;

        public JobTags(int index, string? folder, string? archiveETag, string? poolId = null)
        {
            Index = index;
            Folder = folder;
            ArchiveETag = archiveETag;
            PoolId = poolId;
        }

        public int Index { get; }

        /// <summary>The job's local folder, as New-FemagBucket saw it; null when not recorded.</summary>
        public string? Folder { get; }

        public string? ArchiveETag { get; }

        /// <summary>The pool the job was sent to, or null for a job with an instance of its own.</summary>
        public string? PoolId { get; }

        /// <summary>The same tags with the job's pool.</summary>
        public JobTags WithPool(string? poolId) => new JobTags(Index, Folder, ArchiveETag, poolId);

        /// <summary>The bucket's tag set. A folder too long for S3's tags is left out: the rebuilt job then has no folder.</summary>
        public List<Tag> ToTagSet()
        {
            var tags = new List<Tag> { new Tag { Key = JobBuckets.IndexTag, Value = Index.ToString(CultureInfo.InvariantCulture) } };
            var chunks = Folder == null ? new List<string>() : Chunks(Base64Url(Encoding.UTF8.GetBytes(Folder)));
            if (chunks.Count <= MaxFolderTags)
            {
                tags.AddRange(chunks.Select((chunk, i) => new Tag { Key = FolderTagPrefix + (i + 1).ToString(CultureInfo.InvariantCulture), Value = chunk }));
            }

            if (ArchiveETag != null)
            {
                tags.Add(new Tag { Key = ArchiveETagTag, Value = ArchiveETag.Trim('"') });
            }

            if (PoolId != null)
            {
                tags.Add(new Tag { Key = PoolTag, Value = PoolId });
            }

            return tags;
        }

        /// <summary>The job tags in a tag set, or null without a valid index tag (not the module's bucket).</summary>
        public static JobTags? From(IEnumerable<Tag>? tagSet)
        {
            var tags = (tagSet ?? Enumerable.Empty<Tag>()).Where(t => t.Key != null).GroupBy(t => t.Key).ToDictionary(g => g.Key, g => g.First().Value ?? string.Empty, StringComparer.Ordinal);
            if (!tags.TryGetValue(JobBuckets.IndexTag, out var indexText) || !int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                return null;
            }

            tags.TryGetValue(ArchiveETagTag, out var etag);
            tags.TryGetValue(PoolTag, out var poolId);
            return new JobTags(index, FolderFrom(tags), string.IsNullOrEmpty(etag) ? null : etag, string.IsNullOrEmpty(poolId) ? null : poolId);
        }

        /// <summary>The folder from tags :1 to :n, all present and decodable; otherwise null.</summary>
        private static string? FolderFrom(Dictionary<string, string> tags)
        {
            var text = new StringBuilder();
            var count = tags.Keys.Count(k => k.StartsWith(FolderTagPrefix, StringComparison.Ordinal));
            for (var i = 1; i <= count; i++)
            {
                if (!tags.TryGetValue(FolderTagPrefix + i.ToString(CultureInfo.InvariantCulture), out var chunk))
                {
                    return null;
                }

                text.Append(chunk);
            }

            if (text.Length == 0)
            {
                return null;
            }

            try
            {
                var base64 = text.Replace('-', '+').Replace('_', '/').ToString();
                base64 += new string('=', (4 - (base64.Length % 4)) % 4);
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(base64));
            }
            catch (Exception ex) when (ex is FormatException || ex is ArgumentException)
            {
                return null;
            }
        }

        private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        private static List<string> Chunks(string text)
        {
            var chunks = new List<string>();
            for (var start = 0; start < text.Length; start += ValueLength)
            {
                chunks.Add(text.Substring(start, Math.Min(ValueLength, text.Length - start)));
            }

            return chunks;
        }
    }
}

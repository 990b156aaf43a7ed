using System;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading;

namespace FemagAws.Aws.S3
{
    /// <summary>
    /// S3 ETags as fingerprints of local files. For objects stored unencrypted or with SSE-S3 (the module's buckets), a
    /// single-part object's ETag is the MD5 of its bytes, and a multipart object's is the MD5 of its parts' MD5s
    /// followed by '-' and the number of parts. Any other ETag (SSE-KMS, say) simply never matches.
    /// </summary>
    public static class ETags
    {
        /// <summary>True when two ETags name the same content, with or without their quotes.</summary>
        public static bool Same(string? a, string? b) =>
            a != null && b != null && string.Equals(a.Trim('"'), b.Trim('"'), StringComparison.OrdinalIgnoreCase);

        /// <summary>The number of parts of a multipart ETag, or null for a single-part one.</summary>
        public static int? PartsOf(string etag)
        {
            var bare = etag.Trim('"');
            var dash = bare.LastIndexOf('-');
            return dash >= 0 && int.TryParse(bare.Substring(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var parts) ? parts : (int?)null;
        }

        /// <summary>The ETag S3 gives the file's bytes: sent whole, or in parts of <paramref name="partSize"/> bytes.</summary>
        public static string OfFile(string path, long? partSize, CancellationToken ct)
        {
            if (partSize <= 0)
            {
                // Parts of no bytes would never get through the file.
                throw new ArgumentOutOfRangeException(nameof(partSize), partSize, "The part size must be above 0.");
            }

            using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            using (var md5 = MD5.Create())
            {
                var buffer = new byte[1 << 20];
                if (partSize == null)
                {
                    HashPart(file, md5, buffer, long.MaxValue, ct);
                    return Hex(md5.Hash);
                }

                using (var partHashes = new MemoryStream())
                using (var partMd5 = MD5.Create())
                {
                    var parts = 0;
                    do
                    {
                        HashPart(file, partMd5, buffer, partSize.Value, ct);
                        partHashes.Write(partMd5.Hash, 0, partMd5.Hash.Length);
                        parts++;
                    }
                    while (file.Position < file.Length);

                    return Hex(md5.ComputeHash(partHashes.ToArray())) + "-" + parts.ToString(CultureInfo.InvariantCulture);
                }
            }
        }

        /// <summary>Hashes the next <paramref name="length"/> bytes of the file (fewer at its end) with a fresh <paramref name="hash"/>.</summary>
        private static void HashPart(Stream file, HashAlgorithm hash, byte[] buffer, long length, CancellationToken ct)
        {
            hash.Initialize();
            for (var left = length; left > 0;)
            {
                // Per chunk: a file of many GB takes a while, and Ctrl+C should not wait for it.
                ct.ThrowIfCancellationRequested();
                var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                {
                    break;
                }

                hash.TransformBlock(buffer, 0, read, null, 0);
                left -= read;
            }

            hash.TransformFinalBlock(buffer, 0, 0);
        }

        private static string Hex(byte[] hash)
        {
            var text = new StringBuilder(hash.Length * 2);
            foreach (var b in hash)
            {
                text.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }

            return text.ToString();
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Text;
using System.Threading;
using ICSharpCode.SharpZipLib.Tar;

namespace FemagAws.Packing
{
    /// <summary>Packs a job folder into the tar.gz that the instance extracts in its working directory.</summary>
    public static class JobArchive
    {
        /// <summary>The file FEMAG runs on the instance, at the folder's root (the seed's script: xfemag -b femag.fsl).</summary>
        public const string FslName = "femag.fsl";

        /// <summary>
        /// The regular files of a folder, as archive entry names (relative, '/'-separated) in ordinal order. A symbolic
        /// link (to a file or a folder) is refused and never followed: it may point outside the folder, and the
        /// instance would then get, or write through, files the user never meant to upload. An empty folder, or one
        /// without femag.fsl at its root, is refused too (FEMAG would only fail on the instance), so every check happens
        /// before any bucket is made.
        /// </summary>
        /// <param name="folder">The job folder.</param>
        /// <param name="leaveOut">True for an entry name that is not packed (files only).</param>
        public static IReadOnlyList<KeyValuePair<string, FileInfo>> ListFiles(DirectoryInfo folder, Func<string, bool> leaveOut)
        {
            var files = new List<KeyValuePair<string, FileInfo>>();
            Collect(folder, string.Empty, leaveOut, files);
            if (files.Count == 0)
            {
                throw new FemagException("FemagFolderEmpty", FemagErrorKind.InvalidData,
                    $"Folder '{folder.FullName}' holds no files to upload. Each job folder needs at least the femag.fsl that FEMAG runs.");
            }

            if (!files.Exists(f => f.Key == FslName))
            {
                // The instance runs Linux: Femag.FSL made on Windows is another file there.
                var otherCase = files.Find(f => string.Equals(f.Key, FslName, StringComparison.OrdinalIgnoreCase)).Key;
                throw new FemagException("FemagFslMissing", FemagErrorKind.InvalidData,
                    $"Folder '{folder.FullName}' has no {FslName}, the file FEMAG runs on the instance" +
                    (otherCase != null ? $" (it has '{otherCase}': rename it to {FslName}, as Linux tells case apart)" : string.Empty) +
                    ". Add it, or leave the folder out.");
            }

            files.Sort((a, b) => StringComparer.Ordinal.Compare(a.Key, b.Key));
            return files;
        }

        /// <summary>
        /// Writes the files as a gzip-compressed tar to <paramref name="output"/>, which is left open. The runtime's
        /// own deflate is used (native zlib); SharpZipLib only writes the tar headers.
        /// </summary>
        public static void Write(IReadOnlyList<KeyValuePair<string, FileInfo>> files, Stream output, CancellationToken cancellation)
        {
            var chunk = new byte[CopyChunk];
            var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
            try
            {
                var tar = new TarOutputStream(gzip, Encoding.UTF8) { IsStreamOwner = false };
                foreach (var pair in files)
                {
                    using (var source = pair.Value.OpenRead())
                    {
                        var entry = TarEntry.CreateTarEntry(pair.Key);
                        entry.Size = source.Length;
                        entry.ModTime = pair.Value.LastWriteTimeUtc;
                        entry.TarHeader.Mode = Convert.ToInt32("644", 8);
                        tar.PutNextEntry(entry);

                        // In chunks, so Ctrl+C ends the packing of a model file of hundreds of MB at once.
                        int read;
                        while ((read = source.Read(chunk, 0, chunk.Length)) > 0)
                        {
                            cancellation.ThrowIfCancellationRequested();
                            tar.Write(chunk, 0, read);
                        }

                        tar.CloseEntry();
                    }
                }

                tar.Close();
                gzip.Dispose();
            }
            catch (Exception)
            {
                // The archive is abandoned half-written. Closing the tar would only report the unfinished entry and
                // hide the error that stopped it; the gzip stream is still disposed to free its native state.
                try
                {
                    gzip.Dispose();
                }
                catch (Exception)
                {
                    // Its last bytes go nowhere: the upload has already failed or been cancelled.
                }

                throw;
            }
        }

        /// <summary>The total size of the files, for choosing a part size before the archive exists.</summary>
        public static long TotalBytes(IReadOnlyList<KeyValuePair<string, FileInfo>> files)
        {
            long total = 0;
            foreach (var pair in files)
            {
                total += pair.Value.Length;
            }

            return total;
        }

        private const int CopyChunk = 1 << 20;

        private static void Collect(DirectoryInfo directory, string prefix, Func<string, bool> leaveOut, List<KeyValuePair<string, FileInfo>> files)
        {
            foreach (var entry in directory.EnumerateFileSystemInfos())
            {
                var name = prefix + entry.Name;
                if (!(entry is DirectoryInfo) && leaveOut(name))
                {
                    continue;
                }

                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
                {
                    throw new FemagException("FemagSymbolicLinkRefused", FemagErrorKind.SecurityError,
                        $"'{entry.FullName}' is a symbolic link. Archives hold regular files only and links are never followed, because they may point outside the job folder. Replace the link with a copy of the file it points to.");
                }

                if (entry is DirectoryInfo subdirectory)
                {
                    Collect(subdirectory, name + "/", leaveOut, files);
                }
                else
                {
                    files.Add(new KeyValuePair<string, FileInfo>(name, (FileInfo)entry));
                }
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Threading;
using ICSharpCode.SharpZipLib.Tar;

namespace FemagAws.Packing
{
    /// <summary>Packs a job folder into the tar.gz that the instance extracts in its working directory.</summary>
    public static class JobArchive
    {
        /// <summary>The files of a folder, as archive entry names (relative, '/'-separated) in ordinal order.</summary>
        public static IReadOnlyList<KeyValuePair<string, FileInfo>> ListFiles(DirectoryInfo folder)
        {
            var root = folder.FullName.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) + Path.DirectorySeparatorChar;
            return folder.EnumerateFiles("*", SearchOption.AllDirectories)
                .Select(f => new KeyValuePair<string, FileInfo>(f.FullName.Substring(root.Length).Replace('\\', '/'), f))
                .OrderBy(p => p.Key, StringComparer.Ordinal)
                .ToList();
        }

        /// <summary>Writes the folder as a gzip-compressed tar to <paramref name="output"/>, which is left open.</summary>
        public static void Write(DirectoryInfo folder, Stream output, CancellationToken cancellation)
        {
            var files = ListFiles(folder);
            if (files.Count == 0)
            {
                throw new FemagException("FemagFolderEmpty", FemagErrorKind.InvalidData,
                    $"Folder '{folder.FullName}' holds no files. Each job folder needs at least the femag.fsl that FEMAG runs.");
            }

            using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
            using (var tar = new TarOutputStream(gzip, Encoding.UTF8) { IsStreamOwner = false })
            {
                foreach (var pair in files)
                {
                    cancellation.ThrowIfCancellationRequested();
                    using (var source = pair.Value.OpenRead())
                    {
                        var entry = TarEntry.CreateTarEntry(pair.Key);
                        entry.Size = source.Length;
                        entry.ModTime = pair.Value.LastWriteTimeUtc;
                        entry.TarHeader.Mode = Convert.ToInt32("644", 8);
                        tar.PutNextEntry(entry);
                        source.CopyTo(tar);
                        tar.CloseEntry();
                    }
                }
            }
        }
    }
}

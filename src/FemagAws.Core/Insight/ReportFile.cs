using System;
using System.IO;
using System.Text;

namespace FemagAws.Insight
{
    /// <summary>Writes a report the way Export-Csv writes its file: replace unless told not to, read-only only with force.</summary>
    public static class ReportFile
    {
        /// <summary>
        /// Writes <paramref name="text"/> to <paramref name="path"/> (a full path) as UTF-8. The text goes to a file beside
        /// it first and then takes its place in one step, so a failure keeps the old report rather than half of a new one.
        /// </summary>
        public static FileInfo Write(string path, string text, bool noClobber, bool force)
        {
            if (Directory.Exists(path))
            {
                throw new FemagException("FemagReportPathIsFolder", FemagErrorKind.InvalidArgument,
                    $"'{path}' is a folder. Name a file for the report, such as '{Path.Combine(path, "run.html")}'.");
            }

            var folder = Path.GetDirectoryName(path);
            if (string.IsNullOrEmpty(folder) || !Directory.Exists(folder))
            {
                throw new FemagException("FemagReportFolderMissing", FemagErrorKind.ObjectNotFound,
                    $"The folder '{folder}' does not exist. Create it first, or write the report into a folder that exists.");
            }

            var existing = new FileInfo(path);
            if (existing.Exists)
            {
                if (noClobber)
                {
                    throw new FemagException("FemagReportExists", FemagErrorKind.ResourceExists,
                        $"'{path}' already exists and was kept, as asked. Write the report to another file, or allow it to be replaced.");
                }

                if (existing.IsReadOnly)
                {
                    if (!force)
                    {
                        throw new FemagException("FemagReportReadOnly", FemagErrorKind.PermissionDenied,
                            $"'{path}' is read-only and was kept. Write the report to another file, or force a read-only file to be replaced.");
                    }

                    existing.IsReadOnly = false;
                }
            }

            var partial = Path.Combine(folder, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".partial");
            try
            {
                File.WriteAllText(partial, text, new UTF8Encoding(false));
                if (existing.Exists)
                {
                    File.Replace(partial, path, null);
                }
                else
                {
                    File.Move(partial, path);
                }
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new FemagException("FemagReportNotWritten", ex is UnauthorizedAccessException ? FemagErrorKind.PermissionDenied : FemagErrorKind.InvalidOperation,
                    $"The report could not be written to '{path}': {ex.Message} Write it into a folder you may write to.", ex);
            }
            finally
            {
                if (File.Exists(partial))
                {
                    File.Delete(partial);
                }
            }

            return new FileInfo(path);
        }
    }
}

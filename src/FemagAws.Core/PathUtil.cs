using System;
using System.IO;

namespace FemagAws
{
    internal static class PathUtil
    {
        /// <summary>Expands a leading <c>~</c> the way the femagtools docs use it (<c>~/parvar/0</c>).</summary>
        public static string ExpandHome(string path)
        {
            if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            {
                var home = Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                return Path.Combine(home, path.Length > 2 ? path.Substring(2) : string.Empty);
            }

            return path;
        }
    }
}

using System;
using System.Text.RegularExpressions;

namespace FemagAws.Jobs
{
    /// <summary>The femagtools bucket name: a lowercase UUID, a dash and the job index.</summary>
    public static class BucketNames
    {
        private static readonly Regex Pattern = new Regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-([0-9]+)$", RegexOptions.CultureInvariant);

        public static string New(int index) => Guid.NewGuid().ToString("D") + "-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>The index at the end of a module-style bucket name, or null for other names.</summary>
        public static int? IndexOf(string bucketName)
        {
            var match = Pattern.Match(bucketName);
            return match.Success && int.TryParse(match.Groups[1].Value, out var index) ? index : (int?)null;
        }
    }
}

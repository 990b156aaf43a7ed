using System;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FemagAws.Runners.Pool
{
    /// <summary>A pool's id: p + UTC yyyyMMddHHmmss + '-' + 8 random hex digits, e.g. p20261206043000-1a2b3c4d.</summary>
    public static class PoolIds
    {
        private static readonly Regex Shape = new Regex("^p[0-9]{14}-[0-9a-f]{8}$", RegexOptions.CultureInvariant);

        /// <summary>A new id; the time sorts pools by age, the random part keeps two pools of one second apart.</summary>
        public static string New(DateTime utcNow, Random random)
        {
            var bytes = new byte[4];
            random.NextBytes(bytes);
            return "p" + utcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "-" + BitConverter.ToString(bytes).Replace("-", string.Empty).ToLowerInvariant();
        }

        public static bool IsValid(string? poolId) => poolId != null && Shape.IsMatch(poolId);
    }
}

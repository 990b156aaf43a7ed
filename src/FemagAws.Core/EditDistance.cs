using System;
using System.Collections.Generic;

namespace FemagAws
{
    /// <summary>The nearest of some known names to a misspelt one, for error and warning texts ("did you mean ...").</summary>
    public static class EditDistance
    {
        /// <summary>
        /// The candidate fewest single-character edits (insert, delete, replace, swap of neighbours) away from
        /// <paramref name="name"/>, ignoring case; null when even the nearest needs more edits than a third of the
        /// name's length (at least 2), as it then names something else. The first of equals wins.
        /// </summary>
        public static string? Nearest(string name, IEnumerable<string> candidates)
        {
            var limit = Math.Max(2, name.Length / 3);
            string? best = null;
            var bestDistance = int.MaxValue;
            foreach (var candidate in candidates)
            {
                var distance = Between(name.ToLowerInvariant(), candidate.ToLowerInvariant());
                if (distance < bestDistance)
                {
                    best = candidate;
                    bestDistance = distance;
                }
            }

            return bestDistance <= limit ? best : null;
        }

        /// <summary>The optimal string alignment distance: Levenshtein with the swap of two neighbours as one edit.</summary>
        public static int Between(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (var i = 0; i <= a.Length; i++)
            {
                d[i, 0] = i;
            }

            for (var j = 0; j <= b.Length; j++)
            {
                d[0, j] = j;
            }

            for (var i = 1; i <= a.Length; i++)
            {
                for (var j = 1; j <= b.Length; j++)
                {
                    var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                    if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    {
                        d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                    }
                }
            }

            return d[a.Length, b.Length];
        }
    }
}

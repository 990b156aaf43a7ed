using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FemagAws.Insight
{
    /// <summary>The user's On-Demand prices: instance type to US dollars per hour (the Price List API is not at hand).</summary>
    public static class PricePerHour
    {
        /// <summary>The error id of a table that is not instance types to prices.</summary>
        public const string BadTableId = "FemagBadPricePerHour";

        // Instance types as EC2 names them: family, a dot, size (c5.xlarge, u-6tb1.metal, c7gd.16xlarge).
        private static readonly Regex InstanceType = new Regex(@"^[a-z0-9][a-z0-9-]*\.[a-z0-9-]+$", RegexOptions.CultureInvariant);

        /// <summary>
        /// Reads a table of instance types to US dollars per hour (numbers, or text in invariant culture); null gives an
        /// empty table. Throws a <see cref="FemagException"/> naming the first bad entry.
        /// </summary>
        public static IReadOnlyDictionary<string, decimal> Parse(IDictionary? table)
        {
            var prices = new Dictionary<string, decimal>(StringComparer.Ordinal);
            if (table == null)
            {
                return prices;
            }

            foreach (DictionaryEntry entry in table)
            {
                var type = entry.Key as string;
                if (type == null || !InstanceType.IsMatch(type))
                {
                    throw new FemagException(BadTableId, FemagErrorKind.InvalidArgument,
                        $"'{entry.Key}' in the table of prices per hour is not an instance type such as c5.xlarge (lower case, as EC2 names it). Give each instance type with its On-Demand price in US dollars per hour.");
                }

                if (!(Dollars(entry.Value) is decimal usd) || usd < 0)
                {
                    throw new FemagException(BadTableId, FemagErrorKind.InvalidArgument,
                        $"The price per hour of {type} is '{entry.Value}', not a number of US dollars of 0 or more. Give it as a number, such as 0.192.");
                }

                prices[type] = usd;
            }

            return prices;
        }

        private static decimal? Dollars(object? value)
        {
            switch (value)
            {
                case decimal d: return d;
                case double d when !double.IsNaN(d) && !double.IsInfinity(d) && Math.Abs(d) < 1e15: return (decimal)d;
                case float f when !float.IsNaN(f) && !float.IsInfinity(f) && Math.Abs(f) < 1e15: return (decimal)f;
                case int i: return i;
                case long l: return l;
                case string s when decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed): return parsed;
                default: return null;
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Amazon;
using Amazon.EC2;
using Amazon.Runtime.CredentialManagement;

namespace FemagAws.Aws
{
    /// <summary>What tab completion offers: names the SDK knows offline, and the user's own profiles.</summary>
    public static class AwsCatalog
    {
        private static readonly Lazy<IReadOnlyList<KeyValuePair<string, string>>> Regions = new Lazy<IReadOnlyList<KeyValuePair<string, string>>>(() =>
            RegionEndpoint.EnumerableAllRegions
                .Select(r => new KeyValuePair<string, string>(r.SystemName, r.DisplayName))
                .OrderBy(r => r.Key, StringComparer.Ordinal)
                .ToList());

        // The SDK's InstanceType constants are EC2's list of instance types as of the SDK's release.
        private static readonly Lazy<IReadOnlyList<string>> InstanceTypeNames = new Lazy<IReadOnlyList<string>>(() =>
            typeof(InstanceType).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.FieldType == typeof(InstanceType))
                .Select(f => ((InstanceType)f.GetValue(null)).Value)
                .Distinct()
                .OrderBy(t => t, StringComparer.Ordinal)
                .ToList());

        /// <summary>Region names (eu-central-1) with their display names (Europe (Frankfurt)).</summary>
        public static IReadOnlyList<KeyValuePair<string, string>> RegionNames() => Regions.Value;

        public static IReadOnlyList<string> InstanceTypes() => InstanceTypeNames.Value;

        /// <summary>The profiles in ~/.aws/credentials and ~/.aws/config, or in <paramref name="profileLocation"/> and the config beside it.</summary>
        public static IReadOnlyList<string> ProfileNames(string? profileLocation)
        {
            var chain = profileLocation != null ? new CredentialProfileStoreChain(profileLocation) : new CredentialProfileStoreChain();
            return chain.ListProfiles().Select(p => p.Name).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToList();
        }
    }
}

using System;
using System.Linq;
using FemagAws.Aws.Credentials;

namespace FemagAws.Aws
{
    /// <summary>
    /// The region of work that no job decides: new buckets, what Get-FemagJob and Get-FemagBucket list, and instances
    /// and buckets named by id. (A job's own region decides for its bucket and its instance alike.) Found in the order
    /// of AWS Tools and the AWS CLI, with the config file's server_location after -Region, and femagtools' default last.
    /// </summary>
    public sealed class AwsRegion
    {
        private AwsRegion(string name, string source)
        {
            Name = name;
            Source = source;
        }

        public string Name { get; }

        /// <summary>Where the name came from, in words, for -Debug.</summary>
        public string Source { get; }

        /// <summary>
        /// -Region; server_location where the config sets it; AWS_REGION; AWS_DEFAULT_REGION; the region of the
        /// selected profile (see <see cref="SharedProfiles.Selected"/>); else femagtools' eu-central-1.
        /// </summary>
        /// <param name="regionParameter">-Region, or null.</param>
        /// <param name="config">The config file's settings, or <see cref="FemagConfig.Defaults"/> where none is given.</param>
        /// <param name="profileName">-ProfileName, else the config key 'profile', or null.</param>
        /// <param name="profileLocation">-ProfileLocation as a full path, or null.</param>
        /// <param name="environment">Reads an environment variable.</param>
        public static AwsRegion Resolve(string? regionParameter, FemagConfig config, string? profileName, string? profileLocation, Func<string, string?> environment)
        {
            if (regionParameter != null)
            {
                return Checked(regionParameter, "-Region");
            }

            // A config without server_location names no region: femagtools' default only filled the key in. Taking it
            // would make the environment and the profile count only where no config is given at all.
            if (config.SetsServerLocation)
            {
                return Checked(config.ServerLocation, "server_location in " + config);
            }

            foreach (var variable in new[] { "AWS_REGION", "AWS_DEFAULT_REGION" })
            {
                var value = environment(variable);
                if (!string.IsNullOrWhiteSpace(value))
                {
                    return Checked(value!.Trim(), "the environment variable " + variable);
                }
            }

            var profile = SharedProfiles.Selected(profileName, profileLocation, environment);
            if (SharedProfiles.Store(profileLocation).TryGetProfile(profile, out var found) && found.Region != null)
            {
                return Checked(found.Region.SystemName, $"region in profile '{profile}'");
            }

            return new AwsRegion(FemagConfig.DefaultServerLocation,
                $"femagtools' default, as neither -Region, server_location, AWS_REGION, AWS_DEFAULT_REGION nor profile '{profile}' names one");
        }

        /// <summary>
        /// Refuses a region the AWS SDK does not list (eu-centrall-1), naming the nearest one it does, unless both
        /// services go to a custom endpoint (an S3-compatible store or a local cloud may name its regions freely).
        /// AWS itself would only fail on the first request, or after a bucket was already made.
        /// </summary>
        /// <param name="name">The region, already shaped like one (<see cref="FemagConfig.IsRegionName"/>).</param>
        /// <param name="customEndpoint">True when S3 and EC2 both go to a custom endpoint.</param>
        public static void CheckKnown(string name, bool customEndpoint)
        {
            var known = AwsCatalog.RegionNames().Select(r => r.Key).ToList();
            if (customEndpoint || known.Contains(name, StringComparer.Ordinal))
            {
                return;
            }

            var nearest = EditDistance.Nearest(name, known);
            throw new FemagException("FemagRegionUnknown", FemagErrorKind.InvalidArgument,
                $"'{name}' is not an AWS region{(nearest != null ? $"; did you mean {nearest}?" : ".")} Correct -Region or server_location (or AWS_REGION, AWS_DEFAULT_REGION, the profile's region). " +
                "A region of an S3/EC2-compatible endpoint is taken only with -EndpointUrl, endpoint_url or AWS_ENDPOINT_URL.");
        }

        private static AwsRegion Checked(string name, string source)
        {
            if (!FemagConfig.IsRegionName(name))
            {
                throw new FemagException("FemagRegionInvalid", FemagErrorKind.InvalidArgument,
                    $"'{name}' from {source} is not an AWS region. Use a name such as eu-central-1.");
            }

            return new AwsRegion(name, source);
        }
    }
}

using System;
using FemagAws.Aws.Credentials;

namespace FemagAws.Aws
{
    /// <summary>Which AWS (or compatible endpoint), region and credentials a job talks to.</summary>
    public sealed class AwsTarget : IEquatable<AwsTarget>
    {
        public AwsTarget(string region, string? endpointUrl, string? profileName, string? profileLocation = null, GivenCredentials? credentials = null)
        {
            Region = region;
            EndpointUrl = string.IsNullOrEmpty(endpointUrl) ? null : endpointUrl;
            ProfileName = string.IsNullOrEmpty(profileName) ? null : profileName;
            ProfileLocation = string.IsNullOrEmpty(profileLocation) ? null : profileLocation;
            Credentials = credentials;
        }

        public string Region { get; }

        public string? EndpointUrl { get; }

        public string? ProfileName { get; }

        /// <summary>A shared credentials file other than ~/.aws/credentials (its folder's config file is read too).</summary>
        public string? ProfileLocation { get; }

        /// <summary>Keys given to the command itself; they win over the profile.</summary>
        public GivenCredentials? Credentials { get; }

        /// <summary>
        /// Where one service's requests go: <see cref="EndpointUrl"/> (-EndpointUrl, else endpoint_url), else
        /// AWS_ENDPOINT_URL_S3, _EC2, _STS or _SQS, else AWS_ENDPOINT_URL, the order of the AWS SDK and the aws CLI,
        /// which skip the variables when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true. Null for AWS itself.
        /// </summary>
        /// <param name="service">S3, EC2, STS or SQS, as the variables name them.</param>
        /// <param name="environment">Reads an environment variable.</param>
        public string? EndpointFor(string service, Func<string, string?> environment)
        {
            if (EndpointUrl != null || string.Equals(environment("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.Trim(), "true", StringComparison.OrdinalIgnoreCase))
            {
                return EndpointUrl;
            }

            foreach (var variable in new[] { "AWS_ENDPOINT_URL_" + service, "AWS_ENDPOINT_URL" })
            {
                var value = environment(variable)?.Trim();
                if (string.IsNullOrEmpty(value))
                {
                    continue;
                }

                if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                {
                    throw new FemagException("FemagEndpointInvalid", FemagErrorKind.InvalidArgument,
                        $"The environment variable {variable} = '{value}' is not an http:// or https:// URL. Correct it, or remove it to use AWS itself.");
                }

                return value;
            }

            return null;
        }

        public static AwsTarget Of(FemagJob job) =>
            new AwsTarget(job.Region, job.EndpointUrl, job.ProfileName, job.ProfileLocation, job.Credentials);

        /// <summary>
        /// A job of this target: its region, endpoint, profile and credentials, and the config with server_location set
        /// to that region (the instance's script reads its region from SERVER_LOCATION: it must be the job's).
        /// </summary>
        public FemagJob NewJob(int index, string bucketName, FemagConfig config)
        {
            var job = new FemagJob { Index = index, BucketName = bucketName, Region = Region, Config = config.ForRegion(Region) };
            ApplyTo(job);
            return job;
        }

        /// <summary>The same endpoint and credentials in another region.</summary>
        public AwsTarget InRegion(string region) => new AwsTarget(region, EndpointUrl, ProfileName, ProfileLocation, Credentials);

        /// <summary>Makes the job talk to this target's endpoint with its credentials from now on; the region stays the job's.</summary>
        public void ApplyTo(FemagJob job)
        {
            job.EndpointUrl = EndpointUrl;
            job.ProfileName = ProfileName;
            job.ProfileLocation = ProfileLocation;
            job.Credentials = Credentials;
        }

        public bool Equals(AwsTarget? other) =>
            other != null && Region == other.Region && EndpointUrl == other.EndpointUrl && ProfileName == other.ProfileName &&
            ProfileLocation == other.ProfileLocation && ReferenceEquals(Credentials, other.Credentials);

        public override bool Equals(object? obj) => Equals(obj as AwsTarget);

        public override int GetHashCode() => (Region + "|" + EndpointUrl + "|" + ProfileName + "|" + ProfileLocation).GetHashCode();

        public override string ToString() => Region + (EndpointUrl != null ? " at " + EndpointUrl : string.Empty);
    }
}

using System;

namespace FemagAws.Aws
{
    /// <summary>Which AWS (or compatible endpoint), region and profile a job talks to.</summary>
    public sealed class AwsTarget : IEquatable<AwsTarget>
    {
        public AwsTarget(string region, string? endpointUrl, string? profileName)
        {
            Region = region;
            EndpointUrl = string.IsNullOrEmpty(endpointUrl) ? null : endpointUrl;
            ProfileName = string.IsNullOrEmpty(profileName) ? null : profileName;
        }

        public string Region { get; }

        public string? EndpointUrl { get; }

        public string? ProfileName { get; }

        public static AwsTarget Of(FemagJob job) => new AwsTarget(job.Region, job.EndpointUrl, job.ProfileName);

        public bool Equals(AwsTarget? other) =>
            other != null && Region == other.Region && EndpointUrl == other.EndpointUrl && ProfileName == other.ProfileName;

        public override bool Equals(object? obj) => Equals(obj as AwsTarget);

        public override int GetHashCode() => (Region + "|" + EndpointUrl + "|" + ProfileName).GetHashCode();

        public override string ToString() => Region + (EndpointUrl != null ? " at " + EndpointUrl : string.Empty);
    }
}

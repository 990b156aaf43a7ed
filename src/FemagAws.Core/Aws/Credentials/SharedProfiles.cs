using System;
using Amazon.Runtime.CredentialManagement;

namespace FemagAws.Aws.Credentials
{
    /// <summary>
    /// The shared AWS profile files: ~/.aws/credentials and ~/.aws/config (or the files AWS_SHARED_CREDENTIALS_FILE and
    /// AWS_CONFIG_FILE name), or the credentials file -ProfileLocation names and the config file beside it.
    /// </summary>
    internal static class SharedProfiles
    {
        public static CredentialProfileStoreChain Store(string? profileLocation) =>
            profileLocation != null ? new CredentialProfileStoreChain(profileLocation) : new CredentialProfileStoreChain();

        /// <summary>The files, in words, for messages.</summary>
        public static string Where(string? profileLocation) =>
            profileLocation != null ? profileLocation + " (and the config file beside it)" : "~/.aws/credentials or ~/.aws/config";

        /// <summary>
        /// The profile credentials and region come from: the one named (-ProfileName or the config key 'profile'); else,
        /// in a file of its own, that file's default profile, as in AWS Tools; else AWS_PROFILE or default, as the SDK's
        /// chain reads them.
        /// </summary>
        public static string Selected(string? profileName, string? profileLocation, Func<string, string?> environment)
        {
            if (profileName != null)
            {
                return profileName;
            }

            var fromEnvironment = profileLocation == null ? environment("AWS_PROFILE") : null;
            return string.IsNullOrEmpty(fromEnvironment) ? "default" : fromEnvironment!;
        }
    }
}

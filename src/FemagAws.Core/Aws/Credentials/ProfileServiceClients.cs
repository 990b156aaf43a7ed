using System;
using System.Threading.Tasks;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.RuntimeDependencies;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Amazon.SSO;
using Amazon.SSOOIDC;

namespace FemagAws.Aws.Credentials
{
    /// <summary>
    /// The STS and IAM Identity Center clients that role and SSO profiles need, made from our own SDK. Left to
    /// itself, the SDK looks these assemblies up by name among everything loaded in the process, and takes AWS
    /// Tools' copy when that module came first, whose types do not fit ours.
    /// </summary>
    internal static class ProfileServiceClients
    {
        private static readonly Lazy<bool> Registered = new Lazy<bool>(Register);

        /// <summary>Registers the factories once per process; safe to call from any thread.</summary>
        public static void RegisterOnce() => _ = Registered.Value;

        /// <summary>
        /// SSO clients sign nothing (the cached login token is their credential), nor does STS for web identity and
        /// SAML, so one factory each serves every profile. AssumeRole signs with the source profile's keys, which the
        /// registry's factories are not told: every role is therefore wrapped by <see cref="AssumeRole"/> first.
        /// </summary>
        private static bool Register()
        {
            GlobalRuntimeDependencyRegistry.Instance.RegisterSSOClient(context =>
                new AmazonSSOClient(new AnonymousAWSCredentials(), WithProxy(new AmazonSSOConfig { RegionEndpoint = context.SSOClientContextData.Region }, context.SSOClientContextData.ProxySettings)));
            GlobalRuntimeDependencyRegistry.Instance.RegisterSSOOIDCClient(context =>
                new AmazonSSOOIDCClient(new AnonymousAWSCredentials(), WithProxy(new AmazonSSOOIDCConfig { RegionEndpoint = context.SSOOIDCClientContextData.Region }, context.SSOOIDCClientContextData.ProxySettings)));
            GlobalRuntimeDependencyRegistry.Instance.RegisterSecurityTokenServiceClient(context =>
                new AmazonSecurityTokenServiceClient(new AnonymousAWSCredentials(), WithProxy(
                    new AmazonSecurityTokenServiceConfig { RegionEndpoint = context.SecurityTokenServiceClientContextData.Region ?? RegionEndpoint.USEast1 },
                    context.SecurityTokenServiceClientContextData.ProxySettings)));
            return true;
        }

        /// <summary>
        /// A role profile's credentials, with AssumeRole sent by our own STS client: the registry cannot serve it, as
        /// its factories are not told the source keys. STS is asked in the job's region, or at the profile's
        /// endpoint_url or AWS_ENDPOINT_URL_STS where set.
        /// </summary>
        public static AWSCredentials AssumeRole(AssumeRoleAWSCredentials role, string profileName, string? profileLocation, string region)
        {
            if (!string.IsNullOrEmpty(role.Options?.MfaSerialNumber))
            {
                throw new FemagException("FemagCredentialFailed", FemagErrorKind.AuthenticationError,
                    $"The AWS profile '{profileName}' asks for an MFA code (mfa_serial), which an unattended command cannot type. Get temporary keys first, e.g. with 'aws sts get-session-token', and give them with -AccessKey, -SecretKey and -SessionToken.");
            }

            // RegionEndpoint first: setting it clears ServiceURL, which Profile may set from endpoint_url.
            var config = new AmazonSecurityTokenServiceConfig { RegionEndpoint = RegionEndpoint.GetBySystemName(region) };
            config.Profile = new Profile(profileName, profileLocation);
            WithProxy(config, role.Options?.ProxySettings);
            // A role whose source_profile is itself a role: that one is assumed by our client too.
            var source = role.SourceCredentials is AssumeRoleAWSCredentials sourceRole
                ? AssumeRole(sourceRole, profileName, profileLocation, region)
                : role.SourceCredentials;
            return new RoleCredentials(role, source, config);
        }

        private static T WithProxy<T>(T config, System.Net.IWebProxy? proxy)
            where T : ClientConfig
        {
            if (proxy != null)
            {
                config.SetWebProxy(proxy);
            }

            return config;
        }

        private sealed class RoleCredentials : RefreshingAWSCredentials
        {
            private readonly AssumeRoleAWSCredentials _role;
            private readonly AWSCredentials _source;
            private readonly AmazonSecurityTokenServiceConfig _config;

            public RoleCredentials(AssumeRoleAWSCredentials role, AWSCredentials source, AmazonSecurityTokenServiceConfig config)
            {
                _role = role;
                _source = source;
                _config = config;
                PreemptExpiryTime = TimeSpan.FromMinutes(5);
            }

            protected override CredentialsRefreshState GenerateNewCredentials() => GenerateNewCredentialsAsync().GetAwaiter().GetResult();

            protected override async Task<CredentialsRefreshState> GenerateNewCredentialsAsync()
            {
                using (var sts = new AmazonSecurityTokenServiceClient(_source, _config))
                {
                    var options = _role.Options;
                    var response = await sts.AssumeRoleAsync(new AssumeRoleRequest
                    {
                        RoleArn = _role.RoleArn,
                        RoleSessionName = _role.RoleSessionName,
                        ExternalId = options?.ExternalId,
                        DurationSeconds = options?.DurationSeconds,
                        Policy = options?.Policy,
                        SourceIdentity = options?.SourceIdentity,
                    }).ConfigureAwait(false);
                    var keys = response.Credentials;
                    return new CredentialsRefreshState(
                        new ImmutableCredentials(keys.AccessKeyId, keys.SecretAccessKey, keys.SessionToken),
                        keys.Expiration ?? DateTime.UtcNow.AddHours(1));
                }
            }
        }
    }
}

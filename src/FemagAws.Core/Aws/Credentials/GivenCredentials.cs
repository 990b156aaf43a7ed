using System;
using System.Reflection;
using Amazon.Runtime;

namespace FemagAws.Aws.Credentials
{
    /// <summary>
    /// Credentials given to a command itself (-AccessKey/-SecretKey/-SessionToken or -Credential), which win over
    /// profiles and the SDK's chain. Jobs carry them down the pipeline in memory only: they are never part of a job's
    /// public properties, so Export-Clixml and the console never show them.
    /// </summary>
    public sealed class GivenCredentials
    {
        private readonly Func<AWSCredentials> _create;

        private GivenCredentials(string source, Func<AWSCredentials> create)
        {
            Source = source;
            _create = create;
        }

        /// <summary>Where they came from, for -Debug.</summary>
        public string Source { get; }

        public static GivenCredentials FromKeys(string accessKey, string secretKey, string? sessionToken, string source) =>
            new GivenCredentials(source, () => string.IsNullOrEmpty(sessionToken)
                ? new BasicAWSCredentials(accessKey, secretKey)
                : (AWSCredentials)new SessionAWSCredentials(accessKey, secretKey, sessionToken));

        /// <summary>
        /// An AWSCredentials object of any AWS SDK version, such as AWS Tools' Get-AWSCredential returns: a type of
        /// another module's SDK, so it is asked for its keys by name, anew for each request, as a role's keys renew.
        /// Null when the object has no GetCredentials() that returns keys.
        /// </summary>
        public static GivenCredentials? FromProvider(object provider, string source)
        {
            var getCredentials = provider.GetType().GetMethod("GetCredentials", Type.EmptyTypes);
            var keyType = getCredentials?.ReturnType;
            if (keyType?.GetProperty("AccessKey") == null || keyType.GetProperty("SecretKey") == null)
            {
                return null;
            }

            return new GivenCredentials(source, () => new ProviderCredentials(provider, getCredentials!));
        }

        internal AWSCredentials ToSdk() => _create();

        private sealed class ProviderCredentials : AWSCredentials
        {
            private readonly object _provider;
            private readonly MethodInfo _getCredentials;

            public ProviderCredentials(object provider, MethodInfo getCredentials)
            {
                _provider = provider;
                _getCredentials = getCredentials;
            }

            public override ImmutableCredentials GetCredentials()
            {
                object keys;
                try
                {
                    keys = _getCredentials.Invoke(_provider, null);
                }
                catch (TargetInvocationException ex) when (ex.InnerException != null)
                {
                    throw new FemagException("FemagCredentialFailed", FemagErrorKind.AuthenticationError,
                        "The credentials object given with -Credential could not supply keys: " + ex.InnerException.Message, ex.InnerException);
                }

                string? Read(string name) => keys?.GetType().GetProperty(name)?.GetValue(keys) as string;
                return new ImmutableCredentials(Read("AccessKey"), Read("SecretKey"), Read("Token"));
            }
        }
    }
}

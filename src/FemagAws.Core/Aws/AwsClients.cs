using System;
using System.Collections.Concurrent;
using Amazon;
using Amazon.EC2;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using Amazon.S3;

namespace FemagAws.Aws
{
    /// <summary>The S3 and EC2 clients for one <see cref="AwsTarget"/>, created once per cmdlet call.</summary>
    public sealed class AwsClients : IDisposable
    {
        /// <summary>Retries per request after the first attempt, with backoff of up to 20 s each.</summary>
        private const int MaxErrorRetry = 8;

        private AwsClients(AwsTarget target, IAmazonS3 s3, IAmazonEC2 ec2, string credentialSource)
        {
            Target = target;
            S3 = s3;
            Ec2 = ec2;
            CredentialSource = credentialSource;
        }

        public AwsTarget Target { get; }

        public IAmazonS3 S3 { get; }

        public IAmazonEC2 Ec2 { get; }

        /// <summary>Where the credentials came from, for -Debug output.</summary>
        public string CredentialSource { get; }

        public static AwsClients Create(AwsTarget target)
        {
            var credentials = ResolveCredentials(target.ProfileName, out var source);
            // The SDK accepts any name and would only fail on the first request; say so before.
            if (!FemagConfig.IsRegionName(target.Region))
            {
                throw new FemagException("FemagRegionInvalid", FemagErrorKind.InvalidArgument,
                    $"'{target.Region}' is not an AWS region. Use a name such as eu-central-1 (-Region or server_location).");
            }

            var region = RegionEndpoint.GetBySystemName(target.Region);

            var s3Config = new AmazonS3Config { RegionEndpoint = region };
            var ec2Config = new AmazonEC2Config { RegionEndpoint = region };
            Retry(s3Config);
            Retry(ec2Config);
            if (target.EndpointUrl != null)
            {
                // A compatible endpoint (a local cloud) has no per-bucket DNS names; sign for the job's region.
                s3Config.ServiceURL = target.EndpointUrl;
                s3Config.AuthenticationRegion = target.Region;
                s3Config.ForcePathStyle = true;
                ec2Config.ServiceURL = target.EndpointUrl;
                ec2Config.AuthenticationRegion = target.Region;
            }

            return new AwsClients(target, new AmazonS3Client(credentials, s3Config), new AmazonEC2Client(credentials, ec2Config), source);
        }

        /// <summary>
        /// Throttling, 500s, 503s and dropped connections are retried with capped exponential backoff and jitter, often
        /// enough that a batch left unattended survives a bad minute. The SDK's retry quota is off: it is shared by
        /// every client of an endpoint in the process, and a long batch with many failures would drain it and then
        /// fail requests on their first error.
        /// </summary>
        private static void Retry(ClientConfig config)
        {
            config.RetryMode = RequestRetryMode.Standard;
            config.MaxErrorRetry = MaxErrorRetry;
            config.ThrottleRetries = false;
        }

        public void Dispose()
        {
            S3.Dispose();
            Ec2.Dispose();
        }

        /// <summary>
        /// A named profile must exist (never fall back to another account's default); otherwise the SDK's own
        /// chain: environment, AWS_PROFILE, [default] in ~/.aws/credentials or ~/.aws/config, container, instance role.
        /// </summary>
        private static AWSCredentials ResolveCredentials(string? profileName, out string source)
        {
            if (profileName != null)
            {
                if (new CredentialProfileStoreChain().TryGetAWSCredentials(profileName, out var fromProfile))
                {
                    source = $"profile '{profileName}'";
                    return fromProfile;
                }

                throw new FemagException("FemagProfileNotFound", FemagErrorKind.AuthenticationError,
                    $"The AWS profile '{profileName}' was not found in ~/.aws/credentials or ~/.aws/config. Create it with 'aws configure --profile {profileName}', or name an existing profile with -ProfileName or the config key 'profile'.");
            }

            try
            {
                var credentials = DefaultAWSCredentialsIdentityResolver.GetCredentials();
                source = "the SDK default chain (" + credentials.GetType().Name + ")";
                return credentials;
            }
            catch (AmazonClientException ex)
            {
                throw new FemagException("FemagNoCredentials", FemagErrorKind.AuthenticationError,
                    "No AWS credentials were found. Run 'aws configure' to write ~/.aws/credentials, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
                    "name a profile with -ProfileName (or 'profile' in the config file), or run on an EC2 instance with an instance profile.", ex);
            }
        }
    }

    /// <summary>Clients per target for one cmdlet call, so many jobs share one connection pool.</summary>
    public sealed class AwsClientCache : IDisposable
    {
        private readonly ConcurrentDictionary<AwsTarget, Lazy<AwsClients>> _clients = new ConcurrentDictionary<AwsTarget, Lazy<AwsClients>>();

        public AwsClients Get(AwsTarget target) =>
            _clients.GetOrAdd(target, t => new Lazy<AwsClients>(() => AwsClients.Create(t))).Value;

        public AwsClients Get(FemagJob job) => Get(AwsTarget.Of(job));

        public void Dispose()
        {
            foreach (var lazy in _clients.Values)
            {
                if (lazy.IsValueCreated)
                {
                    lazy.Value.Dispose();
                }
            }

            _clients.Clear();
        }
    }
}

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Amazon;
using Amazon.EC2;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.S3;
using Amazon.SecurityToken;
using Amazon.SQS;
using FemagAws.Aws.Credentials;
using FemagAws.Aws.S3;
using FemagAws.Jobs;

namespace FemagAws.Aws
{
    /// <summary>
    /// The S3, EC2 and SQS clients for one <see cref="AwsTarget"/>, created once per cmdlet call, with the module's
    /// <see cref="ICommandLines"/> for what the work tells the user to type.
    /// </summary>
    public sealed class AwsClients : IDisposable
    {
        /// <summary>Retries per request after the first attempt, with backoff of up to 20 s each.</summary>
        private const int MaxErrorRetry = 8;

        /// <summary>
        /// How long a request may wait on the network without a byte moving before it is abandoned and retried (see
        /// <see cref="IdleTimeoutHandler"/>). S3 and EC2 answer control calls within a second or two; 20 s leaves room
        /// for a slow moment, and a transfer is only cut off when it has stalled that long.
        /// </summary>
        private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(20);

        private readonly Func<Task<string?>> _askBucketOwner;
        private readonly object _bucketOwnerLock = new object();
        private Task<string?>? _bucketOwner;

        /// <param name="target">Where the requests go, with which credentials.</param>
        /// <param name="s3">The S3 client.</param>
        /// <param name="ec2">The EC2 client.</param>
        /// <param name="credentialSource">Where the credentials came from.</param>
        /// <param name="commands">Writes the command lines that messages tell the user to type.</param>
        /// <param name="askBucketOwner">Asks for the expected bucket owner; without it (fakes in tests), none.</param>
        /// <param name="sqs">The SQS client of pools; tests that run no pool leave it out.</param>
        internal AwsClients(AwsTarget target, IAmazonS3 s3, IAmazonEC2 ec2, string credentialSource, ICommandLines commands, Func<Task<string?>>? askBucketOwner = null, IAmazonSQS? sqs = null)
        {
            _sqs = sqs;
            Target = target;
            Commands = commands;
            S3 = s3;
            Ec2 = ec2;
            CredentialSource = credentialSource;
            _askBucketOwner = askBucketOwner ?? (() => Task.FromResult<string?>(null));
        }

        public AwsTarget Target { get; }

        public IAmazonS3 S3 { get; }

        public IAmazonEC2 Ec2 { get; }

        private readonly IAmazonSQS? _sqs;

        /// <summary>The SQS client: a pool's queues (Runners/Pool).</summary>
        public IAmazonSQS Sqs => _sqs ?? throw new InvalidOperationException("These clients were made without SQS.");

        /// <summary>Writes the command lines that messages tell the user to type.</summary>
        public ICommandLines Commands { get; }

        /// <summary>Where the credentials came from, for -Debug output.</summary>
        public string CredentialSource { get; }

        /// <summary>
        /// The account id every request to a job bucket names as its expected owner (see <see cref="BucketOwner"/>),
        /// asked for at the first such request; null where the endpoint gives none. The answer is kept; a failure (the
        /// network, throttling beyond the SDK's retries) is asked again at the next request, not kept to fail every later
        /// request of these clients, such as a whole Wait-FemagJob. The lookup is shared by every request of the clients,
        /// so one stopped by <paramref name="ct"/> (Ctrl+C) stops waiting for it and leaves it to the others.
        /// </summary>
        public async Task<string?> ExpectedBucketOwnerAsync(CancellationToken ct)
        {
            Task<string?> lookup;
            lock (_bucketOwnerLock)
            {
                if (_bucketOwner == null || _bucketOwner.IsFaulted || _bucketOwner.IsCanceled)
                {
                    _bucketOwner = _askBucketOwner();
                }

                lookup = _bucketOwner;
            }

            if (!lookup.IsCompleted && ct.CanBeCanceled)
            {
                var stopped = new TaskCompletionSource<bool>();
                using (ct.Register(() => stopped.TrySetResult(true)))
                {
                    await Task.WhenAny(lookup, stopped.Task).ConfigureAwait(false);
                }

                ct.ThrowIfCancellationRequested();
            }

            return await lookup.ConfigureAwait(false);
        }

        /// <param name="target">Where the requests go, with which credentials.</param>
        /// <param name="commands">Writes the command lines that messages tell the user to type.</param>
        /// <param name="notify">Told, from any thread, when a request went quiet and is retried, for -Verbose.</param>
        public static AwsClients Create(AwsTarget target, ICommandLines commands, Action<string> notify)
        {
            // The SDK accepts any name and would only fail on the first request; say so before.
            if (!FemagConfig.IsRegionName(target.Region))
            {
                throw new FemagException("FemagRegionInvalid", FemagErrorKind.InvalidArgument,
                    $"'{target.Region}' is not an AWS region. Use a name such as eu-central-1 (-Region or server_location).");
            }

            var s3Endpoint = target.EndpointFor("S3", Environment.GetEnvironmentVariable);
            var ec2Endpoint = target.EndpointFor("EC2", Environment.GetEnvironmentVariable);
            AwsRegion.CheckKnown(target.Region, s3Endpoint != null && ec2Endpoint != null);

            ProfileServiceClients.RegisterOnce();
            var credentials = ResolveCredentials(target, out var source);

            var region = RegionEndpoint.GetBySystemName(target.Region);

            var s3Config = new AmazonS3Config { RegionEndpoint = region, HttpClientFactory = new IdleTimeoutClientFactory("S3", IdleTimeout, notify) };
            var ec2Config = new AmazonEC2Config { RegionEndpoint = region, HttpClientFactory = new IdleTimeoutClientFactory("EC2", IdleTimeout, notify) };
            Retry(s3Config);
            Retry(ec2Config);
            if (s3Endpoint != null)
            {
                // A compatible endpoint (a local cloud) has no per-bucket DNS names; sign for the job's region.
                s3Config.ServiceURL = s3Endpoint;
                s3Config.AuthenticationRegion = target.Region;
                s3Config.ForcePathStyle = true;
            }

            if (ec2Endpoint != null)
            {
                ec2Config.ServiceURL = ec2Endpoint;
                ec2Config.AuthenticationRegion = target.Region;
            }

            // STS goes where the same settings send it, as it does in the SDK and the aws CLI (an AWS_ENDPOINT_URL store is
            // one), and, since every S3 request waits for its answer, with the same idle timeout and retries.
            var stsEndpoint = target.EndpointFor("STS", Environment.GetEnvironmentVariable);
            var stsConfig = new AmazonSecurityTokenServiceConfig { RegionEndpoint = region, HttpClientFactory = new IdleTimeoutClientFactory("STS", IdleTimeout, notify) };
            Retry(stsConfig);
            if (stsEndpoint != null)
            {
                stsConfig.ServiceURL = stsEndpoint;
                stsConfig.AuthenticationRegion = target.Region;
            }

            // A pool's queues go where the same settings send SQS (AWS_ENDPOINT_URL_SQS first), with the same timeouts.
            var sqsEndpoint = target.EndpointFor("SQS", Environment.GetEnvironmentVariable);
            var sqsConfig = new AmazonSQSConfig { RegionEndpoint = region, HttpClientFactory = new IdleTimeoutClientFactory("SQS", IdleTimeout, notify) };
            Retry(sqsConfig);
            if (sqsEndpoint != null)
            {
                sqsConfig.ServiceURL = sqsEndpoint;
                sqsConfig.AuthenticationRegion = target.Region;
            }

            AwsClients? clients = null;
            var s3 = new OwnerCheckedS3Client(credentials, s3Config, ct => clients!.ExpectedBucketOwnerAsync(ct));
            clients = new AwsClients(target, s3, new AmazonEC2Client(credentials, ec2Config), source, commands,
                () => ExpectedOwnerAsync(target, credentials, stsConfig, s3Endpoint != null, notify), new AmazonSQSClient(credentials, sqsConfig));
            return clients;
        }

        private static async Task<string?> ExpectedOwnerAsync(AwsTarget target, AWSCredentials credentials, AmazonSecurityTokenServiceConfig stsConfig, bool compatibleS3, Action<string> notify)
        {
            var owner = await BucketOwner.AccountOfAsync(target, credentials, stsConfig, compatibleS3).ConfigureAwait(false);
            if (owner == null)
            {
                // Once per client: -Verbose says it once per command and region, not per request.
                notify(BucketOwner.NoAccountNote(target));
            }

            return owner;
        }

        /// <summary>
        /// Throttling, 500s, 503s, dropped connections and requests that went quiet (<see cref="IdleTimeout"/>) are
        /// retried with capped exponential backoff and jitter, often enough that a batch left unattended survives a bad
        /// minute. The SDK's retry quota is off: it is shared by every client of an endpoint in the process, and a long
        /// batch with many failures would drain it and then fail requests on their first error.
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
            _sqs?.Dispose();
        }

        /// <summary>
        /// AWS Tools' order: keys given to the command, then a named profile (which must exist: never fall back to
        /// another account's default), then the SDK's own chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity,
        /// AWS_PROFILE, [default] in ~/.aws/credentials or ~/.aws/config, the container, the instance profile.
        /// </summary>
        private static AWSCredentials ResolveCredentials(AwsTarget target, out string source)
        {
            if (target.Credentials != null)
            {
                source = target.Credentials.Source;
                return Checked(target.Credentials.ToSdk(), source, null);
            }

            if (target.ProfileName != null || target.ProfileLocation != null)
            {
                var name = SharedProfiles.Selected(target.ProfileName, target.ProfileLocation, Environment.GetEnvironmentVariable);
                var where = SharedProfiles.Where(target.ProfileLocation);
                var chain = SharedProfiles.Store(target.ProfileLocation);
                if (!chain.TryGetProfile(name, out var profile))
                {
                    throw new FemagException("FemagProfileNotFound", FemagErrorKind.AuthenticationError,
                        $"The AWS profile '{name}' was not found in {where}. Create it with 'aws configure --profile {name}', or name an existing profile with -ProfileName (and -ProfileLocation) or the config key 'profile'.");
                }

                if (!chain.TryGetAWSCredentials(name, out var fromProfile))
                {
                    throw new FemagException("FemagProfileWithoutCredentials", FemagErrorKind.AuthenticationError,
                        $"The AWS profile '{name}' in {where} holds no credentials the AWS SDK can use: give it aws_access_key_id and aws_secret_access_key, role_arn with source_profile, or an sso_session.");
                }

                // The SDK would quietly take the default chain's keys for a source_profile that is not there.
                var sourceProfile = profile.Options.SourceProfile;
                if (!string.IsNullOrEmpty(sourceProfile) && !chain.TryGetProfile(sourceProfile, out _))
                {
                    throw new FemagException("FemagProfileNotFound", FemagErrorKind.AuthenticationError,
                        $"The AWS profile '{name}' assumes its role with the keys of source_profile '{sourceProfile}', which was not found in {where}. Add that profile, or correct source_profile.");
                }

                source = $"profile '{name}' in {where} ({Describe(fromProfile)})";
                return Checked(OwnRole(fromProfile, name, target), source, name);
            }

            AWSCredentials credentials;
            try
            {
                credentials = DefaultAWSCredentialsIdentityResolver.GetCredentials();
            }
            catch (AmazonClientException ex)
            {
                throw new FemagException("FemagNoCredentials", FemagErrorKind.AuthenticationError,
                    "No AWS credentials were found. Run 'aws configure' to write ~/.aws/credentials, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
                    "name a profile with -ProfileName (or 'profile' in the config file), or run on an EC2 instance with an instance profile.", ex);
            }

            source = "the SDK's default chain: " + Describe(credentials);
            var chainProfile = SharedProfiles.Selected(null, null, Environment.GetEnvironmentVariable);
            return Checked(OwnRole(credentials, chainProfile, target), source, chainProfile);
        }

        /// <summary>A role is assumed by our own STS client (see <see cref="ProfileServiceClients"/>); other credentials stay as they are.</summary>
        private static AWSCredentials OwnRole(AWSCredentials credentials, string profileName, AwsTarget target) =>
            credentials is AssumeRoleAWSCredentials role
                ? ProfileServiceClients.AssumeRole(role, profileName, target.ProfileLocation, target.Region)
                : credentials;

        /// <summary>
        /// Asks the credentials for their keys once, up front (the SDK keeps them until they expire), so that a
        /// missing SSO login, a refused AssumeRole or an unusable -Credential is one clear error before any work,
        /// not a failure of every request.
        /// </summary>
        private static AWSCredentials Checked(AWSCredentials credentials, string source, string? profileName)
        {
            try
            {
                var keys = credentials.GetCredentials();
                if (string.IsNullOrEmpty(keys?.AccessKey) || string.IsNullOrEmpty(keys?.SecretKey))
                {
                    throw new FemagException("FemagCredentialFailed", FemagErrorKind.AuthenticationError,
                        $"The credentials of {source} have no access key id or no secret access key.");
                }

                return credentials;
            }
            catch (Exception ex) when (credentials is SSOAWSCredentials && ex is AmazonClientException)
            {
                throw new FemagException("FemagSsoLoginNeeded", FemagErrorKind.AuthenticationError,
                    $"The AWS IAM Identity Center (SSO) login of profile '{profileName}' is missing or has expired ({ex.Message}). Run 'aws sso login --profile {profileName}', then run the command again.", ex);
            }
            catch (Exception ex) when (ex is AmazonClientException || ex is AmazonServiceException || ex is InvalidOperationException || ex is ArgumentException)
            {
                throw new FemagException("FemagCredentialFailed", FemagErrorKind.AuthenticationError,
                    $"The credentials of {source} could not be obtained: {ex.Message} Check the profile's role_arn and source_profile, or log in again.", ex);
            }
        }

        /// <summary>The kind of credentials, in words, for -Debug.</summary>
        private static string Describe(AWSCredentials credentials)
        {
            switch (credentials)
            {
                case EnvironmentVariablesAWSCredentials _:
                    return "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
                case AssumeRoleAWSCredentials _:
                    return "a role assumed with AWS STS";
                case AssumeRoleWithWebIdentityCredentials _:
                    return "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)";
                case SSOAWSCredentials _:
                    return "AWS IAM Identity Center (SSO)";
                case InstanceProfileAWSCredentials _:
                    return "the EC2 instance profile";
                case GenericContainerCredentials _:
                    return "the container's credentials endpoint";
                default:
                    var profile = Environment.GetEnvironmentVariable("AWS_PROFILE");
                    var kind = credentials.GetType().Name;
                    return string.IsNullOrEmpty(profile) ? kind : $"{kind} of profile '{profile}' (AWS_PROFILE)";
            }
        }
    }

    /// <summary>Clients per target for one cmdlet call, so many jobs share one connection pool.</summary>
    public sealed class AwsClientCache : IDisposable
    {
        private readonly ConcurrentDictionary<AwsTarget, Lazy<AwsClients>> _clients = new ConcurrentDictionary<AwsTarget, Lazy<AwsClients>>();
        private readonly ConcurrentQueue<string> _notices = new ConcurrentQueue<string>();
        private readonly Func<AwsTarget, Action<string>, AwsClients> _create;

        /// <param name="commands">Writes the command lines that messages tell the user to type.</param>
        public AwsClientCache(ICommandLines commands)
            : this(commands, (target, notify) => AwsClients.Create(target, commands, notify))
        {
        }

        /// <summary>For tests: clients made by <paramref name="create"/>, such as fakes.</summary>
        internal AwsClientCache(ICommandLines commands, Func<AwsTarget, Action<string>, AwsClients> create)
        {
            Commands = commands;
            _create = create;
        }

        /// <summary>Writes the command lines that messages tell the user to type, before any client is made.</summary>
        public ICommandLines Commands { get; }

        public AwsClients Get(AwsTarget target) =>
            _clients.GetOrAdd(target, t => new Lazy<AwsClients>(() => _create(t, _notices.Enqueue))).Value;

        /// <summary>What the clients' requests met since the last call (a request that went quiet and is retried), oldest first.</summary>
        public List<string> TakeNotices()
        {
            var taken = new List<string>();
            while (_notices.TryDequeue(out var notice))
            {
                taken.Add(notice);
            }

            return taken;
        }

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

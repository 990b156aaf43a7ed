using System;
using System.Collections.Concurrent;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.S3;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

namespace FemagAws.Aws.S3
{
    /// <summary>
    /// The account that owns the job buckets: the credentials' own, from sts:GetCallerIdentity (which needs no IAM
    /// permission). S3 refuses a request that names it as ExpectedBucketOwner when someone else owns the bucket, so a
    /// name that another account registered (an old CSV, a log, a bucket deleted and taken) is never used.
    /// </summary>
    public static class BucketOwner
    {
        /// <summary>Account ids per endpoint and access key id: a key belongs to one account for good, so it is asked once per process.</summary>
        private static readonly ConcurrentDictionary<string, Lazy<Task<string?>>> Accounts = new ConcurrentDictionary<string, Lazy<Task<string?>>>();

        /// <summary>
        /// The credentials' account id; null where S3 goes to a compatible endpoint and STS gives none there, because
        /// it serves no STS or answers it with an error. With S3 on AWS itself a failure is an error.
        /// </summary>
        /// <param name="target">Where the requests go, with which credentials.</param>
        /// <param name="credentials">The credentials whose account is asked for.</param>
        /// <param name="stsConfig">STS's client settings: its endpoint as <see cref="AwsTarget.EndpointFor"/> chose it, timeouts and retries.</param>
        /// <param name="compatibleS3">True when S3 goes to a custom endpoint (an S3-compatible store, a local cloud).</param>
        public static async Task<string?> AccountOfAsync(AwsTarget target, AWSCredentials credentials, AmazonSecurityTokenServiceConfig stsConfig, bool compatibleS3)
        {
            var keys = await credentials.GetCredentialsAsync().ConfigureAwait(false);
            var key = stsConfig.ServiceURL + "|" + compatibleS3 + "|" + target.Region + "|" + keys.AccessKey;
            var lookup = Accounts.GetOrAdd(key, _ => new Lazy<Task<string?>>(() => AskAsync(credentials, stsConfig, compatibleS3)));
            try
            {
                return await lookup.Value.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Asked again next time: the failure may pass (the network, an expired login renewed).
                Accounts.TryRemove(key, out _);
                throw;
            }
        }

        private static async Task<string?> AskAsync(AWSCredentials credentials, AmazonSecurityTokenServiceConfig config, bool compatibleS3)
        {
            try
            {
                using (var sts = new AmazonSecurityTokenServiceClient(credentials, config))
                {
                    var account = (await sts.GetCallerIdentityAsync(new GetCallerIdentityRequest()).ConfigureAwait(false)).Account;
                    return string.IsNullOrEmpty(account) ? null : account;
                }
            }
            catch (Exception ex) when (compatibleS3 && (ex is AmazonServiceException || ex is AmazonClientException || ex is System.Net.Http.HttpRequestException))
            {
                return null;
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, "Asking AWS STS (GetCallerIdentity) which account the credentials belong to, so that S3 checks every job bucket is that account's,");
            }
        }

        /// <summary>The verbose note for a target whose endpoint gives no account id.</summary>
        public static string NoAccountNote(AwsTarget target) =>
            $"{target}: the endpoint gives no account id (sts:GetCallerIdentity failed or is not served), so S3 requests go without ExpectedBucketOwner: this store cannot check who owns a bucket.";
    }

    /// <summary>
    /// An S3 client that names the expected bucket owner on every request that can carry it (every request to a
    /// bucket; not ListBuckets or CreateBucket), so no call can forget it.
    /// </summary>
    internal sealed class OwnerCheckedS3Client : AmazonS3Client
    {
        private readonly Func<CancellationToken, Task<string?>> _owner;

        public OwnerCheckedS3Client(AWSCredentials credentials, AmazonS3Config config, Func<CancellationToken, Task<string?>> owner)
            : base(credentials, config)
        {
            _owner = owner;
        }

        protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
        {
            base.CustomizeRuntimePipeline(pipeline);

            // Runs before the request is marshalled, so the SDK itself writes the header where the operation has one.
            // The base constructor may build the pipeline before _owner is set: the handler reads it per request.
            pipeline.AddHandlerBefore<Marshaller>(new ExpectedOwnerHandler(ct => _owner(ct)));
        }

        private sealed class ExpectedOwnerHandler : PipelineHandler
        {
            /// <summary>ExpectedBucketOwner per request type, or null for those without it (S3's model decides, not a list here).</summary>
            private static readonly ConcurrentDictionary<Type, PropertyInfo?> OwnerProperties = new ConcurrentDictionary<Type, PropertyInfo?>();

            private readonly Func<CancellationToken, Task<string?>> _owner;

            public ExpectedOwnerHandler(Func<CancellationToken, Task<string?>> owner)
            {
                _owner = owner;
            }

            public override async Task<T> InvokeAsync<T>(IExecutionContext executionContext)
            {
                var property = OwnerProperty(executionContext);
                if (property != null)
                {
                    Apply(property, executionContext, await _owner(executionContext.RequestContext.CancellationToken).ConfigureAwait(false));
                }

                return await base.InvokeAsync<T>(executionContext).ConfigureAwait(false);
            }


            public override void InvokeSync(IExecutionContext executionContext)
            {
                var property = OwnerProperty(executionContext);
                if (property != null)
                {
                    Apply(property, executionContext, _owner(executionContext.RequestContext.CancellationToken).GetAwaiter().GetResult());
                }

                base.InvokeSync(executionContext);
            }

            /// <summary>The request's ExpectedBucketOwner when it has one and the caller left it empty.</summary>
            private static PropertyInfo? OwnerProperty(IExecutionContext executionContext)
            {
                var request = executionContext.RequestContext.OriginalRequest;
                var property = OwnerProperties.GetOrAdd(request.GetType(), type =>
                {
                    var p = type.GetProperty("ExpectedBucketOwner", BindingFlags.Public | BindingFlags.Instance);
                    return p != null && p.PropertyType == typeof(string) && p.CanWrite ? p : null;
                });
                return property != null && property.GetValue(request) == null ? property : null;
            }

            private static void Apply(PropertyInfo property, IExecutionContext executionContext, string? owner)
            {
                if (owner != null)
                {
                    property.SetValue(executionContext.RequestContext.OriginalRequest, owner);
                }
            }
        }
    }
}

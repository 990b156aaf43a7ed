using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;

namespace FemagAws.Aws
{
    /// <summary>Turns SDK failures into <see cref="FemagException"/>s that say what was being done and what to do.</summary>
    public static class AwsErrors
    {
        public static Exception Explain(Exception ex, string doing)
        {
            switch (ex)
            {
                case FemagException _:
                case OperationCanceledException _:
                    // Ctrl+C. A request that timed out is a TimeoutException (IdleTimeoutHandler), never this.
                    return ex;
                case TimeoutException timeout:
                    return TimedOut(timeout, ex, doing);
                case AmazonServiceException service when service.InnerException is TimeoutException timeout:
                    // The SDK wraps an answer that stalled while it read it.
                    return TimedOut(timeout, ex, doing);
                case AmazonServiceException service when !string.IsNullOrEmpty(service.ErrorCode):
                    return FromService(service, doing);
                case AmazonServiceException service when service.InnerException is HttpRequestException:
                    return Unreachable(service, doing);
                case HttpRequestException _:
                    return Unreachable(ex, doing);
                case AmazonClientException client:
                    return new FemagException("FemagAwsClientError", FemagErrorKind.InvalidOperation, $"{doing} failed: {client.Message}", ex);
                default:
                    return ex;
            }
        }

        /// <summary>Runs an SDK call and explains its failure.</summary>
        public static async Task<T> Call<T>(Func<Task<T>> call, string doing)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                var explained = AwsErrors.Explain(ex, doing);
                if (ReferenceEquals(explained, ex))
                {
                    throw;
                }

                throw explained;
            }
        }

        /// <summary>Every page of an SDK paginator, read with <paramref name="ct"/>, its failures explained as <see cref="Call{T}"/> does.</summary>
        public static async Task<List<T>> CollectAsync<T>(IAsyncEnumerable<T> pages, string doing, CancellationToken ct)
        {
            var all = new List<T>();
            try
            {
                await foreach (var page in pages.WithCancellation(ct).ConfigureAwait(false))
                {
                    all.Add(page);
                }
            }
            catch (Exception ex)
            {
                var explained = AwsErrors.Explain(ex, doing);
                if (ReferenceEquals(explained, ex))
                {
                    throw;
                }

                throw explained;
            }

            return all;
        }

        private static FemagException TimedOut(TimeoutException timeout, Exception ex, string doing) =>
            new FemagException("FemagAwsTimeout", FemagErrorKind.OperationTimeout,
                $"{doing} failed: {timeout.Message} Check the network, -EndpointUrl or endpoint_url.", ex);

        private static FemagException Unreachable(Exception ex, string doing) =>
            new FemagException("FemagAwsUnreachable", FemagErrorKind.ResourceUnavailable,
                $"{doing} failed: the AWS endpoint could not be reached ({(ex.InnerException ?? ex).Message}). Check the network, -EndpointUrl or endpoint_url.", ex);

        private static FemagException FromService(AmazonServiceException ex, string doing)
        {
            var code = ex.ErrorCode;
            var id = ErrorIds.OfAws(code);
            // The service's own message often has no full stop, and the advice appended to it is a sentence of its own.
            var message = ex.Message.TrimEnd();
            var text = $"{doing} failed: {code}: {message}{(message.EndsWith(".") || message.EndsWith("!") || message.EndsWith("?") ? string.Empty : ".")}";
            switch (code)
            {
                case "AccessDenied":
                case "UnauthorizedOperation":
                case "AllAccessDisabled":
                    // Every request to a job bucket names the expected owner, so a bucket of another account is refused this way too.
                    var owner = ex is Amazon.S3.AmazonS3Exception ? " S3 also refuses a bucket that belongs to another AWS account." : string.Empty;
                    return new FemagException(id, FemagErrorKind.PermissionDenied, text + " Give the credentials' IAM user or role the S3, EC2 and SQS rights the README lists." + owner, ex);
                case "InvalidAccessKeyId":
                case "AuthFailure":
                case "SignatureDoesNotMatch":
                case "ExpiredToken":
                case "InvalidClientTokenId":
                    return new FemagException(id, FemagErrorKind.AuthenticationError, text + " Check the AWS credentials (aws configure, -ProfileName).", ex);
                case "NoSuchBucket":
                    return new FemagException(id, FemagErrorKind.ObjectNotFound,
                        text + " The bucket is gone: it was deleted (delete_buckets, Remove-FemagBucket) or the name is wrong. Get-FemagJob lists the module's buckets.", ex);
                case "NoSuchKey":
                case "InvalidInstanceID.NotFound":
                    return new FemagException(id, FemagErrorKind.ObjectNotFound, text, ex);
                case "BucketAlreadyExists":
                case "BucketAlreadyOwnedByYou":
                    return new FemagException(id, FemagErrorKind.ResourceExists, text, ex);
                case "InsufficientInstanceCapacity":
                case "InsufficientCapacity":
                case "UnfulfillableCapacity":
                case "MaxSpotInstanceCountExceeded":
                case "SpotMaxPriceTooLow":
                case "InstanceLimitExceeded":
                case "VcpuLimitExceeded":
                case "TooManyBuckets":
                    return new FemagException(id, FemagErrorKind.LimitsExceeded, text, ex);
                default:
                    if (code.StartsWith("Invalid", StringComparison.Ordinal) || code.EndsWith("NotFound", StringComparison.Ordinal) || code == "MissingParameter")
                    {
                        return new FemagException(id, FemagErrorKind.InvalidArgument, text + " Check the [amazon] settings in the config file.", ex);
                    }

                    return new FemagException(id, FemagErrorKind.InvalidOperation, text, ex);
            }
        }
    }
}

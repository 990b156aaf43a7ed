using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;

namespace FemagAws.Aws.S3
{
    /// <summary>The S3 side of a job: its bucket, the archive going in and the results coming out.</summary>
    public static class JobBuckets
    {
        /// <summary>Tag on every bucket (and instance) the module creates; its value is the job index.</summary>
        public const string IndexTag = "femag-aws:index";

        public static async Task CreateAsync(IAmazonS3 s3, string bucketName, string region, CancellationToken ct)
        {
            var request = new PutBucketRequest
            {
                BucketName = bucketName,
                UseClientRegion = false,
                ObjectOwnership = ObjectOwnership.BucketOwnerEnforced,
            };

            // us-east-1 is the one region that must not be named as a LocationConstraint.
            if (region != "us-east-1")
            {
                request.BucketRegionName = region;
            }

            try
            {
                await s3.PutBucketAsync(request, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "BucketAlreadyOwnedByYou")
            {
                // A retry after the first attempt's answer was lost: that attempt made the bucket.
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "BucketAlreadyExists")
            {
                // On AWS: another account owns the name. Some stores say the same of one's own bucket (a retry whose
                // first answer was lost). HeadBucket names the expected owner (OwnerCheckedS3Client), so it succeeds
                // only for our own; a store without account ids cannot tell, and a fresh uuid name we may use is ours.
                if (!await IsAccessibleAsync(s3, bucketName, ct).ConfigureAwait(false))
                {
                    throw new FemagException("FemagBucketNotYours", FemagErrorKind.PermissionDenied,
                        $"Bucket {bucketName} already exists (BucketAlreadyExists) and belongs to another AWS account, so it was not used and nothing was written to it. " +
                        "Run New-FemagBucket for the folder again: the new bucket gets a new name.", ex);
                }
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, $"Creating bucket {bucketName}");
            }
        }

        /// <summary>True when the bucket exists and these credentials may use it.</summary>
        private static async Task<bool> IsAccessibleAsync(IAmazonS3 s3, string bucketName, CancellationToken ct)
        {
            try
            {
                await s3.HeadBucketAsync(new HeadBucketRequest { BucketName = bucketName }, ct).ConfigureAwait(false);
                return true;
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.Forbidden || ex.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, $"Checking bucket {bucketName}");
            }
        }

        /// <summary>Blocks public access to a new bucket, turns on default encryption (SSE-S3) and tags it as the module's.</summary>
        public static async Task ProtectAndTagAsync(IAmazonS3 s3, string bucketName, JobTags tags, CancellationToken ct)
        {
            // One after another: S3 may refuse concurrent changes to one bucket's settings (409 OperationAborted),
            // which the SDK does not retry. The tag goes first, so a bucket whose set-up fails half-way is still
            // known as the module's. The archive is sent only after all three.
            await TagAsync(s3, bucketName, tags, ct).ConfigureAwait(false);
            await AwsErrors.Call(() => s3.PutPublicAccessBlockAsync(new PutPublicAccessBlockRequest
            {
                BucketName = bucketName,
                PublicAccessBlockConfiguration = new PublicAccessBlockConfiguration
                {
                    BlockPublicAcls = true,
                    BlockPublicPolicy = true,
                    IgnorePublicAcls = true,
                    RestrictPublicBuckets = true,
                },
            }, ct), $"Blocking public access to bucket {bucketName}").ConfigureAwait(false);
            await AwsErrors.Call(() => s3.PutBucketEncryptionAsync(new PutBucketEncryptionRequest
            {
                BucketName = bucketName,
                ServerSideEncryptionConfiguration = new ServerSideEncryptionConfiguration
                {
                    ServerSideEncryptionRules = new List<ServerSideEncryptionRule>
                    {
                        new ServerSideEncryptionRule { ServerSideEncryptionByDefault = new ServerSideEncryptionByDefault { ServerSideEncryptionAlgorithm = ServerSideEncryptionMethod.AES256 } },
                    },
                },
            }, ct), $"Turning on default encryption for bucket {bucketName}").ConfigureAwait(false);
        }

        /// <summary>Sets the bucket's tags to <paramref name="tags"/> (S3 replaces the whole set).</summary>
        public static Task TagAsync(IAmazonS3 s3, string bucketName, JobTags tags, CancellationToken ct) =>
            AwsErrors.Call(() => s3.PutBucketTaggingAsync(new PutBucketTaggingRequest { BucketName = bucketName, TagSet = tags.ToTagSet() }, ct), $"Tagging bucket {bucketName}");

        /// <summary>The text of an object, or null when it does not exist.</summary>
        public static async Task<string?> TryReadTextAsync(IAmazonS3 s3, string bucketName, string key, CancellationToken ct) =>
            (await TryReadStampedTextAsync(s3, bucketName, key, ct).ConfigureAwait(false))?.Text;

        /// <summary>The text of an object with when it was written (UTC), or null when it does not exist.</summary>
        public static async Task<(string Text, DateTime? LastModified)?> TryReadStampedTextAsync(IAmazonS3 s3, string bucketName, string key, CancellationToken ct)
        {
            try
            {
                using (var response = await s3.GetObjectAsync(bucketName, key, ct).ConfigureAwait(false))
                using (var reader = new StreamReader(response.ResponseStream, Encoding.UTF8))
                {
                    return (await reader.ReadToEndAsync().ConfigureAwait(false), response.LastModified?.ToUniversalTime());
                }
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
            {
                return null;
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, $"Reading {key} in bucket {bucketName}");
            }
        }

        public static Task DeleteObjectAsync(IAmazonS3 s3, string bucketName, string key, CancellationToken ct) =>
            AwsErrors.Call(() => s3.DeleteObjectAsync(bucketName, key, ct), $"Deleting {key} in bucket {bucketName}");

        /// <summary>Every object in the bucket, across all pages.</summary>
        public static async Task<List<S3Object>> ListAsync(IAmazonS3 s3, string bucketName, CancellationToken ct) =>
            (await AwsErrors.CollectAsync(s3.Paginators.ListObjectsV2(new ListObjectsV2Request { BucketName = bucketName }).Responses, $"Listing bucket {bucketName}", ct).ConfigureAwait(false))
                .SelectMany(page => page.S3Objects ?? new List<S3Object>())
                .ToList();

        /// <summary>True while an upload into the bucket is still in progress (a multipart upload not yet completed).</summary>
        public static async Task<bool> HasUploadsInProgressAsync(IAmazonS3 s3, string bucketName, CancellationToken ct)
        {
            var response = await AwsErrors.Call(() => s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucketName, MaxUploads = 1 }, ct),
                $"Listing uploads in bucket {bucketName}").ConfigureAwait(false);
            return response.MultipartUploads != null && response.MultipartUploads.Count > 0;
        }

        /// <summary>Aborts every upload into the bucket that was started and never completed.</summary>
        public static async Task AbortUploadsAsync(IAmazonS3 s3, string bucketName, CancellationToken ct)
        {
            var pages = await AwsErrors.CollectAsync(s3.Paginators.ListMultipartUploads(new ListMultipartUploadsRequest { BucketName = bucketName }).Responses,
                $"Listing uploads in bucket {bucketName}", ct).ConfigureAwait(false);
            foreach (var upload in pages.SelectMany(page => page.MultipartUploads ?? new List<MultipartUpload>()))
            {
                await AwsErrors.Call(() => s3.AbortMultipartUploadAsync(bucketName, upload.Key, upload.UploadId, ct), $"Aborting an old upload of {upload.Key} in bucket {bucketName}").ConfigureAwait(false);
            }
        }

        /// <summary>How often a download whose data stopped coming is started; more would only repeat a broken network.</summary>
        private const int DownloadAttempts = 3;

        /// <summary>Ends the name of a download's unfinished file, written beside its target.</summary>
        public const string PartialDownloadSuffix = ".femag-partial";

        public static async Task DownloadAsync(IAmazonS3 s3, string bucketName, string key, string path, CancellationToken ct)
        {
            // Written beside the target and renamed, so an interrupted download never looks complete.
            var partial = path + PartialDownloadSuffix;
            var doing = $"Downloading {key} from bucket {bucketName}";
            try
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        using (var response = await AwsErrors.Call(() => s3.GetObjectAsync(bucketName, key, ct), doing).ConfigureAwait(false))
                        using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true))
                        {
                            await response.ResponseStream.CopyToAsync(file, 81920, ct).ConfigureAwait(false);
                        }

                        break;
                    }
                    catch (TimeoutException ex)
                    {
                        // The body stalled after the SDK handed it over, so the SDK does not retry it: start it again.
                        if (attempt == DownloadAttempts)
                        {
                            throw AwsErrors.Explain(ex, doing);
                        }
                    }
                }

                // Replace swaps in one step, so a failure keeps the old file rather than leaving none.
                if (File.Exists(path))
                {
                    File.Replace(partial, path, null);
                }
                else
                {
                    File.Move(partial, path);
                }
            }
            finally
            {
                if (File.Exists(partial))
                {
                    File.Delete(partial);
                }
            }
        }

        /// <summary>Deletes every object (all pages) and then the bucket; returns how many objects there were.</summary>
        public static async Task<int> RemoveAsync(IAmazonS3 s3, string bucketName, CancellationToken ct)
        {
            var deleted = 0;
            for (var attempt = 1; ; attempt++)
            {
                // S3 refuses to delete a bucket that still holds parts of an unfinished upload.
                await AbortUploadsAsync(s3, bucketName, ct).ConfigureAwait(false);
                while (true)
                {
                    var page = await AwsErrors.Call(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucketName }, ct), $"Listing bucket {bucketName}").ConfigureAwait(false);
                    var keys = page.S3Objects ?? new List<S3Object>();
                    if (keys.Count == 0)
                    {
                        break;
                    }

                    await DeleteKeysAsync(s3, bucketName, keys.Select(o => o.Key).ToList(), ct).ConfigureAwait(false);
                    deleted += keys.Count;
                }

                try
                {
                    await AwsErrors.Call(() => s3.DeleteBucketAsync(bucketName, ct), $"Deleting bucket {bucketName}").ConfigureAwait(false);
                    return deleted;
                }
                catch (FemagException ex) when (ex.ErrorId == ErrorIds.AwsBucketNotEmpty && attempt < 3)
                {
                    // A request the client gave up on (a cut-off upload's last part) may still land after the listing.
                    await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// Deletes exactly <paramref name="keys"/> (the objects already received) and then the bucket. Nothing else is
        /// deleted unseen: when the bucket holds an unfinished upload (an instance may still be writing) or an object
        /// that arrived after the listing, the bucket is kept and false returned.
        /// </summary>
        public static async Task<bool> RemoveReceivedAsync(IAmazonS3 s3, string bucketName, IReadOnlyList<string> keys, CancellationToken ct)
        {
            if (await HasUploadsInProgressAsync(s3, bucketName, ct).ConfigureAwait(false))
            {
                return false;
            }

            for (var start = 0; start < keys.Count; start += DeleteBatch)
            {
                await DeleteKeysAsync(s3, bucketName, keys.Skip(start).Take(DeleteBatch).ToList(), ct).ConfigureAwait(false);
            }

            try
            {
                await s3.DeleteBucketAsync(bucketName, ct).ConfigureAwait(false);
                return true;
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "BucketNotEmpty")
            {
                return false;
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, $"Deleting bucket {bucketName}");
            }
        }

        /// <summary>
        /// Deletes every object but <paramref name="keep"/> (the job's input archive) and aborts unfinished uploads, so a
        /// relaunch starts from the input alone and no partial result of a lost instance looks like its own.
        /// </summary>
        public static async Task ClearExceptAsync(IAmazonS3 s3, string bucketName, string keep, CancellationToken ct)
        {
            await AbortUploadsAsync(s3, bucketName, ct).ConfigureAwait(false);
            var keys = (await ListAsync(s3, bucketName, ct).ConfigureAwait(false)).Select(o => o.Key).Where(k => k != keep).ToList();
            for (var start = 0; start < keys.Count; start += DeleteBatch)
            {
                await DeleteKeysAsync(s3, bucketName, keys.Skip(start).Take(DeleteBatch).ToList(), ct).ConfigureAwait(false);
            }
        }

        /// <summary>DeleteObjects takes at most 1,000 keys per request.</summary>
        private const int DeleteBatch = 1000;

        private static Task DeleteKeysAsync(IAmazonS3 s3, string bucketName, List<string> keys, CancellationToken ct) =>
            AwsErrors.Call(() => s3.DeleteObjectsAsync(new DeleteObjectsRequest
            {
                BucketName = bucketName,
                Objects = keys.Select(k => new KeyVersion { Key = k }).ToList(),
            }, ct), $"Emptying bucket {bucketName}");

        /// <summary>The region a bucket lives in.</summary>
        public static async Task<string> GetRegionAsync(IAmazonS3 s3, string bucketName, CancellationToken ct)
        {
            var response = await AwsErrors.Call(() => s3.GetBucketLocationAsync(bucketName, ct), $"Finding bucket {bucketName}").ConfigureAwait(false);
            var location = response.Location?.Value;
            return string.IsNullOrEmpty(location) ? "us-east-1" : location == "EU" ? "eu-west-1" : location!;
        }

        /// <summary>
        /// True when a request about a bucket failed because the bucket is not there (deleted by another session):
        /// NoSuchBucket, or a 404 without a more specific code, as some stores answer. Sees through <see cref="AwsErrors.Explain"/>.
        /// </summary>
        public static bool IsGone(Exception ex)
        {
            var s3 = ex as AmazonS3Exception ?? (ex as FemagException)?.InnerException as AmazonS3Exception;
            return s3 != null && (s3.ErrorCode == "NoSuchBucket" ||
                                  (s3.StatusCode == HttpStatusCode.NotFound && (string.IsNullOrEmpty(s3.ErrorCode) || s3.ErrorCode == "NotFound")));
        }

        /// <summary>The module's tags on a bucket, or null for a bucket the module did not create.</summary>
        public static async Task<JobTags?> TryGetJobTagsAsync(IAmazonS3 s3, string bucketName, CancellationToken ct)
        {
            try
            {
                return JobTags.From((await s3.GetBucketTaggingAsync(new GetBucketTaggingRequest { BucketName = bucketName }, ct).ConfigureAwait(false)).TagSet);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchTagSet" || ex.ErrorCode == "NoSuchTagSetError")
            {
                return null;
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, $"Reading the tags of bucket {bucketName}");
            }
        }

        /// <summary>
        /// The size of a multipart object's first part and its number of parts, or null when it is gone or the store
        /// gives no part size (a part HEAD of 0 bytes on some S3-compatible stores): such a file is downloaded again.
        /// </summary>
        public static async Task<(long PartSize, int Parts)?> TryGetPartLayoutAsync(IAmazonS3 s3, string bucketName, string key, CancellationToken ct)
        {
            var head = await TryHeadAsync(s3, bucketName, key, 1, ct).ConfigureAwait(false);
            return head == null || head.ContentLength <= 0 ? null : (head.ContentLength, head.PartsCount ?? 1);
        }

        private static async Task<GetObjectMetadataResponse?> TryHeadAsync(IAmazonS3 s3, string bucketName, string key, int? partNumber, CancellationToken ct)
        {
            try
            {
                return await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucketName, Key = key, PartNumber = partNumber }, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, $"Reading {key} in bucket {bucketName}");
            }
        }

        /// <summary>
        /// The buckets in <paramref name="region"/>, each with its BucketRegion where the store gives it (AWS does); a store
        /// that ignores the region filter lists all its buckets, so callers check a bucket without BucketRegion themselves.
        /// </summary>
        public static async Task<List<S3Bucket>> ListBucketsAsync(IAmazonS3 s3, string region, CancellationToken ct) =>
            (await AwsErrors.CollectAsync(s3.Paginators.ListBuckets(new ListBucketsRequest { BucketRegion = region }).Responses, "Listing buckets", ct).ConfigureAwait(false))
                .SelectMany(page => page.Buckets ?? new List<S3Bucket>())
                .ToList();
    }
}

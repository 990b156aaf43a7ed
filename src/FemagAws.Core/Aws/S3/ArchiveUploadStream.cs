using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;

namespace FemagAws.Aws.S3
{
    /// <summary>
    /// A write-only stream that uploads what is written to it as one S3 object, so a job archive goes to S3 while it is
    /// still being packed and never exists whole in memory or on disk. An archive that fits in one part is sent with a
    /// single PutObject; a larger one becomes a multipart upload with at most <see cref="PartsInFlight"/> parts being
    /// sent while the next one fills, so memory stays at (1 + PartsInFlight) part buffers per upload. The object
    /// appears in the bucket only when <see cref="CompleteAsync"/> succeeds; until then nothing partial is visible.
    /// </summary>
    public sealed class ArchiveUploadStream : Stream
    {
        /// <summary>S3's smallest part (except the last) is 5 MiB; 8 MiB parts keep request counts low.</summary>
        private const int DefaultPartSize = 8 << 20;

        /// <summary>S3 allows 10,000 parts; a margin covers archives a little larger than their files.</summary>
        private const int MaxParts = 9000;

        private const int PartsInFlight = 2;

        private const string ContentType = "application/gzip";

        private readonly IAmazonS3 _s3;
        private readonly string _bucketName;
        private readonly string _key;
        private readonly Task _bucketReady;
        private readonly int _partSize;
        private readonly CancellationToken _ct;
        private readonly SemaphoreSlim _slots = new SemaphoreSlim(PartsInFlight);
        private readonly List<Task<PartETag>> _parts = new List<Task<PartETag>>();
        private byte[]? _buffer;
        private int _filled;
        private string? _uploadId;
        private long _length;
        private bool _completed;
        private ExceptionDispatchInfo? _failure;

        /// <param name="s3">The client.</param>
        /// <param name="bucketName">The job's bucket.</param>
        /// <param name="key">The archive's key.</param>
        /// <param name="bucketReady">Completes when the bucket may take objects; no request is sent before.</param>
        /// <param name="expectedBytes">About how large the archive will be, to stay within S3's part count.</param>
        /// <param name="ct">Cancels every request; the caller then calls <see cref="StopAsync"/>.</param>
        public ArchiveUploadStream(IAmazonS3 s3, string bucketName, string key, Task bucketReady, long expectedBytes, CancellationToken ct)
        {
            _s3 = s3;
            _bucketName = bucketName;
            _key = key;
            _bucketReady = bucketReady;
            _partSize = PartSizeFor(expectedBytes);
            _ct = ct;
        }

        /// <summary>The part size for an archive of about this many bytes: 8 MiB, or larger for archives over ~70 GB.</summary>
        internal static int PartSizeFor(long expectedBytes)
        {
            var needed = (expectedBytes + MaxParts - 1) / MaxParts;
            var mib = 1L << 20;
            return (int)Math.Min(int.MaxValue & ~(mib - 1), Math.Max(DefaultPartSize, (needed + mib - 1) / mib * mib));
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => !_completed;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            // Once the upload has failed, every later write (the tar and gzip trailers, say) fails with that error.
            _failure?.Throw();
            if (_completed)
            {
                throw new InvalidOperationException("The archive upload is already complete.");
            }

            while (count > 0)
            {
                _buffer ??= PartBuffers.Rent(_partSize);
                var n = Math.Min(count, _partSize - _filled);
                Buffer.BlockCopy(buffer, offset, _buffer, _filled, n);
                _filled += n;
                _length += n;
                offset += n;
                count -= n;
                if (_filled == _partSize)
                {
                    // Blocks the packing thread while PartsInFlight parts are on their way: that is the memory bound.
                    try
                    {
                        SendPartAsync().GetAwaiter().GetResult();
                    }
                    catch (Exception ex)
                    {
                        _failure = ExceptionDispatchInfo.Capture(ex);
                        throw;
                    }
                }
            }
        }

        /// <summary>
        /// Sends what is left and makes the object appear: one PutObject, or the last part and CompleteMultipartUpload.
        /// Returns the object's ETag, by which Receive-FemagResult knows the archive again.
        /// </summary>
        public async Task<string> CompleteAsync()
        {
            _completed = true;
            if (_uploadId == null)
            {
                await _bucketReady.ConfigureAwait(false);
                try
                {
                    using (var content = new MemoryStream(_buffer ?? new byte[0], 0, _filled, writable: false))
                    {
                        var request = new PutObjectRequest
                        {
                            BucketName = _bucketName,
                            Key = _key,
                            InputStream = content,
                            AutoCloseStream = false,
                            ContentType = ContentType,
                            ServerSideEncryptionMethod = ServerSideEncryptionMethod.AES256,
                        };
                        var put = await AwsErrors.Call(() => _s3.PutObjectAsync(request, _ct), Describe("Uploading")).ConfigureAwait(false);
                        return put.ETag;
                    }
                }
                finally
                {
                    ReleaseBuffer();
                }
            }

            if (_filled > 0)
            {
                await SendPartAsync().ConfigureAwait(false);
            }

            var parts = await Task.WhenAll(_parts).ConfigureAwait(false);
            var completed = await AwsErrors.Call(() => _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _bucketName,
                Key = _key,
                UploadId = _uploadId,
                PartETags = parts.OrderBy(p => p.PartNumber).ToList(),
            }, _ct), Describe("Completing the upload of")).ConfigureAwait(false);
            return completed.ETag;
        }

        /// <summary>
        /// After a failure or Ctrl+C: waits for the parts still on their way (the token given to the constructor
        /// cancels them) and releases the buffers. The caller then removes the bucket, which aborts the multipart
        /// upload with it, so S3 keeps no invisible, billed parts.
        /// </summary>
        public async Task StopAsync()
        {
            _completed = true;
            try
            {
                await Task.WhenAll(_parts).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The parts' failure is the caller's error already.
            }

            ReleaseBuffer();
        }

        private async Task SendPartAsync()
        {
            // A part that failed (after the SDK's retries) dooms the upload: stop packing instead of sending more.
            var failed = _parts.FirstOrDefault(p => p.IsFaulted || p.IsCanceled);
            if (failed != null)
            {
                await failed.ConfigureAwait(false);
            }

            await _slots.WaitAsync(_ct).ConfigureAwait(false);
            var buffer = _buffer!;
            var length = _filled;
            _buffer = null;
            _filled = 0;
            try
            {
                if (_uploadId == null)
                {
                    await _bucketReady.ConfigureAwait(false);
                    var request = new InitiateMultipartUploadRequest
                    {
                        BucketName = _bucketName,
                        Key = _key,
                        ContentType = ContentType,
                        ServerSideEncryptionMethod = ServerSideEncryptionMethod.AES256,
                        ChecksumAlgorithm = ChecksumAlgorithm.CRC32,
                    };
                    var started = await AwsErrors.Call(() => _s3.InitiateMultipartUploadAsync(request, _ct), Describe("Starting the upload of")).ConfigureAwait(false);
                    _uploadId = started.UploadId;
                }
            }
            catch
            {
                PartBuffers.Return(buffer);
                _slots.Release();
                throw;
            }

            _parts.Add(UploadPartAsync(_parts.Count + 1, buffer, length));
        }

        private async Task<PartETag> UploadPartAsync(int number, byte[] buffer, int length)
        {
            try
            {
                using (var content = new MemoryStream(buffer, 0, length, writable: false))
                {
                    var response = await AwsErrors.Call(() => _s3.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = _bucketName,
                        Key = _key,
                        UploadId = _uploadId,
                        PartNumber = number,
                        InputStream = content,
                        ChecksumAlgorithm = ChecksumAlgorithm.CRC32,
                    }, _ct), Describe($"Uploading part {number} of")).ConfigureAwait(false);
                    return new PartETag(response, true);
                }
            }
            finally
            {
                PartBuffers.Return(buffer);
                _slots.Release();
            }
        }

        private string Describe(string action) => $"{action} {_key} to bucket {_bucketName}";

        private void ReleaseBuffer()
        {
            if (_buffer != null)
            {
                PartBuffers.Return(_buffer);
                _buffer = null;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                ReleaseBuffer();
                _slots.Dispose();
            }

            base.Dispose(disposing);
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        /// <summary>
        /// Part buffers are large (8 MiB, on the large-object heap) and used by one job after another: reuse a few
        /// instead of allocating and zeroing one per job.
        /// </summary>
        private static class PartBuffers
        {
            private const int Kept = 16;
            private static readonly ConcurrentBag<byte[]> Free = new ConcurrentBag<byte[]>();

            public static byte[] Rent(int size)
            {
                if (size == DefaultPartSize && Free.TryTake(out var buffer))
                {
                    return buffer;
                }

                return new byte[size];
            }

            public static void Return(byte[] buffer)
            {
                if (buffer.Length == DefaultPartSize && Free.Count < Kept)
                {
                    Free.Add(buffer);
                }
            }
        }
    }
}

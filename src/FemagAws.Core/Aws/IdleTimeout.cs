using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;

namespace FemagAws.Aws
{
    /// <summary>
    /// Makes the SDK's HttpClients as the SDK would, with an <see cref="IdleTimeoutHandler"/> in front. The handler is
    /// their only clock: HttpClient.Timeout (S3's default is none at all, EC2's 100 s) bounds a whole request, which
    /// would cut a long upload off and still let a hung control call stall the run.
    /// </summary>
    internal sealed class IdleTimeoutClientFactory : HttpClientFactory
    {
        private readonly string _service;
        private readonly TimeSpan _limit;
        private readonly Action<string> _notify;

        public IdleTimeoutClientFactory(string service, TimeSpan limit, Action<string> notify)
        {
            _service = service;
            _limit = limit;
            _notify = notify;
        }

        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            // What the SDK's own factory sets: S3 turns redirects off to read them itself; bodies stay as sent.
            var transport = new HttpClientHandler
            {
                AllowAutoRedirect = clientConfig.AllowAutoRedirect,
                AutomaticDecompression = DecompressionMethods.None,
            };
            var proxy = clientConfig.GetWebProxy();
            if (proxy != null)
            {
                if (clientConfig.ProxyCredentials != null)
                {
                    proxy.Credentials = clientConfig.ProxyCredentials;
                }

                transport.Proxy = proxy;
            }

            return new HttpClient(new IdleTimeoutHandler(transport, _service, _limit, _notify)) { Timeout = Timeout.InfiniteTimeSpan };
        }
    }

    /// <summary>
    /// Ends an AWS request whose connection has gone quiet: nothing sent and nothing received for the limit while the
    /// request waits on the network. A control call (Describe, Delete, Head, a small GetObject) so gets the limit to
    /// answer, while an upload part or a download takes as long as it needs as long as bytes flow. The expiry is a
    /// <see cref="TimeoutException"/>, which the SDK retries like a dropped connection; never an
    /// OperationCanceledException, which the module's callers take for Ctrl+C.
    /// </summary>
    internal sealed class IdleTimeoutHandler : DelegatingHandler
    {
        private static readonly Regex AttemptHeader = new Regex(@"attempt=(\d+);\s*max=(\d+)", RegexOptions.CultureInvariant);

        private readonly string _service;
        private readonly TimeSpan _limit;
        private readonly Action<string> _notify;

        public IdleTimeoutHandler(HttpMessageHandler transport, string service, TimeSpan limit, Action<string> notify)
            : base(transport)
        {
            _service = service;
            _limit = limit;
            _notify = notify;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response;
            using (var watchdog = new Watchdog(_limit))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, watchdog.Token))
            {
                if (request.Content != null)
                {
                    request.Content = new SendingContent(request.Content, watchdog);
                }

                watchdog.Restart();
                try
                {
                    response = await base.SendAsync(request, linked.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (watchdog.Fired && !cancellationToken.IsCancellationRequested)
                {
                    throw Expired(request, answering: false, ex);
                }
            }

            if (response.Content != null)
            {
                response.Content = new ReceivingContent(response.Content, this, request);
            }

            return response;
        }

        /// <summary>The exception for an expired request, after saying with -Verbose (through the notices) what happens next.</summary>
        private TimeoutException Expired(HttpRequestMessage request, bool answering, Exception inner)
        {
            var what = $"{request.Method} {request.RequestUri.GetLeftPart(UriPartial.Path)}";
            var seconds = _limit.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
            string text, next;
            if (answering)
            {
                // Cut off while the caller read it: the SDK, the download or the next poll makes the request again.
                text = $"{_service} stopped sending its answer to {what} for {seconds} s";
                next = "the answer was abandoned and the request is made again";
            }
            else
            {
                // The SDK numbers its attempts in this header, and sends the request again until the last.
                var attempt = request.Headers.TryGetValues("amz-sdk-request", out var values) ? AttemptHeader.Match(values.FirstOrDefault() ?? string.Empty) : Match.Empty;
                text = $"{_service} did not answer {what} within {seconds} s";
                next = "sending it again";
                if (attempt.Success)
                {
                    text += $" (attempt {attempt.Groups[1].Value} of {attempt.Groups[2].Value})";
                    next = attempt.Groups[1].Value == attempt.Groups[2].Value ? "no attempts left" : next;
                }
            }

            _notify($"{text}; {next}.");
            return new TimeoutException(text + ".", inner);
        }

        /// <summary>A deadline that each sign of progress pushes back; its token is cancelled when it passes.</summary>
        private sealed class Watchdog : IDisposable
        {
            private readonly CancellationTokenSource _expiry = new CancellationTokenSource();
            private readonly TimeSpan _limit;
            private bool _disposed;

            public Watchdog(TimeSpan limit)
            {
                _limit = limit;
            }

            public CancellationToken Token => _expiry.Token;

            public bool Fired => _expiry.IsCancellationRequested;

            /// <summary>Progress, or the start of a wait on the network: the connection gets the whole limit again.</summary>
            public void Restart() => Set(_limit);

            /// <summary>The request waits on its caller, not on the network (a download writing to disk): no limit.</summary>
            public void Pause() => Set(Timeout.InfiniteTimeSpan);

            // Late progress (a body still being sent after the answer came) may arrive after the request ended.
            private void Set(TimeSpan due)
            {
                lock (_expiry)
                {
                    if (!_disposed)
                    {
                        _expiry.CancelAfter(due);
                    }
                }
            }

            public void Dispose()
            {
                lock (_expiry)
                {
                    _disposed = true;
                    _expiry.Dispose();
                }
            }
        }

        /// <summary>A wrapping content carries the wrapped one's headers (Content-Length, Content-Type, checksums).</summary>
        private static void CopyHeaders(HttpContent from, HttpContent to)
        {
            foreach (var header in from.Headers)
            {
                to.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        /// <summary>The request body, as the SDK made it, with each write to the connection counted as progress.</summary>
        private sealed class SendingContent : HttpContent
        {
            private readonly HttpContent _inner;
            private readonly Watchdog _watchdog;

            public SendingContent(HttpContent inner, Watchdog watchdog)
            {
                _inner = inner;
                _watchdog = watchdog;
                CopyHeaders(inner, this);
            }

            protected override Task SerializeToStreamAsync(Stream stream, TransportContext context) =>
                _inner.CopyToAsync(new ProgressStream(stream, _watchdog), context);

            protected override bool TryComputeLength(out long length)
            {
                var known = _inner.Headers.ContentLength;
                length = known ?? 0;
                return known.HasValue;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }

        /// <summary>
        /// The answer's body, whose reads must each bring data within the limit. Time between reads is the caller's and
        /// does not count. An expired read disposes the body, which aborts it (the SDK aborts a cancelled read so too).
        /// </summary>
        private sealed class ReceivingContent : HttpContent
        {
            private readonly HttpContent _inner;
            private readonly IdleTimeoutHandler _owner;
            private readonly HttpRequestMessage _request;
            private readonly Watchdog _watchdog;
            private readonly CancellationTokenRegistration _abort;

            public ReceivingContent(HttpContent inner, IdleTimeoutHandler owner, HttpRequestMessage request)
            {
                _inner = inner;
                _owner = owner;
                _request = request;
                _watchdog = new Watchdog(owner._limit);
                _abort = _watchdog.Token.Register(inner.Dispose);
                CopyHeaders(inner, this);
            }

            protected override async Task<Stream> CreateContentReadStreamAsync() =>
                new ReadingStream(await _inner.ReadAsStreamAsync().ConfigureAwait(false), this);

            protected override async Task SerializeToStreamAsync(Stream stream, TransportContext context)
            {
                using (var body = await CreateContentReadStreamAsync().ConfigureAwait(false))
                {
                    await body.CopyToAsync(stream).ConfigureAwait(false);
                }
            }

            // The answer's own Content-Length header, copied above, says how long it is where it is known.
            protected override bool TryComputeLength(out long length)
            {
                length = 0;
                return false;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _abort.Dispose();
                    _watchdog.Dispose();
                    _inner.Dispose();
                }

                base.Dispose(disposing);
            }

            private sealed class ReadingStream : Stream
            {
                private readonly Stream _inner;
                private readonly ReceivingContent _content;

                public ReadingStream(Stream inner, ReceivingContent content)
                {
                    _inner = inner;
                    _content = content;
                }

                public override bool CanRead => true;

                public override bool CanSeek => false;

                public override bool CanWrite => false;

                public override long Length => _inner.Length;

                public override long Position
                {
                    get => _inner.Position;
                    set => throw new NotSupportedException();
                }

                public override int Read(byte[] buffer, int offset, int count)
                {
                    // The SDK parses XML answers with synchronous reads.
                    _content._watchdog.Restart();
                    try
                    {
                        return _inner.Read(buffer, offset, count);
                    }
                    catch (Exception ex) when (_content._watchdog.Fired)
                    {
                        throw Expired(ex);
                    }
                    finally
                    {
                        _content._watchdog.Pause();
                    }
                }

                public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
                {
                    _content._watchdog.Restart();
                    try
                    {
                        return await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (_content._watchdog.Fired && !cancellationToken.IsCancellationRequested)
                    {
                        throw Expired(ex);
                    }
                    finally
                    {
                        _content._watchdog.Pause();
                    }
                }

                private TimeoutException Expired(Exception inner) => _content._owner.Expired(_content._request, answering: true, inner);

                public override void Flush()
                {
                }

                public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

                public override void SetLength(long value) => throw new NotSupportedException();

                public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

                protected override void Dispose(bool disposing)
                {
                    if (disposing)
                    {
                        _inner.Dispose();
                    }

                    base.Dispose(disposing);
                }
            }
        }

        /// <summary>The connection's stream, on which every completed write is progress.</summary>
        private sealed class ProgressStream : Stream
        {
            private readonly Stream _inner;
            private readonly Watchdog _watchdog;

            public ProgressStream(Stream inner, Watchdog watchdog)
            {
                _inner = inner;
                _watchdog = watchdog;
            }

            public override bool CanRead => false;

            public override bool CanSeek => false;

            public override bool CanWrite => true;

            public override long Length => throw new NotSupportedException();

            public override long Position
            {
                get => throw new NotSupportedException();
                set => throw new NotSupportedException();
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                _inner.Write(buffer, offset, count);
                _watchdog.Restart();
            }

            public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                await _inner.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                _watchdog.Restart();
            }

            public override void Flush() => _inner.Flush();

            public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();
        }
    }
}

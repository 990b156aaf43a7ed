using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// A reverse proxy on a free loopback port between the module and the local cloud. It counts requests by API
/// ("ec2:RunInstances", "s3:PutObject", …) and injects faults: a share of all requests fails transiently
/// (throttling, 500 InternalError, connection reset), and <see cref="Fail"/> fails a named API with a given AWS
/// error. Faults are injected before forwarding (except <see cref="LoseAnswer"/>), so a failed request never reaches moto.
/// The local cloud honours RunInstances' ClientToken as EC2 does, so a lost RunInstances answer is retried as on AWS.
/// It also plays a slow network: <see cref="Hold"/> never answers a request, <see cref="StallAnswer"/> stops an answer
/// halfway, <see cref="Throttle"/> sends answers slowly.
/// </summary>
public sealed partial class AwsProxy : IAsyncDisposable
{
    /// <summary>Fault kind of a connection dropped without an answer.</summary>
    public const string ConnectionReset = "reset";

    /// <summary>Fault kind of a request held without an answer (<see cref="Hold"/>).</summary>
    public const string Held = "held";

    /// <summary>Fault kind of an answer that stops halfway (<see cref="StallAnswer"/>).</summary>
    public const string Stalled = "stalled";

    /// <summary>Fault kind of an answer sent slowly (<see cref="Throttle"/>).</summary>
    public const string Throttled = "throttled";

    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentDictionary<string, int> _accessKeys = new();
    private readonly ConcurrentDictionary<(string Api, string AccessKeyId), int> _signedBy = new();
    private readonly ConcurrentDictionary<(string Api, string Kind), int> _faults = new();
    private readonly List<FaultRule> _rules = new();
    private readonly ConcurrentDictionary<string, Random> _randoms = new();
    private readonly ConcurrentDictionary<string, Func<string, Task>> _before = new();
    private readonly ConcurrentDictionary<string, Func<string, string>> _rewrites = new();
    private readonly ConcurrentQueue<(string Api, TimeSpan Time)> _holds = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(string Api, string? Value)>> _headers = new(StringComparer.OrdinalIgnoreCase);

    // Ends every hold when the test ends, so no request outlives it.
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _seed;
    private readonly string _target;

    /// <param name="transientShare">Share (0 to 1) of all requests that fail transiently.</param>
    /// <param name="seed">
    /// Seed of the choice of failing requests. Each API draws from its own sequence, so the n-th request of an API
    /// meets the same fate in every run however concurrent requests interleave.
    /// </param>
    public AwsProxy(string targetEndpoint, double transientShare = 0, int seed = 1)
    {
        _target = targetEndpoint.TrimEnd('/');
        TransientShare = transientShare;
        _seed = seed;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(HandleAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        Endpoint = _app.Urls.Single();
    }

    public string Endpoint { get; }

    /// <summary>Share (0 to 1) of all requests that fail with a transient error.</summary>
    public double TransientShare { get; set; }

    /// <summary>Requests received per API, whether forwarded or failed here.</summary>
    public IReadOnlyDictionary<string, int> Counts => new Dictionary<string, int>(_counts);

    /// <summary>Injected faults per API and kind (the AWS error code, or <see cref="ConnectionReset"/>).</summary>
    public IReadOnlyDictionary<(string Api, string Kind), int> Faults => new Dictionary<(string Api, string Kind), int>(_faults);

    /// <summary>The access key ids that signed requests (from SigV4's Authorization header), with how many each signed.</summary>
    public IReadOnlyDictionary<string, int> AccessKeyIds => new Dictionary<string, int>(_accessKeys);

    /// <summary>The access key ids that signed requests of one API.</summary>
    public IReadOnlyCollection<string> AccessKeyIdsOf(string api) => _signedBy.Keys.Where(k => k.Api == api).Select(k => k.AccessKeyId).Distinct().ToList();

    public int Count(string api) => _counts.TryGetValue(api, out var n) ? n : 0;

    /// <summary>Injected faults, all or those of one API and/or kind.</summary>
    public int FaultCount(string? api = null, string? kind = null) =>
        _faults.Where(f => (api == null || f.Key.Api == api) && (kind == null || f.Key.Kind == kind)).Sum(f => f.Value);

    /// <summary>One line per API with its requests and the faults injected into them, for test output.</summary>
    public string Describe() =>
        string.Join("\n", _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
            $"{c.Key,-28} {c.Value,5} requests" + string.Concat(_faults.Where(f => f.Key.Api == c.Key).OrderBy(f => f.Key.Kind, StringComparer.Ordinal)
                .Select(f => $", {f.Value} {f.Key.Kind}"))));

    /// <summary>
    /// Fails the next <paramref name="times"/> requests (all, when null) of <paramref name="api"/> with an AWS error,
    /// e.g. <c>Fail("ec2:RunInstances", 2, 500, "InsufficientInstanceCapacity", "…")</c>.
    /// </summary>
    public void Fail(string api, int? times, int status, string code, string message)
    {
        lock (_rules)
        {
            _rules.Add(new FaultRule(api, times, status, code, message));
        }
    }

    /// <summary>
    /// Like <see cref="Fail"/>, for the requests of <paramref name="api"/> whose body holds <paramref name="bodyContains"/>
    /// only, e.g. <c>FailWhere("ec2:RunInstances", "InstanceMarketOptions.MarketType=spot", …)</c> refuses Spot launches.
    /// </summary>
    public void FailWhere(string api, string bodyContains, int? times, int status, string code, string message)
    {
        lock (_rules)
        {
            _rules.Add(new FaultRule(api, times, status, code, message) { BodyContains = bodyContains });
        }
    }

    /// <summary>
    /// Forwards the next <paramref name="times"/> requests of <paramref name="api"/> and then drops the connection,
    /// as if the answer was lost on its way back, so the client retries a request that already took effect (for
    /// ec2:RunInstances, with the same ClientToken, which the local cloud answers with the same instance).
    /// </summary>
    public void LoseAnswer(string api, int times)
    {
        lock (_rules)
        {
            _rules.Add(new FaultRule(api, times, 0, ConnectionReset, string.Empty) { AfterForwarding = true });
        }
    }

    /// <summary>
    /// Holds the next request of <paramref name="api"/> for <paramref name="time"/> without an answer, as a hung
    /// connection would, and then drops the connection. The request never reaches moto. The hold ends early when the
    /// client gives up or the proxy is disposed; <see cref="HoldTimes"/> says how long it lasted.
    /// </summary>
    public void Hold(string api, TimeSpan time)
    {
        lock (_rules)
        {
            _rules.Add(new FaultRule(api, 1, 0, Held, string.Empty) { Time = time });
        }
    }

    /// <summary>
    /// Forwards the next request of <paramref name="api"/> for an object named <paramref name="key"/>, sends the first
    /// <paramref name="bytes"/> bytes of the answer's body and then nothing for <paramref name="time"/> (ending early as
    /// <see cref="Hold"/> does), and drops the connection.
    /// </summary>
    public void StallAnswer(string api, string key, long bytes, TimeSpan time)
    {
        lock (_rules)
        {
            _rules.Add(new FaultRule(api, 1, 0, Stalled, string.Empty) { Key = key, AfterForwarding = true, StallAfter = bytes, Time = time });
        }
    }

    /// <summary>Sends every answer of <paramref name="api"/> at <paramref name="bytesPerSecond"/>, in tenths of a second.</summary>
    public void Throttle(string api, int bytesPerSecond)
    {
        lock (_rules)
        {
            _rules.Add(new FaultRule(api, null, 0, Throttled, string.Empty) { AfterForwarding = true, BytesPerSecond = bytesPerSecond });
        }
    }

    /// <summary>From now on, records the value of the request header <paramref name="name"/> (null when absent) of every request.</summary>
    public void RecordHeader(string name) => _headers.TryAdd(name, new ConcurrentQueue<(string Api, string? Value)>());

    /// <summary>Each request's API and its value of a header named with <see cref="RecordHeader"/>, in arrival order.</summary>
    public IReadOnlyList<(string Api, string? Value)> HeaderValues(string name) => _headers[name].ToList();

    /// <summary>How long each request of <paramref name="api"/> held by <see cref="Hold"/> or <see cref="StallAnswer"/> was held.</summary>
    public IReadOnlyList<TimeSpan> HoldTimes(string api) => _holds.Where(h => h.Api == api).Select(h => h.Time).ToList();

    /// <summary>
    /// Runs <paramref name="action"/> once, before the next request of <paramref name="api"/> is forwarded, to make
    /// something happen in the cloud at an exact point of a pipeline (an instance writing late, say).
    /// </summary>
    public void BeforeNext(string api, Func<Task> action) => _before[api] = _ => action();

    /// <summary>Like <see cref="BeforeNext(string, Func{Task})"/>, with the request's path (for S3, "/bucket" or "/bucket/key").</summary>
    public void BeforeNext(string api, Func<string, Task> action) => _before[api] = action;

    /// <summary>Passes every answer body of <paramref name="api"/> through <paramref name="rewrite"/>, to play a store that answers differently.</summary>
    public void RewriteAnswers(string api, Func<string, string> rewrite) => _rewrites[api] = rewrite;

    public void Reset()
    {
        _counts.Clear();
        _accessKeys.Clear();
        _signedBy.Clear();
        _faults.Clear();
        _randoms.Clear();
        _before.Clear();
        _rewrites.Clear();
        _holds.Clear();
        _requests.Clear();
        _headers.Clear();
        lock (_rules)
        {
            _rules.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var bytes = body.ToArray();
        var api = Classify(request, bytes);
        _counts.AddOrUpdate(api, 1, (_, n) => n + 1);
        var authorization = request.Headers.Authorization.ToString();
        var credential = authorization.IndexOf("Credential=", StringComparison.Ordinal);
        if (credential >= 0)
        {
            var start = credential + "Credential=".Length;
            var accessKeyId = authorization.Substring(start, authorization.IndexOf('/', start) - start);
            _accessKeys.AddOrUpdate(accessKeyId, 1, (_, n) => n + 1);
            _signedBy.AddOrUpdate((api, accessKeyId), 1, (_, n) => n + 1);
        }

        Record(api, request, bytes);
        foreach (var (name, values) in _headers)
        {
            values.Enqueue((api, request.Headers.TryGetValue(name, out var value) ? value.ToString() : null));
        }

        if (_before.TryRemove(api, out var before))
        {
            await before(request.Path.Value!);
        }

        var fault = RuleFault(api, request.Path.Value!, bytes) ?? TransientFault(api);
        if (fault == null)
        {
            using var response = await ForwardAsync(request, bytes);
            if (_rewrites.TryGetValue(api, out var rewrite))
            {
                var text = rewrite(await response.Content.ReadAsStringAsync());
                response.Content = new StringContent(text, System.Text.Encoding.UTF8, response.Content.Headers.ContentType?.MediaType ?? "application/xml");
            }

            await CopyAsync(response, context.Response);
            return;
        }

        _faults.AddOrUpdate((api, fault.Code), 1, (_, n) => n + 1);
        if (fault.Code == Held)
        {
            await HoldAsync(api, fault.Time, context);
            context.Abort();
            return;
        }

        if (fault.Code == Stalled || fault.Code == Throttled)
        {
            using var response = await ForwardAsync(request, bytes);
            if (await CopyAsync(response, context.Response, fault.StallAfter, fault.BytesPerSecond))
            {
                await HoldAsync(api, fault.Time, context);
                context.Abort();
            }

            return;
        }

        if (fault.AfterForwarding)
        {
            (await ForwardAsync(request, bytes)).Dispose();
        }

        if (fault.Code == ConnectionReset)
        {
            context.Abort();
            return;
        }

        context.Response.StatusCode = fault.Status;
        context.Response.ContentType = "application/xml";
        if (request.Method != "HEAD")
        {
            await context.Response.WriteAsync(ErrorXml(api, fault.Code, fault.Message));
        }
    }

    /// <summary>Waits without answering until <paramref name="time"/> has passed, the client has gone or the test ends.</summary>
    private async Task HoldAsync(string api, TimeSpan time, HttpContext context)
    {
        var held = Stopwatch.StartNew();
        using var release = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        try
        {
            await Task.Delay(time, release.Token);
        }
        catch (OperationCanceledException)
        {
            // The client gave up waiting, or the proxy is being disposed.
        }

        _holds.Enqueue((api, held.Elapsed));
    }

    private FaultRule? RuleFault(string api, string path, byte[] body)
    {
        // Only EC2's small form bodies are searched; the text is decoded once, when a rule asks for it.
        var text = new Lazy<string>(() => Uri.UnescapeDataString(Encoding.UTF8.GetString(body).Replace('+', ' ')));
        lock (_rules)
        {
            var rule = _rules.FirstOrDefault(r => r.Api == api && (r.Key == null || path.EndsWith("/" + r.Key, StringComparison.Ordinal)) &&
                                                  (r.BodyContains == null || text.Value.Contains(r.BodyContains, StringComparison.Ordinal)) && r.Remaining != 0);
            if (rule?.Remaining > 0)
            {
                rule.Remaining--;
            }

            return rule;
        }
    }

    private FaultRule? TransientFault(string api)
    {
        var random = _randoms.GetOrAdd(api, a => new Random(_seed ^ a.Aggregate(17, (hash, c) => unchecked(hash * 31 + c))));
        int kind;
        lock (random)
        {
            if (random.NextDouble() >= TransientShare)
            {
                return null;
            }

            kind = random.Next(3);
        }

        return kind switch
        {
            0 when api.StartsWith("ec2:", StringComparison.Ordinal) => new FaultRule(api, 1, 503, "RequestLimitExceeded", "Request limit exceeded."),
            0 => new FaultRule(api, 1, 503, "SlowDown", "Please reduce your request rate."),
            1 => new FaultRule(api, 1, 500, "InternalError", "We encountered an internal error. Please try again."),
            _ => new FaultRule(api, 1, 0, ConnectionReset, string.Empty),
        };
    }

    /// <summary>The error body each service sends: EC2's Response/Errors form, S3's bare Error.</summary>
    private static string ErrorXml(string api, string code, string message)
    {
        var requestId = Guid.NewGuid().ToString();
        code = SecurityElement.Escape(code);
        message = SecurityElement.Escape(message);
        return api.StartsWith("ec2:", StringComparison.Ordinal)
            ? $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{requestId}</RequestID></Response>"
            : $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>{requestId}</RequestId></Error>";
    }

    private async Task<HttpResponseMessage> ForwardAsync(HttpRequest request, byte[] bytes)
    {
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), _target + request.Path + request.QueryString);
        forward.Content = new ByteArrayContent(bytes);
        foreach (var header in request.Headers)
        {
            if (header.Key.Equals("Host", StringComparison.OrdinalIgnoreCase) || header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!forward.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string>)header.Value))
            {
                forward.Content.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string>)header.Value);
            }
        }

        // Signatures cover the Host header: keep the one the client signed.
        forward.Headers.Host = request.Host.Value;
        return await _upstream.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>
    /// Copies an answer; with <paramref name="stallAfter"/>, only that many bytes of its body, and then returns true;
    /// with <paramref name="bytesPerSecond"/>, at that rate.
    /// </summary>
    private static async Task<bool> CopyAsync(HttpResponseMessage response, HttpResponse to, long? stallAfter = null, int? bytesPerSecond = null)
    {
        to.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            if (!header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                to.Headers[header.Key] = header.Value.ToArray();
            }
        }

        if (stallAfter == null && bytesPerSecond == null)
        {
            await response.Content.CopyToAsync(to.Body);
            return false;
        }

        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[bytesPerSecond / 10 ?? 81920];
        var sent = 0L;
        while (true)
        {
            var room = stallAfter - sent ?? buffer.Length;
            if (room <= 0)
            {
                return true;
            }

            var read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, room)));
            if (read == 0)
            {
                return false;
            }

            await to.Body.WriteAsync(buffer.AsMemory(0, read));
            await to.Body.FlushAsync();
            sent += read;
            if (bytesPerSecond != null)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>"ec2:DescribeInstances", "s3:GetObject", … from the wire form of the request.</summary>
    private static string Classify(HttpRequest request, byte[] body)
    {
        if (request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true)
        {
            var form = System.Web.HttpUtility.ParseQueryString(System.Text.Encoding.UTF8.GetString(body));
            var service = request.Headers.Authorization.ToString().Contains("/sts/aws4_request", StringComparison.Ordinal) ? "sts:" : "ec2:";
            return service + form["Action"];
        }

        var segments = request.Path.Value!.Trim('/').Split('/', 2);
        var query = request.Query;
        var onObject = segments.Length == 2 && segments[1].Length > 0;
        var operation = (request.Method, onObject) switch
        {
            ("GET", false) when segments[0].Length == 0 => "ListBuckets",
            ("GET", false) when query.ContainsKey("uploads") => "ListMultipartUploads",
            ("GET", false) when query.ContainsKey("location") => "GetBucketLocation",
            ("GET", false) when query.ContainsKey("tagging") => "GetBucketTagging",
            ("GET", false) => "ListObjects",
            ("HEAD", false) => "HeadBucket",
            ("PUT", false) when query.ContainsKey("publicAccessBlock") => "PutPublicAccessBlock",
            ("PUT", false) when query.ContainsKey("tagging") => "PutBucketTagging",
            ("PUT", false) when query.ContainsKey("encryption") => "PutBucketEncryption",
            ("PUT", false) => "CreateBucket",
            ("POST", false) when query.ContainsKey("delete") => "DeleteObjects",
            ("DELETE", false) => "DeleteBucket",
            ("POST", true) when query.ContainsKey("uploads") => "CreateMultipartUpload",
            ("POST", true) when query.ContainsKey("uploadId") => "CompleteMultipartUpload",
            ("PUT", true) when query.ContainsKey("partNumber") => "UploadPart",
            ("DELETE", true) when query.ContainsKey("uploadId") => "AbortMultipartUpload",
            ("GET", true) => "GetObject",
            ("HEAD", true) => "HeadObject",
            ("PUT", true) => "PutObject",
            ("DELETE", true) => "DeleteObject",
            _ => request.Method + (onObject ? " object" : " bucket"),
        };
        return "s3:" + operation;
    }

    /// <summary>An error to answer with; <see cref="Remaining"/> is null for "always".</summary>
    private sealed class FaultRule(string api, int? times, int status, string code, string message)
    {
        public string Api { get; } = api;

        public int? Remaining { get; set; } = times;

        public int Status { get; } = status;

        public string Code { get; } = code;

        public string Message { get; } = message;

        /// <summary>True when the request reaches moto and only its answer is lost, stalls or is slow.</summary>
        public bool AfterForwarding { get; init; }

        /// <summary>The object name the rule is for; null for every request of the API.</summary>
        public string? Key { get; init; }

        /// <summary>Matches only requests whose (URL-decoded) body holds this text.</summary>
        public string? BodyContains { get; init; }

        /// <summary>How long a hold or stall lasts at most.</summary>
        public TimeSpan Time { get; init; }

        /// <summary>Body bytes sent before an answer stalls.</summary>
        public long? StallAfter { get; init; }

        public int? BytesPerSecond { get; init; }
    }
}

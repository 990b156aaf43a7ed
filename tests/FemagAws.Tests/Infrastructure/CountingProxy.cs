using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// A reverse proxy on a free loopback port between the module and the local cloud that counts requests by API
/// (EC2 Action, or the S3 operation), so tests can check how many calls a pipeline makes.
/// </summary>
public sealed class CountingProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly string _target;

    public CountingProxy(string targetEndpoint)
    {
        _target = targetEndpoint.TrimEnd('/');
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(ForwardAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        Endpoint = _app.Urls.Single();
    }

    public string Endpoint { get; }

    public IReadOnlyDictionary<string, int> Counts => new Dictionary<string, int>(_counts);

    public int Count(string api) => _counts.TryGetValue(api, out var n) ? n : 0;

    public void Reset() => _counts.Clear();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var bytes = body.ToArray();
        _counts.AddOrUpdate(Classify(request, bytes), 1, (_, n) => n + 1);

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
        using var response = await _upstream.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            if (!header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body);
    }

    /// <summary>"ec2:DescribeInstances", "s3:GetObject", … from the wire form of the request.</summary>
    private static string Classify(HttpRequest request, byte[] body)
    {
        if (request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true)
        {
            var form = System.Web.HttpUtility.ParseQueryString(System.Text.Encoding.UTF8.GetString(body));
            return "ec2:" + form["Action"];
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
            ("PUT", false) when query.ContainsKey("publicAccessBlock") => "PutPublicAccessBlock",
            ("PUT", false) when query.ContainsKey("tagging") => "PutBucketTagging",
            ("PUT", false) => "CreateBucket",
            ("POST", false) when query.ContainsKey("delete") => "DeleteObjects",
            ("DELETE", false) => "DeleteBucket",
            ("GET", true) => "GetObject",
            ("HEAD", true) => "HeadObject",
            ("PUT", true) => "PutObject",
            ("DELETE", true) => "DeleteObject",
            _ => request.Method + (onObject ? " object" : " bucket"),
        };
        return "s3:" + operation;
    }
}

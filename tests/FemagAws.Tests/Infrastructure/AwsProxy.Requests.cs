using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace FemagAws.Tests.Infrastructure;

/// <summary>The proxy's record of every request it received, with what an IAM check needs (<see cref="IamRequests"/>).</summary>
public sealed partial class AwsProxy
{
    /// <summary>Bodies up to this size are kept: EC2's forms and S3's DeleteObjects lists, not upload parts.</summary>
    private const int KeptBody = 256 * 1024;

    private readonly ConcurrentQueue<ProxiedRequest> _requests = new();

    /// <summary>Every request received, in arrival order, whether forwarded or failed here.</summary>
    public IReadOnlyList<ProxiedRequest> Requests => _requests.ToList();

    private void Record(string api, HttpRequest request, byte[] body) =>
        _requests.Enqueue(new ProxiedRequest(
            api,
            request.Method,
            request.Path.Value ?? "/",
            request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal),
            request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal),
            body.Length <= KeptBody ? Encoding.UTF8.GetString(body) : null));
}

/// <summary>One request as the proxy saw it; header names in lower case; <see cref="Body"/> is null for large bodies.</summary>
public sealed record ProxiedRequest(
    string Api,
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers,
    string? Body);

using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// The AWS IAM Identity Center portal's GetRoleCredentials (GET /federation/credentials), which moto does not
/// emulate: for the one bearer token it knows, it hands out fixed temporary keys. Everything else is a 401.
/// </summary>
public sealed class FakeSsoPortal : IAsyncDisposable
{
    private readonly WebApplication _app;

    public FakeSsoPortal(string bearerToken, string accountId, string roleName, string accessKeyId)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapGet("/federation/credentials", (HttpRequest request) =>
        {
            Requests.Add($"{request.Query["account_id"]}/{request.Query["role_name"]}");
            if (request.Headers["x-amz-sso_bearer_token"] != bearerToken || request.Query["account_id"] != accountId || request.Query["role_name"] != roleName)
            {
                return Results.Json(new { message = "Session token not found or invalid" }, statusCode: 401);
            }

            var expiration = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
            return Results.Json(new { roleCredentials = new { accessKeyId = accessKeyId, secretAccessKey = "femag-sso-secret", sessionToken = "femag-sso-session", expiration } });
        });
        _app.StartAsync().GetAwaiter().GetResult();
        Endpoint = _app.Urls.Single();
    }

    public string Endpoint { get; }

    /// <summary>account/role of each GetRoleCredentials request.</summary>
    public ConcurrentBag<string> Requests { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

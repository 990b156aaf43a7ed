using System.Reflection;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// The AWSSDK.Core and AWSSDK.SecurityToken 3.7 that AWS.Tools 4.x loads, downloaded by the test project (not
/// referenced), for the tests that load them before FemagAws.
/// </summary>
public static class AwsToolsSdk
{
    public static string Core => PathOf("AwsToolsSdkCore");

    public static string SecurityToken => PathOf("AwsToolsSdkSecurityToken");

    private static string PathOf(string key) =>
        typeof(AwsToolsSdk).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}

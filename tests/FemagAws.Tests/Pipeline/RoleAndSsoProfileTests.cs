using System.Security.Cryptography;
using System.Text;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// Profiles whose credentials come from another AWS service: a role assumed through STS (moto's) and AWS IAM
/// Identity Center (a fake portal). Each runs in a PowerShell process of its own, whose home folder and
/// AWS_ENDPOINT_URL_STS/_SSO point at the local services; the SDK reads those endpoints only from the environment.
/// </summary>
public sealed class RoleAndSsoProfileTests : CloudTest
{
    private const string Pipeline =
        """
        param($Module, $Folder, $ConfigFile, $Profile, $LoadFirst)
        $ErrorActionPreference = 'Stop'
        $DebugPreference = 'Continue'
        foreach ($assembly in $LoadFirst -split ';' -ne '') { [void][System.Reflection.Assembly]::LoadFrom($assembly) }
        Import-Module $Module
        $profileParameter = if ($Profile) { @{ ProfileName = $Profile } } else { @{} }
        $job = [IO.DirectoryInfo]$Folder | New-FemagBucket -ConfigFile $ConfigFile @profileParameter -Debug |
            Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 | Receive-FemagResult
        "STATE " + $job.State
        "PROFILE " + $job.ProfileName
        """;

    public RoleAndSsoProfileTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    /// <param name="awsToolsFirst">
    /// AWS Tools' AWSSDK.Core and AWSSDK.SecurityToken 3.7 are loaded before the module, as in a session where
    /// AWS.Tools was imported first: the SDK's own lookup of the STS client would pick theirs.
    /// </param>
    /// <param name="viaAwsProfile">The role profile is named by AWS_PROFILE (the SDK's default chain), not -ProfileName.</param>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task A_profile_that_assumes_a_role_runs_the_pipeline_with_the_roles_temporary_keys(bool awsToolsFirst, bool viaAwsProfile)
    {
        var loadFirst = awsToolsFirst ? AwsToolsSdk.Core + ";" + AwsToolsSdk.SecurityToken : string.Empty;
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        var home = Home(ws,
            "[femag-base]\naws_access_key_id = AKIAFEMAGROLEBASE001\naws_secret_access_key = base-secret\n",
            "[profile femag-role]\nrole_arn = arn:aws:iam::123456789012:role/femag-runner\nsource_profile = femag-base\nrole_session_name = femag-test\n");

        var environment = Environment(home, "AWS_ENDPOINT_URL_STS", proxy.Endpoint);
        environment["AWS_PROFILE"] = viaAwsProfile ? "femag-role" : null;

        var run = ScriptProcess.Run(Pipeline, environment,
            "-Module", Repo.ModuleManifest, "-Folder", folder.FullName, "-ConfigFile", ws.ConfigFile, "-Profile", viaAwsProfile ? string.Empty : "femag-role", "-LoadFirst", loadFirst);

        Assert.True(run.ExitCode == 0, run.Output + Cloud.RunnerLog);
        Assert.Contains("STATE Succeeded", run.Lines);
        Assert.Contains(viaAwsProfile ? "PROFILE" : "PROFILE femag-role", run.Lines);
        Assert.Contains(run.Lines, l => l.Contains(viaAwsProfile ? "credentials from the SDK's default chain" : "credentials from profile 'femag-role'", StringComparison.Ordinal) &&
                                        l.Contains("a role assumed with AWS STS", StringComparison.Ordinal));
        // The base keys signed only the AssumeRole calls (one per command); the role's temporary keys everything else.
        var keys = proxy.AccessKeyIds;
        Assert.Equal(proxy.Counts.Where(c => c.Key.EndsWith("AssumeRole", StringComparison.Ordinal)).Sum(c => c.Value), keys["AKIAFEMAGROLEBASE001"]);
        Assert.InRange(keys["AKIAFEMAGROLEBASE001"], 1, 4);
        var temporary = keys.Where(k => k.Key != "AKIAFEMAGROLEBASE001").ToList();
        Assert.All(temporary, k => Assert.StartsWith("ASIA", k.Key));
        Assert.Equal(keys["AKIAFEMAGROLEBASE001"], temporary.Count);
        Assert.True(temporary.Sum(k => k.Value) > 10, proxy.Describe());
    }

    [Fact]
    public async Task Web_identity_from_the_environment_works_with_AWS_Tools_STS_loaded_first()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        var home = Home(ws, null, "[default]\nregion = eu-central-1\n");
        var token = Path.Combine(ws.Root, "web-identity-token");
        File.WriteAllText(token, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmZW1hZy1jaSJ9.c2lnbmF0dXJl");
        var environment = Environment(home, "AWS_ENDPOINT_URL_STS", proxy.Endpoint);
        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = token;
        environment["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/femag-ci";
        environment["AWS_ROLE_SESSION_NAME"] = "femag-ci";
        var loadFirst = AwsToolsSdk.Core + ";" + AwsToolsSdk.SecurityToken;

        var run = ScriptProcess.Run(Pipeline, environment,
            "-Module", Repo.ModuleManifest, "-Folder", folder.FullName, "-ConfigFile", ws.ConfigFile, "-Profile", string.Empty, "-LoadFirst", loadFirst);

        Assert.True(run.ExitCode == 0, run.Output + Cloud.RunnerLog);
        Assert.Contains("STATE Succeeded", run.Lines);
        Assert.Contains(run.Lines, l => l.Contains("credentials from the SDK's default chain: web identity", StringComparison.Ordinal));
        // AssumeRoleWithWebIdentity is not signed; everything else is, with the role's temporary keys.
        Assert.True(proxy.Counts.Where(c => c.Key.EndsWith("AssumeRoleWithWebIdentity", StringComparison.Ordinal)).Sum(c => c.Value) >= 1, proxy.Describe());
        Assert.NotEmpty(proxy.AccessKeyIds.Keys);
        Assert.All(proxy.AccessKeyIds.Keys, k => Assert.StartsWith("ASIA", k));
    }

    [Fact]
    public async Task An_SSO_profile_with_a_cached_login_runs_the_pipeline_with_the_portals_keys()
    {
        const string token = "femag-cached-sso-token";
        await using var portal = new FakeSsoPortal(token, "123456789012", "FemagRunner", "ASIAFEMAGSSO00000001");
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        var home = Home(ws, null,
            "[profile femag-sso]\nsso_session = femag-corp\nsso_account_id = 123456789012\nsso_role_name = FemagRunner\nregion = eu-central-1\n\n" +
            "[sso-session femag-corp]\nsso_start_url = https://femag-corp.awsapps.com/start\nsso_region = eu-central-1\n");
        // What 'aws sso login' leaves behind: the token, cached under the SHA-1 of the session's name.
        var cache = Directory.CreateDirectory(Path.Combine(home, ".aws", "sso", "cache")).FullName;
        var name = Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes("femag-corp"))).ToLowerInvariant();
        File.WriteAllText(Path.Combine(cache, name + ".json"),
            $$"""{"startUrl":"https://femag-corp.awsapps.com/start","region":"eu-central-1","accessToken":"{{token}}","expiresAt":"{{DateTime.UtcNow.AddHours(2):yyyy-MM-ddTHH:mm:ssZ}}"}""");

        var run = ScriptProcess.Run(Pipeline, Environment(home, "AWS_ENDPOINT_URL_SSO", portal.Endpoint),
            "-Module", Repo.ModuleManifest, "-Folder", folder.FullName, "-ConfigFile", ws.ConfigFile, "-Profile", "femag-sso");

        Assert.True(run.ExitCode == 0, run.Output + Cloud.RunnerLog);
        Assert.Contains("STATE Succeeded", run.Lines);
        Assert.Contains(run.Lines, l => l.Contains("credentials from profile 'femag-sso'", StringComparison.Ordinal) && l.Contains("(SSO)", StringComparison.Ordinal));
        Assert.Equal(new[] { "ASIAFEMAGSSO00000001" }, proxy.AccessKeyIds.Keys);
        Assert.NotEmpty(portal.Requests);
        Assert.All(portal.Requests, r => Assert.Equal("123456789012/FemagRunner", r));
    }

    [Fact]
    public void An_SSO_profile_without_a_login_fails_at_once_and_says_to_log_in()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        var home = Home(ws, null,
            "[profile femag-sso]\nsso_session = femag-corp\nsso_account_id = 123456789012\nsso_role_name = FemagRunner\n\n" +
            "[sso-session femag-corp]\nsso_start_url = https://femag-corp.awsapps.com/start\nsso_region = eu-central-1\n");

        var run = ScriptProcess.Run(
            "param($Module, $Folder, $ConfigFile) Import-Module $Module; " +
            "try { [IO.DirectoryInfo]$Folder | New-FemagBucket -ConfigFile $ConfigFile -ProfileName femag-sso -ErrorAction Stop } " +
            "catch { 'ID ' + $_.FullyQualifiedErrorId; 'CATEGORY ' + $_.CategoryInfo.Category; 'MESSAGE ' + $_.Exception.Message }",
            Environment(home, "AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9"),
            "-Module", Repo.ModuleManifest, "-Folder", folder.FullName, "-ConfigFile", ws.ConfigFile);

        Assert.Contains("ID FemagSsoLoginNeeded,FemagAws.Commands.NewFemagBucketCommand", run.Lines);
        Assert.Contains("CATEGORY AuthenticationError", run.Lines);
        Assert.Contains(run.Lines, l => l.StartsWith("MESSAGE ", StringComparison.Ordinal) && l.Contains("'aws sso login --profile femag-sso'", StringComparison.Ordinal));
    }

    /// <summary>A home folder with ~/.aws/credentials and ~/.aws/config as given.</summary>
    private static string Home(Workspace ws, string? credentials, string config)
    {
        var aws = Directory.CreateDirectory(Path.Combine(ws.Root, "home", ".aws")).FullName;
        if (credentials != null)
        {
            File.WriteAllText(Path.Combine(aws, "credentials"), credentials);
        }

        File.WriteAllText(Path.Combine(aws, "config"), config);
        return Path.GetDirectoryName(aws)!;
    }

    /// <summary>Nothing of the test process's own credentials; the home folder and one service endpoint.</summary>
    private static Dictionary<string, string?> Environment(string home, string endpointVariable, string endpoint) => new()
    {
        ["HOME"] = home,
        ["AWS_ACCESS_KEY_ID"] = null,
        ["AWS_SECRET_ACCESS_KEY"] = null,
        ["AWS_SESSION_TOKEN"] = null,
        ["AWS_PROFILE"] = null,
        ["AWS_SHARED_CREDENTIALS_FILE"] = null,
        ["AWS_CONFIG_FILE"] = null,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        [endpointVariable] = endpoint,
    };
}

using System.Management.Automation;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// AWS Tools' credential parameters. A proxy in front of the local cloud reads the access key id that signed each
/// request, so each test sees which credentials were really used, not only what -Debug says.
/// </summary>
public sealed class CredentialParameterTests : CloudTest
{
    private const string EnvironmentKeyId = "testing";

    public CredentialParameterTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Keys_given_to_New_FemagBucket_sign_every_request_down_the_pipeline_and_never_show_on_the_job()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run(
            "$job = [IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -AccessKey AKIAFEMAGKEYS0000001 -SecretKey femag-secret-value-1 -Debug; " +
            "[System.Management.Automation.PSSerializer]::Serialize($job, 3); ($job.PSObject.Properties.Name -join ','); " +
            "$job | Remove-FemagBucket -Force -PassThru | ForEach-Object BucketName",
            new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        Assert.Equal(new[] { "AKIAFEMAGKEYS0000001" }, proxy.AccessKeyIds.Keys);
        Assert.Contains(result.Debug, d => d.Contains("credentials from -AccessKey and -SecretKey", StringComparison.Ordinal));
        var clixml = (string)result.Output[0].BaseObject;
        Assert.DoesNotContain("femag-secret-value-1", clixml);
        Assert.DoesNotContain("Credentials", ((string)result.Output[1].BaseObject).Split(','));
        Assert.DoesNotContain((string)result.Output[2].BaseObject, await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task Keys_given_to_a_later_command_go_on_down_the_pipeline_with_the_jobs()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        // New-FemagBucket with the environment's keys, then Start-FemagInstance with keys of its own.
        var result = ps.Run(
            "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance -AccessKey AKIAFEMAGLATER000007 -SecretKey s | " +
            "Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 | Receive-FemagResult",
            new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe() + Cloud.RunnerLog);
        Assert.Equal("Succeeded", Assert.Single(result.Output).Properties["State"].Value.ToString());
        Assert.Equal(new[] { EnvironmentKeyId }, proxy.AccessKeyIdsOf("s3:CreateBucket"));
        Assert.Equal(new[] { "AKIAFEMAGLATER000007" }, proxy.AccessKeyIdsOf("ec2:RunInstances"));
        // Wait-FemagJob and Receive-FemagResult were given no keys: they use the ones the jobs carry.
        Assert.Equal(new[] { "AKIAFEMAGLATER000007" }, proxy.AccessKeyIdsOf("ec2:DescribeInstances"));
        Assert.Equal(new[] { "AKIAFEMAGLATER000007" }, proxy.AccessKeyIdsOf("s3:DeleteBucket"));
    }

    [Fact]
    public async Task A_PSCredential_gives_the_access_key_id_and_secret()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        using var ps = new PsSession();

        var result = ps.Run(
            "$secret = [System.Security.SecureString]::new(); foreach ($c in 'femag-secret-2'.ToCharArray()) { $secret.AppendChar($c) }; " +
            "$credential = [System.Management.Automation.PSCredential]::new('AKIAFEMAGPSCRED00002', $secret); " +
            "Get-FemagBucket -ConfigFile $args[0] -Credential $credential -Debug",
            ws.ConfigFile);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        Assert.Equal(new[] { "AKIAFEMAGPSCRED00002" }, proxy.AccessKeyIds.Keys);
        Assert.Contains(result.Debug, d => d.Contains("credentials from -Credential (PSCredential AKIAFEMAGPSCRED00002)", StringComparison.Ordinal) &&
                                          d.Contains("region eu-central-1 from server_location in " + ws.ConfigFile, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_profile_in_a_credentials_file_of_its_own_is_used_for_the_whole_pipeline()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        var credentials = Path.Combine(ws.Root, "aws", "credentials");
        Directory.CreateDirectory(Path.GetDirectoryName(credentials)!);
        File.WriteAllText(credentials, "[default]\naws_access_key_id = AKIAFEMAGDEFAULT0003\naws_secret_access_key = d\n\n[femag-test]\naws_access_key_id = AKIAFEMAGPROFILE0003\naws_secret_access_key = p\n");
        using var ps = new PsSession();

        var result = ps.Run(
            "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -ProfileName femag-test -ProfileLocation $args[2] -Debug | " +
            "Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 | Receive-FemagResult",
            new[] { folder.FullName }, ws.ConfigFile, credentials);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe() + Cloud.RunnerLog);
        var job = Assert.Single(result.Output);
        Assert.Equal("Succeeded", job.Properties["State"].Value.ToString());
        Assert.Equal(credentials, job.Properties["ProfileLocation"].Value);
        // Every request of all four commands, the instance runner's aside (it talks to the cloud directly).
        Assert.Equal(new[] { "AKIAFEMAGPROFILE0003" }, proxy.AccessKeyIds.Keys);
        Assert.Contains(result.Debug, d => d.Contains($"profile 'femag-test' in {credentials}", StringComparison.Ordinal));
    }

    [Fact]
    public void A_profile_missing_from_the_named_file_is_an_error_that_names_the_file()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        var credentials = Path.Combine(ws.Root, "credentials");
        File.WriteAllText(credentials, "[default]\naws_access_key_id = AKIAFEMAGDEFAULT0004\naws_secret_access_key = d\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -ProfileName femag-absent -ProfileLocation $args[2]", new[] { folder.FullName }, ws.ConfigFile, credentials);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagProfileNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains(credentials, error.Exception.Message);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void A_role_profile_whose_source_profile_is_missing_is_an_error_not_the_default_keys()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        var credentials = Path.Combine(ws.Root, "credentials");
        File.WriteAllText(credentials, "[default]\naws_access_key_id = AKIAFEMAGDEFAULT0006\naws_secret_access_key = d\n");
        File.WriteAllText(Path.Combine(ws.Root, "config"), "[profile femag-role]\nrole_arn = arn:aws:iam::123456789012:role/femag\nsource_profile = femag-gone\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -ProfileName femag-role -ProfileLocation $args[2]", new[] { folder.FullName }, ws.ConfigFile, credentials);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagProfileNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains("source_profile 'femag-gone'", error.Exception.Message);
        Assert.Empty(result.Output);
    }

    [Theory]
    [InlineData("-AccessKey AKIAFEMAGHALF0000005", "FemagCredentialIncomplete")]
    [InlineData("-SecretKey only-a-secret", "FemagCredentialIncomplete")]
    [InlineData("-AccessKey AKIAFEMAGBOTH0000005 -SecretKey s -ProfileName femag-test", "FemagCredentialAmbiguous")]
    public async Task Credentials_given_half_or_twice_are_refused_before_anything_is_made(string parameters, string errorId)
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run($"[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] {parameters}", new[] { folder.FullName }, ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith(errorId + ",", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Empty(proxy.Counts);
    }

    [Theory]
    [InlineData("42", "Get-AWSCredential")]
    [InlineData("([System.Management.Automation.PSCredential]::new('AKIAFEMAGEMPTY000008', [System.Security.SecureString]::new()))", "one of them is empty")]
    public void A_credential_of_the_wrong_kind_is_a_binding_error_that_says_what_to_give(string credential, string hint)
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();

        var result = ps.Run($"Get-FemagBucket -ConfigFile $args[0] -Credential {credential}", ws.ConfigFile);

        var error = Assert.IsAssignableFrom<ParameterBindingException>(Assert.Single(result.Errors).Exception);
        Assert.Contains("PSCredential", error.Message);
        Assert.Contains(hint, error.Message);
    }
}

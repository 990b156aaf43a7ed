using System.Management.Automation;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Changes process-wide environment variables, so it runs alone.</summary>
[CollectionDefinition(nameof(CredentialTests), DisableParallelization = true)]
public sealed class CredentialCollection
{
}

[Collection(nameof(CredentialTests))]
public sealed class CredentialTests : CloudTest
{
    private static readonly string[] Variables =
        { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE" };

    public CredentialTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Without_credentials_the_error_says_how_to_configure_them()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        var before = await Cloud.BucketNamesAsync();
        var environment = Variables.ToDictionary(v => v, _ => (string?)null);
        environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(ws.Root, "no-credentials");
        environment["AWS_CONFIG_FILE"] = Path.Combine(ws.Root, "no-config");
        using (new EnvironmentScope(environment))
        {
            using var ps = new PsSession();

            var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { folder.FullName }, ws.ConfigFile);

            var error = Assert.Single(result.Errors);
            Assert.StartsWith("FemagNoCredentials,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
            Assert.Contains("aws configure", error.Exception.Message);
            Assert.Empty(result.Output);
        }

        Assert.Equal(before, await Cloud.BucketNamesAsync());
    }

    [Fact]
    public void A_named_profile_that_does_not_exist_is_an_error_not_a_fall_back()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -ProfileName femag-no-such-profile", new[] { folder.FullName }, ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagProfileNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains("femag-no-such-profile", error.Exception.Message);
    }
}

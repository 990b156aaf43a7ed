using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>The user data Start-FemagInstance renders from the cloud-init script, seen through -WhatIf -Verbose.</summary>
public sealed class UserDataTests : CloudTest
{
    public UserDataTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public void ENV_becomes_sorted_quoted_exports_of_every_key_then_BUCKET_NAME()
    {
        using var ws = new Workspace(Cloud, extraConfig: "zeta = last one\nAlpha = 1\n");
        File.WriteAllText(ws.ConfigFile, File.ReadAllText(ws.ConfigFile).Replace("sg-8475b5dd,", "sg-8475b5dd, sg-2 ,"));
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(NewBuckets(ps, ws, folder));

        var (userData, result) = RenderedUserData(ps, job);

        Assert.Empty(result.Output);
        var seed = File.ReadAllText(Repo.SeedCloudInit);
        var exports = string.Join("\n",
            "export ALPHA='1'",
            "export CLOUD_INIT='" + Path.Combine(ws.Root, "cloud_init.txt") + "'",
            "export COMPANY_NAME='femag'",
            "export DELETE_BUCKETS='1'",
            "export ENDPOINT_URL='" + Cloud.Endpoint + "'",
            "export FINISH_TASK_FILENAME='exit_code'",
            "export IAM_INSTANCE_PROFILE='ecsInstanceRole'",
            "export IMAGE_ID='ami-6d4ceb03'",
            "export INSTANCE_TYPE='t2.small'",
            "export KEY_NAME='test-key-pair-eucentral-1'",
            "export SECURITY_GROUP_IDS='sg-8475b5dd,sg-2'",
            "export SERVER_LOCATION='eu-central-1'",
            "export ZETA='last one'",
            "export BUCKET_NAME='" + job.Bucket() + "'",
            "export EXPECTED_BUCKET_OWNER='123456789012'") + "\n";
        Assert.Equal(seed.Replace("{{ENV}}\n", exports), userData);
    }

    [Fact]
    public void Region_given_to_New_FemagBucket_is_the_SERVER_LOCATION_the_instance_sees()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var created = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -Region us-east-1", new[] { folder.FullName }, ws.ConfigFile);
        var job = Assert.Single(created.Output);

        var (userData, _) = RenderedUserData(ps, job);

        Assert.Contains("export SERVER_LOCATION='us-east-1'\n", userData);
    }

    [Fact]
    public void User_data_over_16_KB_is_refused_before_any_bucket_is_made()
    {
        using var ws = new Workspace(Cloud);
        File.WriteAllText(Path.Combine(ws.Root, "cloud_init.txt"), "#!/bin/bash\n{{ENV}}\n" + string.Concat(Enumerable.Repeat("# padding padding padding padding\n", 500)));
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { folder.FullName }, ws.ConfigFile);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagUserDataTooLarge,", error.FullyQualifiedErrorId);
        Assert.Contains("16384", error.Exception.Message);
        Assert.Empty(result.Output);
    }

    private static (string UserData, PsResult Result) RenderedUserData(PsSession ps, System.Management.Automation.PSObject job)
    {
        var result = ps.Run("$args[0] | Start-FemagInstance -WhatIf -Verbose", job);
        Assert.True(result.Errors.Count == 0, result.Describe());
        var prefix = "User data for bucket " + job.Bucket() + ":\n";
        var message = Assert.Single(result.Verbose, v => v.StartsWith(prefix, StringComparison.Ordinal));
        return (message.Substring(prefix.Length), result);
    }
}

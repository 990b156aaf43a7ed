using Amazon.EC2.Model;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>What the module does to keep buckets, instances and the user's files safe.</summary>
public sealed class SecurityTests : CloudTest
{
    public SecurityTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Buckets_are_encrypted_and_private_and_instances_require_IMDSv2_and_get_no_credentials()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 30\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance", new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        using var s3 = Cloud.S3();
        var encryption = await s3.GetBucketEncryptionAsync(new GetBucketEncryptionRequest { BucketName = job.Bucket() });
        var rule = Assert.Single(encryption.ServerSideEncryptionConfiguration.ServerSideEncryptionRules);
        Assert.Equal(ServerSideEncryptionMethod.AES256, rule.ServerSideEncryptionByDefault.ServerSideEncryptionAlgorithm);
        var block = (await s3.GetPublicAccessBlockAsync(new GetPublicAccessBlockRequest { BucketName = job.Bucket() })).PublicAccessBlockConfiguration;
        Assert.True(block.BlockPublicAcls == true && block.RestrictPublicBuckets == true);

        var instance = (await Cloud.InstancesAsync()).Single(i => i.InstanceId == job.InstanceId());
        Assert.Equal("required", instance.MetadataOptions.HttpTokens.Value);

        // The test process's own credentials are in its environment; none of them may reach the user data.
        using var ec2 = Cloud.Ec2();
        var attribute = await ec2.DescribeInstanceAttributeAsync(new DescribeInstanceAttributeRequest { InstanceId = job.InstanceId(), Attribute = "userData" });
        var userData = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(attribute.InstanceAttribute.UserData));
        Assert.Contains("export BUCKET_NAME=", userData);
        Assert.DoesNotContain("AWS_ACCESS_KEY_ID", userData);
        Assert.DoesNotContain("AWS_SECRET_ACCESS_KEY", userData);
        Assert.DoesNotContain("AWS_SESSION_TOKEN", userData);
    }

    [Fact]
    public void A_config_value_that_looks_like_an_AWS_secret_is_warned_about()
    {
        using var ws = new Workspace(Cloud, extraConfig: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nnote = AKIAIOSFODNN7EXAMPLE\n");
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -WhatIf", new[] { folder.FullName }, ws.ConfigFile);

        var warning = Assert.Single(result.Warnings);
        Assert.Contains("aws_secret_access_key", warning);
        Assert.Contains("note", warning);
        Assert.Contains("{{ENV}}", warning);
    }

    [Fact]
    public void An_ordinary_config_gets_no_secret_warning()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -WhatIf", new[] { folder.FullName }, ws.ConfigFile);

        Assert.Empty(result.Warnings);
    }

    [Fact]
    public async Task A_symbolic_link_out_of_the_folder_is_refused_for_that_folder_and_never_followed()
    {
        using var ws = new Workspace(Cloud);
        var secret = Path.Combine(ws.Root, "outside-secret.txt");
        File.WriteAllText(secret, "not for the cloud");
        var linked = ws.AddJob("0", "-- job\n");
        File.CreateSymbolicLink(Path.Combine(linked.FullName, "model.nc"), secret);
        var linkedDir = ws.AddJob("1", "-- job\n");
        Directory.CreateSymbolicLink(Path.Combine(linkedDir.FullName, "shared"), ws.Root);
        var plain = ws.AddJob("2", "-- job\n");
        var before = await Cloud.BucketNamesAsync();
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { linked.FullName, linkedDir.FullName, plain.FullName }, ws.ConfigFile);

        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.StartsWith("FemagSymbolicLinkRefused,", e.FullyQualifiedErrorId));
        Assert.Contains(result.Errors, e => e.Exception.Message.Contains(Path.Combine(linked.FullName, "model.nc")));
        Assert.Contains(result.Errors, e => e.Exception.Message.Contains(Path.Combine(linkedDir.FullName, "shared")));
        var job = Assert.Single(result.Output);
        Assert.Equal(2, job.Index());
        var created = (await Cloud.BucketNamesAsync()).Except(before).ToList();
        Assert.Equal(new[] { job.Bucket() }, created);
    }
}

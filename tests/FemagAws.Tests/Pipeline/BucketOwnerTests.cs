using Amazon.EC2.Model;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Job buckets are the account's own, checked by S3 on every request (ExpectedBucketOwner).</summary>
public sealed class BucketOwnerTests : CloudTest
{
    private const string OwnerHeader = "x-amz-expected-bucket-owner";

    /// <summary>moto's account for the keys "testing".</summary>
    private const string Account = "123456789012";

    public BucketOwnerTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Every_request_to_a_job_bucket_names_the_account_as_its_owner_and_the_instance_is_told_it_too()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.RecordHeader(OwnerHeader);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = new[] { ws.AddJob("0", "-- job 0\n"), ws.AddJob("1", "-- job 1\n") };
        using var ps = new PsSession();

        var result = ps.Run(WholePipeline, folders.Select(f => f.FullName).ToArray(), ws.ConfigFile);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe() + "\n" + proxy.Describe());
        Assert.Equal(2, result.Output.Count);
        var s3 = proxy.HeaderValues(OwnerHeader).Where(h => h.Api.StartsWith("s3:", StringComparison.Ordinal)).ToList();
        Assert.Superset(
            new HashSet<string> { "s3:PutBucketTagging", "s3:PutPublicAccessBlock", "s3:PutBucketEncryption", "s3:PutObject", "s3:DeleteObject", "s3:ListMultipartUploads", "s3:GetObject", "s3:ListObjects", "s3:DeleteObjects", "s3:DeleteBucket" },
            s3.Select(h => h.Api).ToHashSet());

        // CreateBucket and ListBuckets take no owner; every other request is to a job bucket.
        Assert.All(s3.Where(h => h.Api != "s3:CreateBucket" && h.Api != "s3:ListBuckets"), h => Assert.True(h.Value == Account, $"{h.Api} went with owner '{h.Value}'"));
        Assert.All(s3.Where(h => h.Api == "s3:CreateBucket"), h => Assert.Null(h.Value));

        // Asked once for the whole pipeline of four commands.
        Assert.Equal(1, proxy.Count("sts:GetCallerIdentity"));

        using var ec2 = Cloud.Ec2();
        var attribute = await ec2.DescribeInstanceAttributeAsync(new DescribeInstanceAttributeRequest { InstanceId = result.Output[0].InstanceId(), Attribute = "userData" });
        var userData = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(attribute.InstanceAttribute.UserData));
        Assert.Contains($"export BUCKET_NAME='{result.Output[0].Bucket()}'\nexport EXPECTED_BUCKET_OWNER='{Account}'\n", userData);
    }

    [Fact]
    public async Task A_bucket_name_another_account_owns_is_refused_and_left_as_it_was()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var other = await Cloud.S3OfAccountAsync("111111111111");
        string? taken = null;

        // Another account registers the name just before the module asks for it: S3 answers BucketAlreadyExists.
        proxy.BeforeNext("s3:CreateBucket", async path =>
        {
            taken = path.Trim('/');
            await other.PutBucketAsync(new PutBucketRequest { BucketName = taken, BucketRegionName = "eu-central-1", UseClientRegion = false });
        });
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]", new[] { folder.FullName }, ws.ConfigFile);

        Assert.Empty(result.Output);
        var error = Assert.Single(result.Errors);
        Assert.StartsWith("FemagBucketNotYours,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains(taken!, error.Exception.Message);

        // Nothing was written to it, and it was not deleted as a failed upload's bucket would be.
        Assert.Empty((await other.ListObjectsV2Async(new ListObjectsV2Request { BucketName = taken })).S3Objects ?? new List<S3Object>());
        var tagging = await Assert.ThrowsAsync<AmazonS3Exception>(() => other.GetBucketTaggingAsync(new GetBucketTaggingRequest { BucketName = taken }));
        Assert.Equal("NoSuchTagSet", tagging.ErrorCode);
        await other.DeleteBucketAsync(taken);
    }

    [Fact]
    public async Task An_endpoint_without_account_ids_is_said_once_under_Verbose_and_requests_go_without_an_owner()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.RecordHeader(OwnerHeader);
        proxy.Fail("sts:GetCallerIdentity", null, 400, "InvalidAction", "Could not find operation GetCallerIdentity for version 2011-06-15");
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = new[] { ws.AddJob("0", "-- job 0\n"), ws.AddJob("1", "-- job 1\n") };
        using var ps = new PsSession();

        var result = ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] -Verbose", folders.Select(f => f.FullName).ToArray(), ws.ConfigFile);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        Assert.Equal(2, result.Output.Count);
        Assert.Single(result.Verbose, v => v.Contains("sts:GetCallerIdentity", StringComparison.Ordinal) && v.Contains("ExpectedBucketOwner", StringComparison.Ordinal));
        Assert.All(proxy.HeaderValues(OwnerHeader), h => Assert.Null(h.Value));
        Assert.True(proxy.Count("s3:PutObject") == 2, proxy.Describe());
    }

    /// <summary>
    /// AWS_ENDPOINT_URL chooses the endpoint as -EndpointUrl does, for STS too: a store there without account ids is
    /// told under -Verbose, not an error. A process of its own, as the variable is read from its environment.
    /// </summary>
    [Fact]
    public async Task An_AWS_ENDPOINT_URL_store_without_account_ids_is_taken_like_one_given_by_EndpointUrl()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.Fail("sts:GetCallerIdentity", null, 400, "InvalidAction", "Could not find operation GetCallerIdentity for version 2011-06-15");
        using var ws = new Workspace(Cloud);
        File.WriteAllLines(ws.ConfigFile, File.ReadAllLines(ws.ConfigFile).Where(line => !line.StartsWith("endpoint_url", StringComparison.Ordinal)));
        var folder = ws.AddJob("0", "-- job 0\n");
        const string script =
            """
            param($Module, $Folder, $ConfigFile)
            $ErrorActionPreference = 'Stop'
            Import-Module $Module
            $job = [IO.DirectoryInfo]$Folder | New-FemagBucket -ConfigFile $ConfigFile -Verbose
            "STATE " + $job.State
            $job | Remove-FemagBucket -Force
            """;

        var run = ScriptProcess.Run(script, new Dictionary<string, string?> { ["AWS_ENDPOINT_URL"] = proxy.Endpoint },
            "-Module", Repo.ModuleManifest, "-Folder", folder.FullName, "-ConfigFile", ws.ConfigFile);

        Assert.True(run.ExitCode == 0, run.Output + "\n" + proxy.Describe());
        Assert.Contains("STATE Uploaded", run.Lines);
        Assert.Contains("sts:GetCallerIdentity failed or is not served", run.Output, StringComparison.Ordinal);
        Assert.True(proxy.Count("sts:GetCallerIdentity") >= 1, proxy.Describe());
        Assert.True(proxy.Count("s3:DeleteBucket") == 1, proxy.Describe());
    }
}

using System.Diagnostics;
using System.Management.Automation;
using Amazon.EC2;
using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// AWS failing under the module, through a fault-injecting proxy: transient errors are retried and lose nothing,
/// permanent ones fail fast with a clear message, and a failure halfway leaves nothing unexplained behind.
/// </summary>
public sealed class FaultTests : CloudTest
{
    private const string UploadFolders = "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1]";

    private readonly ITestOutputHelper _output;

    public FaultTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture) => _output = output;

    [Fact]
    public async Task Twenty_jobs_finish_with_all_results_while_a_fifth_of_the_requests_fail_transiently()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint, transientShare: 0.2, seed: 20);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = Enumerable.Range(0, 20).Select(i => ws.AddJob(i.ToString(), $"-- job {i}\n").FullName).ToArray();
        using var ps = new PsSession();

        var watch = Stopwatch.StartNew();
        var result = ps.Run(WholePipeline.Replace("-Timeout 120", "-Timeout 300"), folders, ws.ConfigFile);
        watch.Stop();

        _output.WriteLine($"20 jobs in {watch.Elapsed.TotalSeconds:F0} s; {proxy.FaultCount()} faults injected:\n{proxy.Describe()}");
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe() + Cloud.RunnerLog);
        Assert.Equal(Enumerable.Range(0, 20), result.Output.Select(j => j.Index()).Order());
        foreach (var job in result.Output)
        {
            Assert.Equal("Succeeded", job.State());
            Assert.Equal(0, job.ExitCode());
            Assert.Equal("0", File.ReadAllText(Path.Combine(job.Folder(), "exit_code")).Trim());
            Assert.Contains("fake xfemag -b femag.fsl", File.ReadAllText(Path.Combine(job.Folder(), "femag.log")));
        }

        // Every kind of fault really happened, to both services.
        Assert.True(proxy.FaultCount(kind: "SlowDown") > 0, "no SlowDown injected");
        Assert.True(proxy.FaultCount(kind: "RequestLimitExceeded") > 0, "no RequestLimitExceeded injected");
        Assert.True(proxy.FaultCount(kind: "InternalError") > 0, "no InternalError injected");
        Assert.True(proxy.FaultCount(kind: AwsProxy.ConnectionReset) > 0, "no connection reset injected");

        // One instance per job, none still running, and with delete_buckets = 1 no bucket left.
        var buckets = result.Output.Select(j => j.Bucket()).ToHashSet();
        var instances = (await Cloud.InstancesAsync()).Where(i => i.Tags.Any(t => t.Key == "femag-aws:bucket" && buckets.Contains(t.Value))).ToList();
        Assert.Equal(20, instances.Count);
        Assert.All(instances, i => Assert.Equal(InstanceStateName.Terminated, i.State.Name));
        Assert.DoesNotContain(await Cloud.BucketNamesAsync(), buckets.Contains);
    }

    [Fact]
    public async Task AccessDenied_on_CreateBucket_fails_each_folder_at_once_and_says_what_to_do()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.Fail("s3:CreateBucket", null, 403, "AccessDenied", "Access Denied");
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = Enumerable.Range(0, 3).Select(i => ws.AddJob(i.ToString(), "-- job\n").FullName).ToArray();
        using var ps = new PsSession();

        var watch = Stopwatch.StartNew();
        var result = ps.Run(UploadFolders, folders, ws.ConfigFile);
        watch.Stop();

        _output.WriteLine($"3 refused folders in {watch.Elapsed.TotalSeconds:F1} s:\n{result.Describe()}\n{proxy.Describe()}");
        Assert.Empty(result.Output);
        Assert.Equal(3, result.Errors.Count);
        Assert.All(result.Errors, e =>
        {
            Assert.Contains("AccessDenied", e.Exception.Message);
            Assert.Contains("IAM", e.Exception.Message);
            Assert.Equal(ErrorCategory.PermissionDenied, e.CategoryInfo.Category);
        });
        Assert.Equal(3, proxy.Count("s3:CreateBucket"));
    }

    [Fact]
    public async Task A_bucket_that_does_not_exist_costs_one_request_and_gives_a_clear_error()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        using var ps = new PsSession();
        var missing = Guid.NewGuid() + "-0";

        var found = ps.Run("Get-FemagBucket -Name $args[0] -ConfigFile $args[1]", missing, ws.ConfigFile);

        _output.WriteLine(found.Describe());
        Assert.Empty(found.Output);
        var error = Assert.Single(found.Errors);
        Assert.Contains("NoSuchBucket", error.Exception.Message);
        Assert.Contains(missing, error.Exception.Message);
        // Besides the account id, asked once per credentials for the expected bucket owner.
        Assert.Equal(new[] { "s3:GetBucketLocation" }, proxy.Counts.Keys.Where(api => api != "sts:GetCallerIdentity"));
        Assert.Equal(1, proxy.Count("s3:GetBucketLocation"));

        // Results of a finished job whose bucket someone deleted.
        var folder = ws.AddJob("0", "-- job\n");
        var finished = ps.Run(UploadFolders + " | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120", new[] { folder.FullName }, ws.ConfigFile);
        var job = Assert.Single(finished.Output);
        await RemoveBucketAsync(job.Bucket());

        proxy.Reset();
        var received = ps.Run("$args[0] | Receive-FemagResult", job);

        _output.WriteLine(received.Describe());
        Assert.Empty(received.Output);
        error = Assert.Single(received.Errors);
        Assert.Contains("NoSuchBucket", error.Exception.Message);
        Assert.Contains(job.Bucket(), error.Exception.Message);
        Assert.Equal(1, proxy.Counts.Values.Sum());
    }

    [Fact]
    public async Task An_upload_that_fails_after_its_bucket_was_made_removes_the_empty_bucket()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.Fail("s3:PutObject", null, 403, "AccessDenied", "Access Denied");
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folders = Enumerable.Range(0, 2).Select(i => ws.AddJob(i.ToString(), "-- job\n").FullName).ToArray();
        var before = await Cloud.BucketNamesAsync();
        using var ps = new PsSession();

        var result = ps.Run(UploadFolders, folders, ws.ConfigFile);

        _output.WriteLine(result.Describe());
        Assert.Empty(result.Output);
        Assert.Equal(2, result.Errors.Count);
        Assert.Equal(folders, result.Errors.Select(e => JobFolder(e.TargetObject)).Order());
        Assert.All(result.Errors, e => Assert.Contains("AccessDenied", e.Exception.Message));
        Assert.Equal(2, proxy.Count("s3:CreateBucket"));
        Assert.Equal(2, proxy.Count("s3:DeleteBucket"));
        Assert.Equal(before, await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task A_half_made_bucket_that_cannot_be_removed_is_named_in_the_error_and_tagged_as_the_modules()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.Fail("s3:PutObject", null, 403, "AccessDenied", "Access Denied");
        proxy.Fail("s3:DeleteBucket", null, 403, "AccessDenied", "Access Denied");
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        var before = await Cloud.BucketNamesAsync();
        using var ps = new PsSession();

        var result = ps.Run(UploadFolders, new[] { folder.FullName }, ws.ConfigFile);

        _output.WriteLine(result.Describe());
        var left = Assert.Single((await Cloud.BucketNamesAsync()).Except(before));
        var message = Assert.Single(result.Errors).Exception.Message;
        Assert.Contains(folder.FullName, message);
        Assert.Contains(left, message);
        Assert.Contains("could not be removed", message);
        using var s3 = Cloud.S3();
        var tags = await s3.GetBucketTaggingAsync(new GetBucketTaggingRequest { BucketName = left });
        Assert.Contains(tags.TagSet, t => t.Key == "femag-aws:index" && t.Value == "0");

        // The command the error names removes the bucket as printed, in a new session, once S3 allows it.
        var command = message.Substring(message.IndexOf("remove it with '", StringComparison.Ordinal) + 16).TrimEnd('.', '\'');
        Assert.StartsWith("Remove-FemagBucket -Name ", command);
        proxy.Reset();
        using var fresh = new PsSession();
        var removed = fresh.Run(command);
        Assert.True(removed.Errors.Count == 0 && removed.Terminating == null, removed.Describe());
        Assert.DoesNotContain(left, await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task A_launch_that_AWS_refuses_fails_its_job_with_the_AWS_text_and_the_other_job_runs()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var badConfig = Path.Combine(ws.Root, "bad.ini");
        File.WriteAllText(badConfig, File.ReadAllText(ws.ConfigFile).Replace("security_group_ids = sg-8475b5dd,", "security_group_ids = sg-00000000deadbeef"));
        var good = ws.AddJob("0", "-- job\n");
        var bad = ws.AddJob("1", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run(
            "$jobs = @(New-FemagBucket $args[0] -ConfigFile $args[1]) + @(New-FemagBucket $args[2] -ConfigFile $args[3]); " +
            "$jobs | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120",
            good.FullName, ws.ConfigFile, bad.FullName, badConfig);

        _output.WriteLine(result.Describe());
        Assert.Equal("Succeeded", Assert.Single(result.Output, j => j.Folder() == good.FullName).State());
        var error = Assert.Single(result.Errors);
        Assert.Contains("InvalidGroup.NotFound", error.Exception.Message);
        Assert.Contains("sg-00000000deadbeef", error.Exception.Message);
        var failed = PSObject.AsPSObject(error.TargetObject);
        Assert.Equal(bad.FullName, failed.Folder());
        Assert.Equal("Failed", failed.State());
        Assert.Contains("InvalidGroup.NotFound", failed.Reason());
        Assert.Equal(2, proxy.Count("ec2:RunInstances"));
        await RemoveBucketAsync(failed.Bucket());
    }

    [Fact]
    public async Task A_CreateBucket_whose_answer_was_lost_is_retried_and_the_bucket_is_used()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        proxy.LoseAnswer("s3:CreateBucket", 1);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run(UploadFolders, new[] { folder.FullName }, ws.ConfigFile);

        _output.WriteLine(result.Describe() + "\n" + proxy.Describe());
        Assert.True(result.Errors.Count == 0, result.Describe());
        var job = Assert.Single(result.Output);
        Assert.Equal(2, proxy.Count("s3:CreateBucket"));
        using var s3 = Cloud.S3();
        Assert.Equal("0.tar.gz", Assert.Single((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = job.Bucket() })).S3Objects).Key);
        await RemoveBucketAsync(job.Bucket());
    }

    [Fact]
    public async Task BucketAlreadyExists_after_a_lost_answer_is_success_only_for_a_bucket_the_credentials_can_use()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        // The first CreateBucket made the bucket; the retry hears BucketAlreadyExists, as some S3 stores say.
        proxy.LoseAnswer("s3:CreateBucket", 1);
        proxy.Fail("s3:CreateBucket", 1, 409, "BucketAlreadyExists", "The requested bucket name is not available.");
        var ours = ps.Run(UploadFolders, new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(ours.Errors.Count == 0, ours.Describe());
        await RemoveBucketAsync(Assert.Single(ours.Output).Bucket());

        // A name someone else holds: no bucket of ours to use, so it is an error.
        proxy.Reset();
        proxy.Fail("s3:CreateBucket", 1, 409, "BucketAlreadyExists", "The requested bucket name is not available.");
        var theirs = ps.Run(UploadFolders, new[] { folder.FullName }, ws.ConfigFile);

        _output.WriteLine(theirs.Describe());
        Assert.Empty(theirs.Output);
        var refused = Assert.Single(theirs.Errors);
        Assert.StartsWith("FemagBucketNotYours,", refused.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("BucketAlreadyExists", refused.Exception.Message);
        Assert.Equal(1, proxy.Count("s3:HeadBucket"));
    }

    private static string JobFolder(object target) => PSObject.AsPSObject(target).Folder();

    /// <summary>Empties and deletes a bucket behind the module's back.</summary>
    private async Task RemoveBucketAsync(string bucketName)
    {
        using var s3 = Cloud.S3();
        foreach (var item in (await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucketName })).S3Objects ?? new())
        {
            await s3.DeleteObjectAsync(bucketName, item.Key);
        }

        await s3.DeleteBucketAsync(bucketName);
    }
}

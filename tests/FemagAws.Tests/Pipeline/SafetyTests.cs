using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Values and keys that would hurt a careless tool.</summary>
public sealed class SafetyTests : CloudTest
{
    public SafetyTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public void Shell_hostile_config_values_reach_the_instance_unchanged()
    {
        const string hostile = "it's \"quoted\" $HOME `id` ; rm -rf / && echo \\ end";
        using var ws = new Workspace(Cloud, extraConfig: "comment = " + hostile + "\n");

        // The seed script plus one line that shows what the instance's shell saw.
        var seed = File.ReadAllText(Path.Combine(ws.Root, "cloud_init.txt"));
        File.WriteAllText(Path.Combine(ws.Root, "cloud_init.txt"), seed.Replace("echo $? > ~/data/exit_code", "echo $? > ~/data/exit_code\nprintf '%s' \"$COMMENT\" > ~/data/comment.txt"));
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();

        var result = ps.Run(WholePipeline,
            new[] { folder.FullName }, ws.ConfigFile);

        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Equal("Succeeded", Assert.Single(result.Output).State());
        Assert.Equal(hostile, File.ReadAllText(Path.Combine(folder.FullName, "comment.txt")));
    }

    [Fact]
    public async Task A_result_key_that_escapes_the_folder_is_refused_and_never_written()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(NewBuckets(ps, ws, folder));
        using (var s3 = Cloud.S3())
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = "../escaped.txt", ContentBody = "bad" });
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = "sub/../../escaped2.txt", ContentBody = "bad" });
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = "plots/torque.dat", ContentBody = "good" });
        }

        var received = ps.Run("$args[0] | Receive-FemagResult -Force", job);

        Assert.Equal(2, received.Errors.Count(e => e.FullyQualifiedErrorId.StartsWith("FemagUnsafeResultKey,", StringComparison.Ordinal)));
        Assert.False(File.Exists(Path.Combine(ws.Root, "parvar", "escaped.txt")));
        Assert.False(File.Exists(Path.Combine(ws.Root, "parvar", "escaped2.txt")));
        Assert.Equal("good", File.ReadAllText(Path.Combine(folder.FullName, "plots", "torque.dat")));

        // With something refused, the bucket is kept even though delete_buckets = 1.
        Assert.Contains(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task A_result_key_this_platform_cannot_take_as_a_name_is_refused_by_name_and_the_rest_arrives()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        var job = Assert.Single(FinishJobs(ps, ws, folder));
        // Fine for S3 (up to 1,024 bytes a key), too long for a file name on every platform (255).
        var tooLong = "plots/" + new string('t', 300) + ".svg";
        using (var s3 = Cloud.S3())
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = tooLong, ContentBody = "plot" });
        }

        var received = ps.Run("$args[0] | Receive-FemagResult", job);

        var error = Assert.Single(received.Errors);
        Assert.Equal("FemagResultKeyNotAllowed,FemagAws.Commands.ReceiveFemagResultCommand", error.FullyQualifiedErrorId);
        Assert.Contains(tooLong, error.Exception.Message);
        Assert.Equal("Succeeded", Assert.Single(received.Output).State());
        Assert.Equal("0", File.ReadAllText(Path.Combine(folder.FullName, "exit_code")).Trim());
        Assert.True(File.Exists(Path.Combine(folder.FullName, "femag.log")));

        // delete_buckets = 1, but the refused key is only in the bucket.
        Assert.Contains(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData("a/../../b")]
    [InlineData("..\\evil.txt")]
    [InlineData("C:/Windows/evil.txt")]
    [InlineData("a//b")]
    public void Keys_that_S3_allows_but_a_folder_must_not_take_are_refused(string key)
    {
        // S3 (and so a misbehaving instance) can store such keys; the local cloud cannot, so ask the resolver directly.
        using var ps = new PsSession();

        var result = ps.Run(
            "$core = (Get-Command Wait-FemagJob).OutputType[0].Type.Assembly; $core.GetType('FemagAws.Jobs.ResultReceiver')::ResolveKeyPath($args[0], $args[1])",
            Path.GetTempPath(), key);

        Assert.True(result.Errors.Count == 0, result.Describe());
        Assert.Null(Assert.Single(result.Output));
    }
}

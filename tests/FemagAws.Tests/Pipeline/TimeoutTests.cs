using System.Diagnostics;
using System.Management.Automation;
using FemagAws.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FemagAws.Tests.Pipeline;

/// <summary>
/// Requests that hang, through a proxy that holds them: each is given up after the module's idle timeout and sent
/// again, so the run goes on, and -Verbose says so. A transfer is cut off only when its data stops, not because it is long.
/// </summary>
public sealed class TimeoutTests : CloudTest
{
    /// <summary>The module's idle timeout per request (AwsClients.IdleTimeout).</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Room for the SDK's backoff before the retry (at most 1 s) and a loaded 2-core machine.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(10);

    private readonly ITestOutputHelper _output;

    public TimeoutTests(LocalCloudFixture fixture, ITestOutputHelper output)
        : base(fixture) => _output = output;

    [Fact]
    public async Task A_hung_DeleteObject_in_Start_FemagInstance_is_sent_again_after_the_timeout_and_the_job_runs()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        using var ps = new PsSession();
        var jobs = NewBuckets(ps, ws, ws.AddJob("0", "-- job\n"), ws.AddJob("1", "-- job\n"));

        var watch = Stopwatch.StartNew();
        var plain = ps.Run("$args[0] | Start-FemagInstance", jobs[0]);
        var undisturbed = watch.Elapsed;
        Assert.True(plain.Errors.Count == 0 && plain.Terminating == null, plain.Describe());

        // As reported: the DeleteObject of a stale exit_code held for 130 s.
        proxy.Reset();
        proxy.Hold("s3:DeleteObject", TimeSpan.FromSeconds(130));
        watch.Restart();
        var held = ps.Run("$args[0] | Start-FemagInstance -Verbose", jobs[1]);
        var elapsed = watch.Elapsed;

        var heldFor = Assert.Single(proxy.HoldTimes("s3:DeleteObject"));
        _output.WriteLine($"undisturbed {undisturbed.TotalSeconds:F1} s; with the hold {elapsed.TotalSeconds:F1} s; the request was held {heldFor.TotalSeconds:F1} s\n" +
                          string.Join("\n", held.Verbose) + "\n" + proxy.Describe());
        AssertNoCancel(held);
        Assert.Equal("Running", Assert.Single(held.Output).State());
        Assert.InRange(heldFor, RequestTimeout - TimeSpan.FromSeconds(1), RequestTimeout + Slack);
        Assert.InRange(elapsed, RequestTimeout, undisturbed + RequestTimeout + Slack);
        Assert.Equal(2, proxy.Count("s3:DeleteObject"));
        Assert.Contains(held.Verbose, v => v.Contains("S3 did not answer DELETE", StringComparison.Ordinal) && v.Contains("exit_code", StringComparison.Ordinal) &&
                                           v.Contains("(attempt 1 of 9); sending it again.", StringComparison.Ordinal));

        var done = ps.Run("$args | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120", plain.Output[0], held.Output[0]);
        Assert.True(done.Errors.Count == 0, done.Describe());
        Assert.All(done.Output, j => Assert.Equal("Succeeded", j.State()));
        Assert.Equal(2, done.Output.Count);
    }

    [Fact]
    public async Task A_hung_DescribeInstances_in_Wait_FemagJob_is_sent_again_after_the_timeout_and_the_job_succeeds()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, endpointUrl: proxy.Endpoint);
        using var ps = new PsSession();
        var started = ps.Run(UploadAndStart, new[] { ws.AddJob("0", "-- job\n").FullName, ws.AddJob("1", "-- job\n").FullName }, ws.ConfigFile);
        Assert.True(started.Errors.Count == 0 && started.Terminating == null, started.Describe());
        const string wait = "$args[0] | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 300 -Verbose";

        var watch = Stopwatch.StartNew();
        var plain = ps.Run(wait, started.Output[0]);
        var undisturbed = watch.Elapsed;
        Assert.True(plain.Errors.Count == 0 && plain.Terminating == null, plain.Describe());

        // As reported: a DescribeInstances held for 170 s.
        proxy.Reset();
        proxy.Hold("ec2:DescribeInstances", TimeSpan.FromSeconds(170));
        watch.Restart();
        var held = ps.Run(wait, started.Output[1]);
        var elapsed = watch.Elapsed;

        var heldFor = Assert.Single(proxy.HoldTimes("ec2:DescribeInstances"));
        _output.WriteLine($"undisturbed {undisturbed.TotalSeconds:F1} s; with the hold {elapsed.TotalSeconds:F1} s; the request was held {heldFor.TotalSeconds:F1} s\n" +
                          string.Join("\n", held.Verbose) + "\n" + proxy.Describe());
        AssertNoCancel(held);
        Assert.Equal("Succeeded", Assert.Single(held.Output).State());
        Assert.InRange(heldFor, RequestTimeout - TimeSpan.FromSeconds(1), RequestTimeout + Slack);

        // The undisturbed wait, plus the timeout, plus one poll interval.
        Assert.InRange(elapsed, RequestTimeout, undisturbed + RequestTimeout + TimeSpan.FromSeconds(1) + Slack);
        Assert.Contains(held.Verbose, v => v.StartsWith("EC2 did not answer POST", StringComparison.Ordinal) && v.EndsWith("(attempt 1 of 9); sending it again.", StringComparison.Ordinal));
        Assert.Empty(held.Warnings);
    }

    [Fact]
    public async Task A_download_longer_than_the_timeout_is_not_cut_off_while_data_flows()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, deleteBuckets: false, endpointUrl: proxy.Endpoint);
        using var ps = new PsSession();
        var folder = ws.AddJob("0", "-- fake-femag: result-mb 6\n");
        var job = Assert.Single(FinishJobs(ps, ws, folder));

        // 6 MiB at 256 KiB/s: 24 s, longer than the timeout, with data every tenth of a second.
        proxy.Reset();
        proxy.Throttle("s3:GetObject", 256 << 10);
        var watch = Stopwatch.StartNew();
        var received = ps.Run("$args[0] | Receive-FemagResult -IncludeUnchanged -Verbose", job);
        var elapsed = watch.Elapsed;

        _output.WriteLine($"received in {elapsed.TotalSeconds:F1} s\n" + string.Join("\n", received.Verbose) + "\n" + proxy.Describe());
        AssertNoCancel(received);
        Assert.Single(received.Output);
        Assert.True(elapsed > RequestTimeout, $"the download took {elapsed.TotalSeconds:F1} s, not longer than the timeout");
        Assert.Equal(6L << 20, new FileInfo(Path.Combine(folder.FullName, "result.bin")).Length);
        Assert.Equal(1, proxy.Count("s3:ListObjects"));
        Assert.Equal(proxy.FaultCount("s3:GetObject", AwsProxy.Throttled), proxy.Count("s3:GetObject"));
        Assert.DoesNotContain(received.Verbose, v => v.Contains("abandoned", StringComparison.Ordinal));
        using var s3 = Cloud.S3();
        var objects = (await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = job.Bucket() })).S3Objects;
        Assert.Equal(objects.Count, proxy.Count("s3:GetObject"));
    }

    [Fact]
    public async Task A_download_whose_data_stops_is_started_again_after_the_timeout()
    {
        await using var proxy = new AwsProxy(Cloud.Endpoint);
        using var ws = new Workspace(Cloud, deleteBuckets: false, endpointUrl: proxy.Endpoint);
        using var ps = new PsSession();
        var folder = ws.AddJob("0", "-- fake-femag: result-mb 6\n");
        var job = Assert.Single(FinishJobs(ps, ws, folder));

        proxy.Reset();
        proxy.StallAnswer("s3:GetObject", "result.bin", 1 << 20, TimeSpan.FromSeconds(120));
        var watch = Stopwatch.StartNew();
        var received = ps.Run("$args[0] | Receive-FemagResult -IncludeUnchanged -Verbose", job);
        var elapsed = watch.Elapsed;

        var heldFor = Assert.Single(proxy.HoldTimes("s3:GetObject"));
        _output.WriteLine($"received in {elapsed.TotalSeconds:F1} s; the answer stalled for {heldFor.TotalSeconds:F1} s\n" + string.Join("\n", received.Verbose) + "\n" + proxy.Describe());
        AssertNoCancel(received);
        Assert.Single(received.Output);
        Assert.InRange(heldFor, RequestTimeout - TimeSpan.FromSeconds(1), RequestTimeout + Slack);
        Assert.InRange(elapsed, RequestTimeout, RequestTimeout + Slack);
        Assert.Equal(6L << 20, new FileInfo(Path.Combine(folder.FullName, "result.bin")).Length);
        Assert.Empty(Directory.GetFiles(folder.FullName, "*.femag-partial", SearchOption.AllDirectories));
        Assert.Contains(received.Verbose, v => v.StartsWith("S3 stopped sending its answer to GET", StringComparison.Ordinal) && v.Contains("result.bin", StringComparison.Ordinal) &&
                                               v.EndsWith("; the answer was abandoned and the request is made again.", StringComparison.Ordinal));

        // Every object once (-IncludeUnchanged), and result.bin once more.
        using var s3 = Cloud.S3();
        var objects = (await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = job.Bucket() })).S3Objects;
        Assert.Equal(objects.Count + 1, proxy.Count("s3:GetObject"));
    }

    private const string UploadAndStart = "[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance";

    /// <summary>No error at all, so none that reads "A task was canceled", and no stop.</summary>
    private static void AssertNoCancel(PsResult result)
    {
        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        Assert.DoesNotContain(result.Warnings, w => w.Contains("cancel", StringComparison.OrdinalIgnoreCase));
    }
}

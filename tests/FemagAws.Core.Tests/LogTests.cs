using System.Text;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Insight;
using FemagAws.Jobs;
using FemagAws.Runners;
using FemagAws.Runners.InstancePerJob;
using FemagAws.Runners.Pool;
using InstanceStatus = FemagAws.Aws.Ec2.InstanceStatus;

namespace FemagAws.Core.Tests;

/// <summary>A job's log: the lines Get-FemagJobLog gives as the log grows, and the last lines a failed or timed-out job's reason carries.</summary>
public sealed class LogTests
{
    private const string InstanceId = "i-0123456789abcdef0";
    private const string PoolId = "p20261206043000-1a2b3c4d";
    private static readonly DateTime Launch = new(2026, 12, 6, 7, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void A_growing_log_gives_each_complete_line_once_and_its_last_line_when_it_is_complete()
    {
        var follower = new LogFollower(null);

        var first = follower.Next("one\ntwo\nthr", complete: false);
        var second = follower.Next("one\ntwo\nthree\nfour\n", complete: false);
        var unchanged = follower.Next("one\ntwo\nthree\nfour\n", complete: false);
        var last = follower.Next("one\ntwo\nthree\nfour\nfive", complete: true);

        Assert.Equal(new[] { "one", "two" }, first);
        Assert.Equal(new[] { "three", "four" }, second);
        Assert.Empty(unchanged);
        Assert.Equal(new[] { "five" }, last);
    }

    [Fact]
    public void A_log_of_which_only_the_end_is_kept_gives_only_the_lines_after_those_given_even_when_its_first_line_is_cut()
    {
        // EC2 keeps the last 64 KB of the console output: the window moves on and may start in the middle of a line.
        var follower = new LogFollower(null);
        follower.Next("boot\nline a\nline b\nline c\n", complete: false);

        var next = follower.Next("ne b\nline c\nline d\n", complete: false);

        Assert.Equal(new[] { "line d" }, next);
    }

    [Fact]
    public void Repeated_lines_are_matched_by_the_lines_before_them()
    {
        var follower = new LogFollower(null);
        follower.Next("x\n.\n.\n", complete: false);

        Assert.Equal(new[] { "." }, follower.Next("x\n.\n.\n.\n", complete: false));
        Assert.Equal(new[] { "." }, follower.Next(".\n.\n.\n.\n", complete: false));
    }

    [Fact]
    public void A_log_that_shares_no_line_with_those_given_is_new_throughout()
    {
        // A relaunched job's new instance starts a console output of its own.
        var follower = new LogFollower(null);
        follower.Next("first instance\nlost\n", complete: false);

        Assert.Equal(new[] { "second instance", "ran" }, follower.Next("second instance\nran\n", complete: false));
    }

    [Fact]
    public void A_log_with_more_lines_before_the_last_one_given_than_were_given_is_another_log()
    {
        // A relaunch's instance that printed the same line: its log does not grow from the front.
        var follower = new LogFollower(null);
        follower.Next("done\n", complete: false);

        Assert.Equal(new[] { "start", "done", "again" }, follower.Next("start\ndone\nagain\n", complete: false));
    }

    [Fact]
    public void A_long_log_is_matched_against_the_lines_kept_of_it()
    {
        var follower = new LogFollower(null);
        var lines = Enumerable.Range(0, LogFollower.KeptLines + 10).Select(i => $"line {i}\n").ToList();
        follower.Next(string.Concat(lines), complete: false);

        Assert.Equal(new[] { "last" }, follower.Next(string.Concat(lines) + "last\n", complete: false));
    }

    [Fact]
    public void Tail_gives_the_last_lines_of_the_first_read_and_then_every_new_line()
    {
        var follower = new LogFollower(2);

        var first = follower.Next("1\n2\n3\n4\n", complete: false);
        var next = follower.Next("1\n2\n3\n4\n5\n6\n7\n", complete: false);

        Assert.Equal(new[] { "3", "4" }, first);
        Assert.Equal(new[] { "5", "6", "7" }, next);
    }

    [Fact]
    public void The_reason_carries_the_last_five_lines_that_hold_more_than_white_space()
    {
        var lines = LogLines.LastNonEmpty("a\r\nb\nc\n\nd\n   \ne\nf\n\n");

        Assert.Equal(new[] { "b", "c", "d", "e", "f" }, lines);
        Assert.Empty(LogLines.LastNonEmpty(null));

        // The aws CLI's progress, rewritten in place after a carriage return, is what a terminal shows: its last text.
        Assert.Equal(new[] { "x", "download: s3://b/0.tar.gz to 0.tar.gz" }, LogLines.LastNonEmpty("x\nCompleted 1 KiB/1 KiB with 1 file(s) remaining\rdownload: s3://b/0.tar.gz to 0.tar.gz\nCompleted 2 KiB\r"));
        Assert.Equal(string.Empty, LogLines.ForReason(Array.Empty<string>()));
    }

    [Fact]
    public async Task An_instance_that_ended_without_the_finish_file_fails_its_job_with_the_last_lines_of_its_console_output()
    {
        var (cache, ec2) = Clients(Console("cloud-init: starting\nFEMAG: mesh failed\ncloud-init: halting\n"));
        var job = Job();

        var check = await new JobWatcher(TimeSpan.Zero).CheckAsync(cache.Get(job), job, Ended(), CancellationToken.None);

        Assert.Equal((JobCheck.Finished, FemagJobState.Failed, (int?)null), (check.Check, job.State, job.ExitCode));
        Assert.EndsWith(LogLines.ReasonLead + "cloud-init: starting\nFEMAG: mesh failed\ncloud-init: halting", job.Reason);
        Assert.Equal(InstanceId, ec2.Requests<GetConsoleOutputRequest>().Single().InstanceId);
    }

    [Fact]
    public async Task A_console_output_that_cannot_be_read_leaves_the_failure_as_it_was()
    {
        var (cache, _) = Clients(_ => throw new AmazonEC2Exception("Rate exceeded") { ErrorCode = "RequestLimitExceeded" });
        var job = Job();

        await new JobWatcher(TimeSpan.Zero).CheckAsync(cache.Get(job), job, Ended(), CancellationToken.None);

        Assert.Equal(FemagJobState.Failed, job.State);
        Assert.Equal(JobWatcherReason(job), job.Reason);
    }

    [Fact]
    public async Task A_console_output_the_instance_refuses_the_latest_of_is_read_as_EC2_buffers_it()
    {
        var (cache, ec2) = Clients(args => ((GetConsoleOutputRequest)args[0]!).Latest == true
            ? throw new AmazonEC2Exception("not supported") { ErrorCode = "UnsupportedOperation" }
            : Console("buffered\n")(args));

        var text = await ConsoleOutputs.ReadAsync(cache.Get(Job()).Ec2, InstanceId, CancellationToken.None);

        Assert.Equal("buffered\n", text);
        Assert.Equal(new bool?[] { true, null }, ec2.Requests<GetConsoleOutputRequest>().Select(r => r.Latest));
    }

    [Fact]
    public async Task A_job_that_timed_out_carries_the_last_lines_of_its_console_output()
    {
        var (cache, _) = Clients(Console("step 1\nstep 2\nstill meshing\n"));
        var job = Job();
        var watch = new InstanceWatch(new[] { job }, cache, new WatchOptions(TimeSpan.Zero, false, 4));

        var left = await watch.TimeOutAsync(TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.Equal((FemagJobState.TimedOut, job), (job.State, left.Single()));
        Assert.EndsWith(LogLines.ReasonLead + "step 1\nstep 2\nstill meshing", job.Reason);
    }

    [Fact]
    public async Task A_pool_job_that_timed_out_carries_the_last_lines_of_its_job_log_and_a_queued_one_none()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1");
        var running = Job(PoolId);
        var queued = Job(PoolId, "00000000-0000-0000-0000-000000000001-1");
        JobStates.TakenInPool(running, InstanceId, 1, "c5.large", FemagJob.OnDemand, Launch);
        JobStates.WaitingInPool(queued);
        fake.Logs[running.BucketName] = "meshing\nsolving 10 %\n";
        var watch = new PoolRunner(new AwsClientCache(new FakeCommandLines()), _ => pool).Watch(new[] { running, queued }, new WatchOptions(TimeSpan.Zero, false, 4));

        await watch.TimeOutAsync(TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.EndsWith(LogLines.ReasonLead + "meshing\nsolving 10 %", running.Reason);
        Assert.DoesNotContain(LogLines.ReasonLead, queued.Reason);
        Assert.Equal((FemagJobState.TimedOut, FemagJobState.TimedOut), (running.State, queued.State));
    }

    [Fact]
    public async Task A_pool_jobs_log_is_its_job_log_and_it_has_ended_once_its_ended_marker_is_there()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1");
        var runner = new PoolRunner(new AwsClientCache(new FakeCommandLines()), _ => pool);
        var job = Job(PoolId);
        fake.Bucket(job.BucketName, PoolId);

        var queued = await runner.ReadLogAsync(job, CancellationToken.None);
        fake.Bucket(job.BucketName, PoolId, ended: "status=0\nfinish=no\nwhy=exit\ntime=2026-12-06T07:05:00Z\n--- last lines\ndone\n");
        fake.Logs[job.BucketName] = "done\n";
        var ended = await runner.ReadLogAsync(job, CancellationToken.None);

        Assert.Equal((false, FemagJobState.Queued, false), (queued.Started, queued.State, queued.Ended));
        Assert.Equal((true, "done\n", true), (ended.Started, ended.Text, ended.Ended));
        Assert.Equal(FemagJobState.Running, job.State);
    }

    [Fact]
    public async Task A_job_that_never_ran_has_no_log_and_one_whose_log_is_gone_says_so()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1");
        var runner = new PoolRunner(new AwsClientCache(new FakeCommandLines()), _ => pool);
        var job = Job(PoolId);
        fake.Bucket(job.BucketName, PoolId);

        var notStarted = await Assert.ThrowsAsync<FemagException>(() => new JobLogReader(runner, job, null).ReadAsync(false, CancellationToken.None));
        var waiting = await new JobLogReader(runner, job, null).ReadAsync(true, CancellationToken.None);
        fake.Bucket(job.BucketName, PoolId, ended: "status=1\nfinish=no\nwhy=exit\ntime=2026-12-06T07:05:00Z\n--- last lines\n");
        var gone = await Assert.ThrowsAsync<FemagException>(() => new JobLogReader(runner, job, null).ReadAsync(true, CancellationToken.None));

        Assert.Equal((ErrorIds.JobLogNotStarted, FemagErrorKind.ObjectNotFound), (notStarted.ErrorId, notStarted.Kind));
        Assert.Empty(waiting);
        Assert.Equal((ErrorIds.JobLogGone, FemagErrorKind.ObjectNotFound), (gone.ErrorId, gone.Kind));
        Assert.Contains(JobMarkers.LogKey, gone.Message);
    }

    private static string JobWatcherReason(FemagJob job) => $"Instance {InstanceId} ended (terminated: Client.InstanceInitiatedShutdown) without writing {job.Config.FinishTaskFilename}.";

    private static FemagJob Job(string? poolId = null, string bucket = "00000000-0000-0000-0000-000000000000-0")
    {
        var job = new FemagJob { Index = 0, BucketName = bucket, PoolId = poolId, InstanceId = poolId == null ? InstanceId : null, LaunchTime = Launch };
        JobStates.Running(job, null);
        return job;
    }

    private static Func<object?[], object?> Console(string text) =>
        _ => new GetConsoleOutputResponse { InstanceId = InstanceId, Output = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)) };

    /// <summary>An On-Demand instance its own script shut down: its job ends, and is not lost.</summary>
    private static InstanceStatus Ended() => InstanceStatus.From(new Instance
    {
        InstanceId = InstanceId,
        State = new InstanceState { Name = InstanceStateName.Terminated },
        StateReason = new StateReason { Code = "Client.InstanceInitiatedShutdown", Message = "Client.InstanceInitiatedShutdown" },
        LaunchTime = Launch,
        Tags = new List<Amazon.EC2.Model.Tag> { new("femag-aws:bucket", "00000000-0000-0000-0000-000000000000-0") },
    });

    private static (AwsClientCache Cache, FakeAws Ec2) Clients(Func<object?[], object?> consoleOutput)
    {
        var (ec2, ec2Fake) = FakeAws.Of<IAmazonEC2>();
        var (s3, s3Fake) = FakeAws.Of<IAmazonS3>();
        ec2Fake.On("GetConsoleOutputAsync", consoleOutput);
        s3Fake.On("GetObjectAsync", _ => throw new AmazonS3Exception("The specified key does not exist.") { ErrorCode = "NoSuchKey", StatusCode = System.Net.HttpStatusCode.NotFound });
        return (new AwsClientCache(new FakeCommandLines(), (target, _) => new AwsClients(target, s3, ec2, "fake", new FakeCommandLines())), ec2Fake);
    }
}

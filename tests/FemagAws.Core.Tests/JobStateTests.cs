using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Insight;
using FemagAws.Jobs;
using FemagAws.Runners;
using FemagAws.Runners.InstancePerJob;
using InstanceStatus = FemagAws.Aws.Ec2.InstanceStatus;
using Tag = Amazon.EC2.Model.Tag;

namespace FemagAws.Core.Tests;

/// <summary>How a job's state follows from its finish file, its instance and the errors met while waiting.</summary>
public sealed class JobStateTests
{
    private static readonly DateTime Launch = new(2026, 11, 24, 8, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData("0", FemagJobState.Succeeded, 0)]
    [InlineData("0\n", FemagJobState.Succeeded, 0)]
    [InlineData(" 0 \r\n", FemagJobState.Succeeded, 0)]
    [InlineData("1\n", FemagJobState.Failed, 1)]
    [InlineData("137\n", FemagJobState.Failed, 137)]
    [InlineData("-1", FemagJobState.Failed, -1)]
    public void An_exit_code_of_0_succeeds_and_any_other_fails(string content, FemagJobState state, int code)
    {
        var job = new FemagJob { State = FemagJobState.Running, Reason = "earlier" };

        JobStates.FinishWith(job, content, null);

        Assert.Equal(state, job.State);
        Assert.Equal(code, job.ExitCode);
        Assert.Equal(code == 0 ? null : $"FEMAG exited with code {code}; see femag.err and the *.PROT log among the results.", job.Reason);
        Assert.True(job.IsFinished);
    }

    [Theory]
    [InlineData("", "''")]
    [InlineData("\n", "''")]
    [InlineData("done", "'done'")]
    [InlineData("0 1", "'0 1'")]
    [InlineData("1.0", "'1.0'")]
    public void A_finish_file_without_a_whole_number_fails_the_job_without_an_exit_code(string content, string shown)
    {
        var job = new FemagJob { ExitCode = 0, Config = FemagConfig.FromSettings(new Dictionary<string, string> { ["finish_task_filename"] = "status" }) };

        JobStates.FinishWith(job, content, null);

        Assert.Equal(FemagJobState.Failed, job.State);
        Assert.Null(job.ExitCode);
        Assert.Equal($"status holds {shown}, not an exit code.", job.Reason);
    }

    [Fact]
    public void A_long_finish_file_is_cut_to_40_characters_in_the_reason()
    {
        var job = new FemagJob();

        JobStates.FinishWith(job, "Segmentation fault (core dumped) in xfemag at step 12\n", null);

        Assert.Equal("exit_code holds 'Segmentation fault (core dumped) in xfem…', not an exit code.", job.Reason);
    }

    [Theory]
    [InlineData(FemagJobState.Uploaded, false)]
    [InlineData(FemagJobState.Queued, false)]
    [InlineData(FemagJobState.Running, false)]
    [InlineData(FemagJobState.TimedOut, false)]
    [InlineData(FemagJobState.Succeeded, true)]
    [InlineData(FemagJobState.Failed, true)]
    public void Only_Succeeded_and_Failed_are_finished(FemagJobState state, bool finished)
    {
        Assert.Equal(finished, new FemagJob { State = state }.IsFinished);
    }

    [Theory]
    [InlineData("pending", false)]
    [InlineData("running", false)]
    [InlineData("shutting-down", true)]
    [InlineData("terminated", true)]
    [InlineData("stopping", true)]
    [InlineData("stopped", true)]
    [InlineData("missing", true)]
    public void An_instance_has_ended_once_it_can_no_longer_write_to_the_bucket(string state, bool ended)
    {
        Assert.Equal(ended, new InstanceStatus("i-0123456789abcdef0", state, null).HasEnded);
    }

    [Fact]
    public void An_instance_status_reads_the_modules_tags_and_when_EC2_ended_it()
    {
        var status = InstanceStatus.From(new Instance
        {
            InstanceId = "i-0123456789abcdef0",
            State = new InstanceState { Name = InstanceStateName.Terminated },
            StateReason = new StateReason { Message = "Client.InstanceInitiatedShutdown: Instance initiated shutdown" },
            StateTransitionReason = "User initiated (2026-11-24 12:00:05 GMT)",
            LaunchTime = Launch,
            Tags = new List<Tag> { new("femag-aws:bucket", "b-3"), new("femag-aws:index", "3"), new("femag-aws:max-runtime", "240") },
        });

        Assert.Equal(("terminated", "b-3", 3, 240.0), (status.State, status.BucketName, status.Index, status.MaxRuntime));
        Assert.Equal("Client.InstanceInitiatedShutdown: Instance initiated shutdown", status.Reason);
        Assert.Equal(Launch, status.LaunchTime);
        Assert.Equal(new DateTime(2026, 11, 24, 12, 0, 5, DateTimeKind.Utc), status.EndTime);
    }

    [Theory]
    [InlineData(240 * 60, true)]
    [InlineData(240 * 60 - 1, true)]
    [InlineData(241 * 60, true)]
    [InlineData(239 * 60, false)]
    [InlineData(216 * 60, false)]
    [InlineData(30 * 60, false)]
    public void Only_an_instance_that_ran_the_whole_max_runtime_without_exit_code_was_stopped_by_the_watchdog(int ranSeconds, bool watchdog)
    {
        // The watchdog starts after the launch: an end sooner than max_runtime (to EC2's second) is a script that crashed.
        var job = new FemagJob { State = FemagJobState.Running };

        JobStates.EndedWithoutFinish(job, Ended(Launch.AddSeconds(ranSeconds), maxRuntime: "240"), null);

        Assert.Equal(FemagJobState.Failed, job.State);
        Assert.Equal(
            watchdog
                ? "Instance i-0123456789abcdef0 was stopped by the max_runtime watchdog after 240 minutes, before exit_code was written. Raise max_runtime if the calculation needs longer."
                : "Instance i-0123456789abcdef0 ended (terminated: Client.UserInitiatedShutdown) without writing exit_code.",
            job.Reason);
    }

    [Fact]
    public void A_watchdog_of_one_minute_says_minute()
    {
        var job = new FemagJob { State = FemagJobState.Running };

        JobStates.EndedWithoutFinish(job, Ended(Launch.AddMinutes(1), maxRuntime: "1"), null);

        Assert.Contains("after 1 minute,", job.Reason);
    }

    [Fact]
    public void An_end_EC2_gives_no_time_for_is_not_taken_for_the_watchdog_however_late_it_is_judged()
    {
        var job = new FemagJob();
        var instance = InstanceStatus.From(new Instance
        {
            InstanceId = "i-0123456789abcdef0",
            State = new InstanceState { Name = InstanceStateName.Terminated },
            StateReason = new StateReason { Message = "Client.InstanceInitiatedShutdown" },
            LaunchTime = DateTime.UtcNow.AddHours(-5),
            Tags = new List<Tag> { new("femag-aws:bucket", "b-0"), new("femag-aws:max-runtime", "1") },
        });

        JobStates.EndedWithoutFinish(job, instance, null);

        Assert.Null(instance.EndTime);
        Assert.DoesNotContain("watchdog", job.Reason);
        Assert.DoesNotContain("max_runtime", job.Reason);
    }

    [Fact]
    public void Without_a_watchdog_an_instance_that_ended_without_exit_code_says_how_it_ended()
    {
        var job = new FemagJob();

        JobStates.EndedWithoutFinish(job, Ended(Launch.AddHours(5), maxRuntime: null), null);

        Assert.Equal("Instance i-0123456789abcdef0 ended (terminated: Client.UserInitiatedShutdown) without writing exit_code.", job.Reason);
    }

    [Theory]
    [InlineData("running", 60, false)]
    [InlineData("pending", 60, false)]
    [InlineData("stopped", 60, true)]
    [InlineData("terminated", 1, true)]
    [InlineData("shutting-down", 60, false)]
    [InlineData("stopping", 60, false)]
    [InlineData("missing", 1, false)]
    [InlineData("missing", 4, false)]
    [InlineData("missing", 6, true)]
    public void A_job_without_exit_code_is_over_once_its_instance_ended_but_not_while_EC2_may_not_list_a_new_launch(string state, int minutesSinceLaunch, bool over)
    {
        var now = Launch.AddMinutes(minutesSinceLaunch);
        var job = new FemagJob { LaunchTime = Launch };

        Assert.Equal(over, JobWatcher.EndedWithoutFinish(job, new InstanceStatus("i-0123456789abcdef0", state, null), now));
    }

    [Theory]
    [InlineData("NoSuchBucket", ErrorIds.AwsNoSuchBucket, FemagErrorKind.ObjectNotFound, true)]
    [InlineData("AccessDenied", "AwsAccessDenied", FemagErrorKind.PermissionDenied, true)]
    [InlineData("ExpiredToken", "AwsExpiredToken", FemagErrorKind.AuthenticationError, true)]
    [InlineData("InvalidInstanceID.Malformed", "AwsInvalidInstanceIDMalformed", FemagErrorKind.InvalidArgument, true)]
    [InlineData("SlowDown", "AwsSlowDown", FemagErrorKind.InvalidOperation, false)]
    [InlineData("ServiceUnavailable", "AwsServiceUnavailable", FemagErrorKind.InvalidOperation, false)]
    [InlineData("InsufficientInstanceCapacity", ErrorIds.AwsInsufficientInstanceCapacity, FemagErrorKind.LimitsExceeded, false)]
    public void Only_errors_another_poll_cannot_mend_fail_a_job_at_once(string code, string errorId, FemagErrorKind kind, bool permanent)
    {
        var explained = Assert.IsType<FemagException>(AwsErrors.Explain(new AmazonServiceException("refused") { ErrorCode = code }, "Reading exit_code in bucket b-0"), exactMatch: false);

        Assert.Equal((errorId, kind), (explained.ErrorId, explained.Kind));
        Assert.StartsWith($"Reading exit_code in bucket b-0 failed: {code}: refused", explained.Message);
        Assert.Equal(permanent, InstanceWatch.IsPermanent(explained));
    }

    [Fact]
    public void The_service_message_ends_its_sentence_before_the_advice()
    {
        var explained = AwsErrors.Explain(new AmazonServiceException("The specified bucket does not exist") { ErrorCode = "NoSuchBucket" }, "Listing bucket b-0");

        Assert.Contains("NoSuchBucket: The specified bucket does not exist. The bucket is gone", explained.Message);
        Assert.Contains("AccessDenied: Access Denied. Give", AwsErrors.Explain(new AmazonServiceException("Access Denied.") { ErrorCode = "AccessDenied" }, "x").Message);
    }

    [Fact]
    public void An_unreachable_endpoint_or_another_exception_is_tried_again()
    {
        var unreachable = AwsErrors.Explain(new HttpRequestException("Connection refused"), "Listing bucket b-0");

        Assert.Equal("FemagAwsUnreachable", ((FemagException)unreachable).ErrorId);
        Assert.False(InstanceWatch.IsPermanent(unreachable));
        Assert.False(InstanceWatch.IsPermanent(new IOException("reset")));
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(3, 40)]
    [InlineData(5, 160)]
    [InlineData(6, 300)]
    [InlineData(30, 300)]
    public void Queued_jobs_pause_10_s_after_a_capacity_refusal_doubling_up_to_5_min(int refusals, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), LaunchPolicy.CapacityPause(refusals));
    }

    [Fact]
    public void A_bucket_has_settled_once_its_listing_held_still_for_the_settle_time()
    {
        var settle = new SettleWatch();
        var t0 = Launch;
        var settleTime = TimeSpan.FromSeconds(30);

        Assert.False(settle.HeldStill("a", t0, settleTime));
        Assert.False(settle.HeldStill("a", t0.AddSeconds(29), settleTime));
        Assert.False(settle.HeldStill("a+b", t0.AddSeconds(31), settleTime));
        Assert.False(settle.HeldStill("a+b", t0.AddSeconds(60), settleTime));
        Assert.True(settle.HeldStill("a+b", t0.AddSeconds(61), settleTime));
        settle.Reset();
        Assert.False(settle.HeldStill("a+b", t0.AddSeconds(62), settleTime));
    }

    [Fact]
    public void Without_a_settle_time_the_first_listing_is_enough()
    {
        Assert.True(new SettleWatch().HeldStill("a", Launch, TimeSpan.Zero));
    }

    [Fact]
    public void A_listing_snapshot_ignores_order_but_sees_every_size_or_content_change()
    {
        S3Object Obj(string key, long size, string etag) => new() { Key = key, Size = size, ETag = etag };
        var listing = SettleWatch.SnapshotOf(new[] { Obj("exit_code", 2, "e1"), Obj("0.tar.gz", 100, "e2") });

        Assert.Equal(listing, SettleWatch.SnapshotOf(new[] { Obj("0.tar.gz", 100, "e2"), Obj("exit_code", 2, "e1") }));
        Assert.NotEqual(listing, SettleWatch.SnapshotOf(new[] { Obj("exit_code", 2, "e1"), Obj("0.tar.gz", 101, "e2") }));
        Assert.NotEqual(listing, SettleWatch.SnapshotOf(new[] { Obj("exit_code", 2, "e3"), Obj("0.tar.gz", 100, "e2") }));
    }

    [Fact]
    public async Task Waiting_makes_jobs_Running_except_those_still_queued_and_a_timeout_leaves_the_queued_ones_queued()
    {
        var launched = new FemagJob { Index = 0, InstanceId = "i-0123456789abcdef0", State = FemagJobState.Uploaded };
        var timedOutBefore = new FemagJob { Index = 1, InstanceId = "i-0fedcba9876543210", State = FemagJobState.TimedOut };
        var queued = new FemagJob { Index = 2, State = FemagJobState.Queued, Reason = "Queued: max_instances = 2" };
        var (ec2, ec2Fake) = FakeAws.Of<IAmazonEC2>();
        ec2Fake.On("GetConsoleOutputAsync", _ => new GetConsoleOutputResponse());
        using var clients = new AwsClientCache(new FakeCommandLines(), (target, _) => new AwsClients(target, FakeAws.Of<Amazon.S3.IAmazonS3>().Client, ec2, "fake", new FakeCommandLines()));

        var waiter = new InstanceWatch(new[] { launched, timedOutBefore, queued }, clients, new WatchOptions(TimeSpan.FromSeconds(30), keepInstances: false, parallelism: 4));

        Assert.Equal((FemagJobState.Running, FemagJobState.Running, FemagJobState.Queued), (launched.State, timedOutBefore.State, queued.State));
        Assert.Equal(1, waiter.Queued);
        var left = await waiter.TimeOutAsync(TimeSpan.FromSeconds(120), CancellationToken.None);
        Assert.Equal(new[] { launched, timedOutBefore, queued }, left.OrderBy(j => j.Index));
        Assert.Equal(FemagJobState.TimedOut, launched.State);
        Assert.Equal("Still running after waiting 120 s; instance i-0123456789abcdef0 was left running.", launched.Reason);
        Assert.Equal((FemagJobState.Queued, "Queued: max_instances = 2"), (queued.State, queued.Reason));
        Assert.Empty(waiter.Pending);
    }

    [Fact]
    public void Queueing_a_job_forgets_its_instance()
    {
        var job = new FemagJob { InstanceId = "i-0123456789abcdef0", State = FemagJobState.Failed };

        JobStates.Queue(job, "Waiting for EC2 capacity: InsufficientInstanceCapacity");

        Assert.Equal((FemagJobState.Queued, null, "Waiting for EC2 capacity: InsufficientInstanceCapacity"), (job.State, job.InstanceId, job.Reason));
        Assert.False(job.IsFinished);
    }

    [Fact]
    public void Only_JobStates_sets_a_jobs_state_outside_Core()
    {
        var setter = typeof(FemagJob).GetProperty(nameof(FemagJob.State))!.SetMethod!;

        Assert.False(setter.IsPublic);
        Assert.True(setter.IsAssembly);
    }

    [Fact]
    public void A_launch_forgets_the_earlier_run_and_a_launched_job_runs_as_at_least_attempt_1()
    {
        var job = new FemagJob { InstanceId = "i-0fedcba9876543210", LaunchTime = Launch, ExitCode = 3, FinishTime = Launch.AddHours(1), Reason = "Queued: max_instances = 2" };
        JobStates.Queue(job, "Queued: max_instances = 2");

        JobStates.Launching(job);
        Assert.Equal((null, null, null, null), (job.InstanceId, job.LaunchTime, job.ExitCode, job.FinishTime));

        JobStates.Launched(job, "i-0123456789abcdef0", "m5.large", FemagJob.Spot, 0, Launch);

        Assert.Equal((FemagJobState.Running, null, "i-0123456789abcdef0", "m5.large", FemagJob.Spot, 1, (DateTime?)Launch),
            (job.State, job.Reason, job.InstanceId, job.InstanceType, job.Lifecycle, job.Attempt, job.LaunchTime));
        JobStates.Launched(job, "i-0123456789abcdef1", "m5.large", FemagJob.OnDemand, 3, Launch);
        Assert.Equal(3, job.Attempt);
    }

    [Fact]
    public void A_dry_run_leaves_the_job_uploaded_and_says_so()
    {
        var job = new FemagJob();
        JobStates.Queue(job, "Queued: max_instances = 1");

        JobStates.DryRun(job);

        Assert.Equal((FemagJobState.Uploaded, "Dry run: EC2 says the launch would succeed; nothing was launched."), (job.State, job.Reason));
    }

    [Fact]
    public void A_finish_file_sets_the_finish_time_given()
    {
        var job = new FemagJob();

        JobStates.FinishWith(job, "0\n", Launch.AddHours(2));

        Assert.Equal((FemagJobState.Succeeded, (DateTime?)Launch.AddHours(2)), (job.State, job.FinishTime));
    }

    [Fact]
    public void An_instance_that_ended_without_the_finish_file_fails_the_job_as_of_the_time_given()
    {
        var job = new FemagJob();
        var instance = Ended(Launch.AddMinutes(30), maxRuntime: null);

        JobStates.EndedWithoutFinish(job, instance, instance.EndTime);

        Assert.Equal((FemagJobState.Failed, instance.EndTime), (job.State, job.FinishTime));
        Assert.Null(job.ExitCode);
    }

    [Fact]
    public void A_loss_with_launches_left_queues_the_next_attempt_and_on_the_last_attempt_fails_with_every_loss()
    {
        var job = new FemagJob { InstanceId = "i-0123456789abcdef0", Attempt = 1, Config = FemagConfig.FromSettings(new Dictionary<string, string> { ["max_attempts"] = "2" }) };
        JobStates.Running(job, null);

        JobStates.Lose(job, 1, "Spot interruption.", 2, null);

        Assert.Equal((FemagJobState.Queued, null, 2, "Relaunching as attempt 2 of 2: Spot interruption."), (job.State, job.InstanceId, job.Attempt, job.Reason));
        Assert.Equal(new[] { "attempt 1: Spot interruption." }, job.Losses);
        Assert.False(job.IsFinished);

        JobStates.FailOnLastAttempt(job, 2, "Hardware failure.", Launch);

        Assert.Equal((FemagJobState.Failed, 2, (DateTime?)Launch), (job.State, job.Attempt, job.FinishTime));
        Assert.Equal(new[] { "attempt 1: Spot interruption.", "attempt 2: Hardware failure." }, job.Losses);
        Assert.Equal("Lost on all 2 launch(es) (max_attempts = 2): attempt 1: Spot interruption. attempt 2: Hardware failure.", job.Reason);
    }

    [Fact]
    public void Get_FemagJob_shows_a_job_lost_with_launches_left_as_running_until_Wait_FemagJob_relaunches_it()
    {
        var job = new FemagJob { Runs = { new JobRun { Attempt = 1, InstanceId = "i-0123456789abcdef0", Start = Launch } } };

        JobStates.AwaitingRelaunch(job, "Instance i-0123456789abcdef0 ended (terminated) without writing exit_code.", Launch.AddMinutes(5));

        Assert.Equal((FemagJobState.Running, "Instance i-0123456789abcdef0 ended (terminated) without writing exit_code. Wait-FemagJob launches it again."), (job.State, job.Reason));

        // Its run on the lost instance is over: Get-FemagJobLog -Wait stops following a log no instance writes.
        Assert.Equal((JobRunOutcome.Lost, (DateTime?)Launch.AddMinutes(5)), (job.Runs[0].Outcome, job.Runs[0].End));
        Assert.True(new JobLogSnapshot(job.State, true, "last line\n", null, writerEnded: true).Ended);
    }

    [Fact]
    public void A_timed_out_job_is_not_finished_and_leaving_the_wait_gives_it_no_finish_time()
    {
        var job = new FemagJob { InstanceId = "i-0123456789abcdef0", FinishTime = Launch };

        JobStates.TimeOut(job, "Still running after waiting 60 s; instance i-0123456789abcdef0 was left running.");
        JobStates.LeftWait(job, Launch.AddHours(1));

        Assert.Equal((FemagJobState.TimedOut, null), (job.State, job.FinishTime));
        Assert.False(job.IsFinished);

        JobStates.Fail(job, "AccessDenied", null);
        JobStates.LeftWait(job, Launch.AddHours(1));
        Assert.Equal((FemagJobState.Failed, "AccessDenied", (DateTime?)Launch.AddHours(1)), (job.State, job.Reason, job.FinishTime));
    }

    [Fact]
    public void A_job_stopped_by_the_user_fails_with_the_stops_reason_and_time()
    {
        var job = new FemagJob { InstanceId = "i-0123456789abcdef0" };
        JobStates.Running(job, null);

        JobStates.StoppedByUser(job, "Stopped by Stop-FemagInstance before it finished; instance i-0123456789abcdef0 was terminated.", Launch);

        Assert.Equal((FemagJobState.Failed, (DateTime?)Launch), (job.State, job.FinishTime));
        Assert.StartsWith("Stopped by Stop-FemagInstance", job.Reason);
        Assert.Null(job.ExitCode);
    }

    [Theory]
    [InlineData("running", FemagJobState.Running)]
    [InlineData("terminated", FemagJobState.Failed)]
    public void An_instance_whose_bucket_is_gone_gets_a_job_running_while_it_runs_and_failed_once_it_ended(string state, FemagJobState jobState)
    {
        var instance = InstanceStatus.From(new Instance
        {
            InstanceId = "i-0123456789abcdef0",
            State = new InstanceState { Name = state },
            StateTransitionReason = state == "terminated" ? "User initiated (2026-11-24 09:00:00 GMT)" : string.Empty,
            LaunchTime = Launch,
            Tags = new List<Tag> { new("femag-aws:bucket", "b-0"), new("femag-aws:attempt", "2") },
        });
        var job = new FemagJob { BucketName = "b-0" };

        JobStates.BucketGone(job, new[] { instance }, instance);

        Assert.Equal((jobState, "i-0123456789abcdef0", 2), (job.State, job.InstanceId, job.Attempt));
        Assert.Equal(state == "terminated" ? Launch.AddHours(1) : (DateTime?)null, job.FinishTime);
        Assert.Equal($"Bucket b-0 of instance i-0123456789abcdef0 ({state}) no longer exists; stop the instance with Stop-FemagInstance.", job.Reason);
    }

    private static InstanceStatus Ended(DateTime end, string? maxRuntime)
    {
        var tags = new List<Tag> { new("femag-aws:bucket", "b-0") };
        if (maxRuntime != null)
        {
            tags.Add(new Tag("femag-aws:max-runtime", maxRuntime));
        }

        return InstanceStatus.From(new Instance
        {
            InstanceId = "i-0123456789abcdef0",
            State = new InstanceState { Name = InstanceStateName.Terminated },
            StateReason = new StateReason { Message = "Client.UserInitiatedShutdown" },
            StateTransitionReason = $"User initiated ({end:yyyy-MM-dd HH:mm:ss} GMT)",
            LaunchTime = Launch,
            Tags = tags,
        });
    }
}

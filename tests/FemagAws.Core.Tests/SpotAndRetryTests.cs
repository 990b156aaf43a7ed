using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Jobs;
using InstanceStatus = FemagAws.Aws.Ec2.InstanceStatus;
using Tag = Amazon.EC2.Model.Tag;
using FemagAws.Runners.InstancePerJob;

namespace FemagAws.Core.Tests;

/// <summary>Spot, capacity fallback and relaunch of lost jobs: the config keys, the launcher and the watcher's verdicts.</summary>
public sealed class SpotAndRetryTests
{
    [Fact]
    public void The_config_reads_spot_spot_fallback_max_attempts_and_an_instance_type_list_with_their_defaults()
    {
        var defaults = Config();
        var set = Config(("spot", "yes"), ("spot_fallback", "0"), ("max_attempts", "5"), ("instance_type", " c5.large, c5a.large ,m5.large,"));

        Assert.Equal((false, true, 3), (defaults.Spot, defaults.SpotFallback, defaults.MaxAttempts));
        Assert.Equal(new[] { "t2.micro" }, defaults.InstanceTypes);
        Assert.Equal((true, false, 5), (set.Spot, set.SpotFallback, set.MaxAttempts));
        Assert.Equal(new[] { "c5.large", "c5a.large", "m5.large" }, set.InstanceTypes);
        Assert.Equal("c5.large,c5a.large,m5.large", set.Settings["instance_type"]);
    }

    [Theory]
    [InlineData("spot", "maybe", "not a yes/no value")]
    [InlineData("spot_fallback", "2", "not a yes/no value")]
    [InlineData("max_attempts", "0", "not a whole number of launches above 0")]
    [InlineData("max_attempts", "2.5", "not a whole number of launches above 0")]
    [InlineData("max_attempts", "3 ; launches", "inline comments are not supported")]
    public void Bad_values_of_the_new_keys_are_refused_with_what_to_write(string key, string value, string problem)
    {
        var ex = Assert.Throws<FemagConfigException>(() => Config((key, value)));

        Assert.Contains(problem, ex.Message);
    }

    [Fact]
    public void Launch_options_are_every_type_on_Spot_then_every_type_On_Demand_unless_the_fallback_is_off()
    {
        string Options(FemagConfig config) => string.Join(" | ", LaunchPolicy.Options(config));

        Assert.Equal("c5.large on-demand | m5.large on-demand", Options(Config(("instance_type", "c5.large,m5.large"))));
        Assert.Equal("c5.large spot | m5.large spot | c5.large on-demand | m5.large on-demand", Options(Config(("instance_type", "c5.large,m5.large"), ("spot", "1"))));
        Assert.Equal("c5.large spot | m5.large spot", Options(Config(("instance_type", "c5.large,m5.large"), ("spot", "1"), ("spot_fallback", "0"))));
    }

    [Theory]
    [InlineData("spot", "Client.UserInitiatedShutdown", null, null, true)]
    [InlineData("spot", "Server.SpotInstanceTermination", null, null, true)]
    [InlineData("on-demand", "Server.InternalError", null, null, true)]
    [InlineData("on-demand", "Client.UserInitiatedShutdown", null, null, false)]
    [InlineData("on-demand", "Client.InstanceInitiatedShutdown", null, null, false)]
    [InlineData("spot", "Client.UserInitiatedShutdown", "module", null, false)]
    [InlineData("on-demand", "Server.InternalError", "module", null, false)]
    [InlineData("spot", "Client.InstanceInitiatedShutdown", null, "60", false)]
    [InlineData("spot", "Server.SpotInstanceTermination", null, "60", true)]
    [InlineData("on-demand", "Server.InternalError", null, "60", true)]
    public void Only_an_end_nobody_asked_for_is_a_loss(string lifecycle, string reasonCode, string? stoppedBy, string? maxRuntime, bool loss)
    {
        var instance = Ended(lifecycle, reasonCode, stoppedBy, maxRuntime, ranMinutes: 60);

        Assert.Equal(loss, JobWatcher.IsLoss(instance));
    }

    [Fact]
    public async Task A_refused_Spot_launch_goes_On_Demand_and_a_refused_type_goes_to_the_next_in_the_list()
    {
        var (cache, ec2, _) = Clients();
        ec2.On("RunInstancesAsync", args =>
        {
            var request = (RunInstancesRequest)args[0]!;
            if (request.InstanceMarketOptions != null)
            {
                throw new AmazonEC2Exception("There is no Spot capacity available that matches your request.") { ErrorCode = "InsufficientInstanceCapacity" };
            }

            if (request.InstanceType.Value == "c5.large")
            {
                throw new AmazonEC2Exception("The requested configuration is currently not supported.") { ErrorCode = "Unsupported" };
            }

            return Launched("i-0000000000000000b");
        });
        var job = Job(("instance_type", "c5.large,m5.large"), ("spot", "1"));
        var warnings = new List<string>();
        var launcher = new JobLauncher(cache, warnings, new List<string>());

        var failed = await launcher.LaunchQueuedAsync(new[] { job }, running: 0, capacityFreed: false, CancellationToken.None);

        Assert.Empty(failed);
        var tried = ec2.Requests<RunInstancesRequest>().Select(r => $"{r.InstanceType.Value} {(r.InstanceMarketOptions != null ? "spot" : "on-demand")}");
        Assert.Equal(new[] { "c5.large spot", "m5.large spot", "c5.large on-demand", "m5.large on-demand" }, tried);
        Assert.Equal((FemagJobState.Running, "i-0000000000000000b", "m5.large", "on-demand", 1), (job.State, job.InstanceId, job.InstanceType, job.Lifecycle, job.Attempt));
        Assert.Equal(1, launcher.FellBack);
        Assert.Empty(warnings);
    }

    [Fact]
    public async Task Without_the_fallback_a_refused_Spot_launch_is_queued_and_EC2_is_asked_once()
    {
        var (cache, ec2, _) = Clients();
        ec2.On("RunInstancesAsync", _ => throw new AmazonEC2Exception("No Spot capacity.") { ErrorCode = "InsufficientInstanceCapacity" });
        var job = Job(("spot", "1"), ("spot_fallback", "0"), ("instance_type", "c5.large"));
        var launcher = new JobLauncher(cache, new List<string>(), new List<string>());

        await launcher.LaunchQueuedAsync(new[] { job }, running: 0, capacityFreed: false, CancellationToken.None);

        Assert.Single(ec2.Requests<RunInstancesRequest>());
        Assert.Equal((FemagJobState.Queued, null), (job.State, job.InstanceId));
        Assert.StartsWith(LaunchPolicy.CapacityReason, job.Reason);
        Assert.Equal(0, launcher.FellBack);
    }

    [Fact]
    public async Task A_lost_job_with_launches_left_has_its_bucket_cleared_but_for_the_archive_and_is_queued_for_the_next_attempt()
    {
        var (cache, _, s3) = Clients();
        s3.On("ListObjectsV2Async", _ => new ListObjectsV2Response
        {
            S3Objects = new List<S3Object> { new() { Key = "4.tar.gz" }, new() { Key = "femag.log" }, new() { Key = "sub/part.B1CH" } },
        });
        var job = Job(("max_attempts", "3"));
        job.Index = 4;
        job.InstanceId = "i-0000000000000000a";
        job.Attempt = 1;
        var launcher = new JobLauncher(cache, new List<string>(), new List<string>());

        var relaunched = await launcher.RelaunchAsync(job, Ended("spot", "Server.SpotInstanceTermination", null, null, 10, attempt: "1"), "lost in a reclaim.", CancellationToken.None);

        Assert.True(relaunched);
        var deleted = s3.Requests<DeleteObjectsRequest>().SelectMany(r => r.Objects).Select(o => o.Key);
        Assert.Equal(new[] { "femag.log", "sub/part.B1CH" }, deleted);
        Assert.Equal((FemagJobState.Queued, null, 2, 1), (job.State, job.InstanceId, job.Attempt, launcher.Relaunched));
        Assert.Equal(new[] { "attempt 1: lost in a reclaim." }, job.Losses);
    }

    [Fact]
    public async Task A_lost_on_demand_instance_EC2_stopped_is_terminated_before_the_relaunch_so_it_stops_billing()
    {
        var (cache, ec2, s3) = Clients();
        s3.On("ListObjectsV2Async", _ => new ListObjectsV2Response { S3Objects = new List<S3Object> { new() { Key = "0.tar.gz" } } });
        ec2.On("CreateTagsAsync", _ => new CreateTagsResponse()).On("TerminateInstancesAsync", _ => new TerminateInstancesResponse());
        var job = Job();
        job.InstanceId = "i-0000000000000000a";
        var launcher = new JobLauncher(cache, new List<string>(), new List<string>());
        var stopped = Ended("on-demand", "Server.ScheduledStop", null, null, 10, attempt: "1", state: InstanceStateName.Stopped);

        Assert.True(await launcher.RelaunchAsync(job, stopped, "stopped by EC2.", CancellationToken.None));

        Assert.Equal(new[] { "i-0000000000000000a" }, Assert.Single(ec2.Requests<TerminateInstancesRequest>()).InstanceIds);
        Assert.Equal("module", Assert.Single(Assert.Single(ec2.Requests<CreateTagsRequest>()).Tags).Value);
        Assert.Equal((FemagJobState.Queued, 2), (job.State, job.Attempt));
    }

    [Fact]
    public async Task A_lost_job_another_session_already_relaunched_follows_the_newer_instance_and_its_bucket_is_left_alone()
    {
        var (cache, ec2, s3) = Clients();
        var first = AttemptInstance("i-00000000000000002", 1, 0);
        var second = AttemptInstance("i-00000000000000003", 2, 5);
        ec2.On("DescribeInstancesAsync", _ => new DescribeInstancesResponse { Reservations = new List<Reservation> { new() { Instances = new List<Instance> { first, second } } } });

        // Read back from a save made before the other session's relaunch: it still names the first instance.
        var job = Job(("max_attempts", "3"));
        job.InstanceId = first.InstanceId;
        job.Attempt = 1;
        var launcher = new JobLauncher(cache, new List<string>(), new List<string>());

        var running = await launcher.RelaunchAsync(job, InstanceStatus.From(first), "lost in a reclaim.", CancellationToken.None);

        Assert.True(running);
        Assert.Empty(s3.Calls);
        Assert.Equal((FemagJobState.Running, "i-00000000000000003", 2, 0), (job.State, job.InstanceId, job.Attempt, launcher.Relaunched));
        Assert.Equal("attempt 1", Assert.Single(job.Losses).Substring(0, 9));
    }

    [Fact]
    public async Task A_job_lost_on_its_last_launch_fails_with_the_reason_of_every_attempt_counting_from_the_instance_tag()
    {
        var (cache, _, s3) = Clients();
        var job = Job(("max_attempts", "3"));
        job.InstanceId = "i-0000000000000000a";
        job.Losses.AddRange(new[] { "attempt 1: first.", "attempt 2: second." });

        // A job read back from an old save says attempt 1; the instance's tag knows better.
        job.Attempt = 1;
        var launcher = new JobLauncher(cache, new List<string>(), new List<string>());

        var relaunched = await launcher.RelaunchAsync(job, Ended("spot", "Client.UserInitiatedShutdown", null, null, 10, attempt: "3"), "third.", CancellationToken.None);

        Assert.False(relaunched);
        Assert.Empty(s3.Calls);
        Assert.Equal((FemagJobState.Failed, 3), (job.State, job.Attempt));
        Assert.Equal("Lost on all 3 launch(es) (max_attempts = 3): attempt 1: first. attempt 2: second. attempt 3: third.", job.Reason);
    }

    [Fact]
    public async Task The_watcher_reports_a_lost_spot_instance_but_fails_an_on_demand_one_whose_script_shut_it_down()
    {
        var (cache, _, s3) = Clients();
        s3.On("GetObjectAsync", _ => throw new AmazonS3Exception("The specified key does not exist.") { ErrorCode = "NoSuchKey", StatusCode = System.Net.HttpStatusCode.NotFound });
        var watcher = new JobWatcher(TimeSpan.Zero);
        var spot = Job();
        var onDemand = Job();
        spot.LaunchTime = onDemand.LaunchTime = Launch;
        spot.State = onDemand.State = FemagJobState.Running;

        var lost = await watcher.CheckAsync(cache.Get(spot), spot, Ended("spot", "Client.UserInitiatedShutdown", null, null, 10), CancellationToken.None);
        var ended = await watcher.CheckAsync(cache.Get(onDemand), onDemand, Ended("on-demand", "Client.InstanceInitiatedShutdown", null, null, 10), CancellationToken.None);

        Assert.Equal(JobCheck.Lost, lost.Check);
        Assert.Contains("without writing exit_code", lost.LossReason);
        Assert.Equal(FemagJobState.Running, spot.State);
        Assert.Equal((JobCheck.Finished, FemagJobState.Failed), (ended.Check, onDemand.State));
    }

    [Fact]
    public async Task The_exit_code_is_the_finish_file_in_the_bucket_when_the_job_ends_not_the_first_one_read()
    {
        // A rerun folder's script syncs the old exit_code (0) first and uploads FEMAG's new one (3) last.
        var (cache, _, s3) = Clients();
        var finish = "0\n";
        s3.On("GetObjectAsync", _ => new GetObjectResponse { ResponseStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(finish)) })
            .On("ListObjectsV2Async", _ => new ListObjectsV2Response { S3Objects = new List<S3Object> { new() { Key = "exit_code", Size = finish.Length } } });
        var watcher = new JobWatcher(TimeSpan.FromHours(1));
        var job = Job();
        job.LaunchTime = Launch;
        job.State = FemagJobState.Running;

        var first = await watcher.CheckAsync(cache.Get(job), job, Ended("on-demand", "pending", null, null, 10, state: InstanceStateName.Running), CancellationToken.None);
        finish = "3\n";
        var last = await watcher.CheckAsync(cache.Get(job), job, Ended("on-demand", "Client.InstanceInitiatedShutdown", null, null, 10), CancellationToken.None);

        Assert.Equal(JobCheck.Running, first.Check);
        Assert.Equal((JobCheck.Finished, FemagJobState.Failed, (int?)3), (last.Check, job.State, job.ExitCode));
    }

    [Fact]
    public void A_rebuilt_job_gets_the_losses_of_its_earlier_attempts_from_the_buckets_earlier_instances()
    {
        var job = Job();
        var earlierRun = Attempt("i-00000000000000001", 1, -60, "module");
        var first = Attempt("i-00000000000000002", 1, 0);
        var second = Attempt("i-00000000000000003", 2, 5);
        var third = Attempt("i-00000000000000004", 3, 10);

        var losses = InstanceFinder.EarlierLosses(job, new[] { third, earlierRun, second, first }, third);
        var expired = InstanceFinder.EarlierLosses(job, new[] { third, second }, third);

        Assert.Equal(new[] { "attempt 1: Instance i-00000000000000002 ended", "attempt 2: Instance i-00000000000000003 ended" },
            losses.Select(l => l.Substring(0, l.IndexOf(" (", StringComparison.Ordinal))));
        Assert.Equal(new[] { "attempt 2" }, expired.Select(l => l.Substring(0, l.IndexOf(':'))));
        Assert.Empty(InstanceFinder.EarlierLosses(job, new[] { first, earlierRun }, first));
    }

    private static readonly DateTime Launch = new(2026, 11, 24, 8, 0, 0, DateTimeKind.Utc);

    private static FemagConfig Config(params (string Key, string Value)[] settings) =>
        FemagConfig.FromSettings(settings.Select(s => new KeyValuePair<string, string>(s.Key, s.Value)));

    private static readonly string Script = WriteScript();

    [Fact]
    public async Task A_launch_whose_answer_never_came_adopts_the_instance_EC2_started_with_its_token()
    {
        var (cache, ec2, _) = Clients();
        var launched = AttemptInstance("i-0000000000000000c", 3, 0);
        ec2.On("RunInstancesAsync", _ => throw new AmazonEC2Exception("We encountered an internal error.") { ErrorCode = "InternalError", StatusCode = System.Net.HttpStatusCode.InternalServerError })
            .On("DescribeInstancesAsync", _ => new DescribeInstancesResponse { Reservations = new List<Reservation> { new() { Instances = new List<Instance> { launched } } } });
        var job = Job();

        var id = await JobInstances.LaunchAsync(cache.Get(job).Ec2, job, "#!/bin/bash\n", "t2.small", false, Array.Empty<InstanceStatus>(), CancellationToken.None);

        Assert.Equal("i-0000000000000000c", id);
        var token = Assert.Single(ec2.Requests<RunInstancesRequest>()).ClientToken;
        var lookup = Assert.Single(ec2.Requests<DescribeInstancesRequest>());
        Assert.Contains(lookup.Filters, f => f.Name == "tag:femag-aws:launch" && f.Values.Single() == token);
        Assert.Empty(ec2.Requests<TerminateInstancesRequest>());
    }

    [Fact]
    public async Task A_token_an_earlier_run_spent_on_an_ended_instance_or_with_other_parameters_moves_on_to_the_next()
    {
        var (cache, ec2, _) = Clients();
        var tokens = new List<string>();
        ec2.On("RunInstancesAsync", args =>
        {
            tokens.Add(((RunInstancesRequest)args[0]!).ClientToken);
            return tokens.Count switch
            {
                // An earlier run's launch with this token: EC2 returns that instance, launched a day ago and ended since.
                1 => new RunInstancesResponse { Reservation = new Reservation { Instances = new List<Instance> { new() { InstanceId = "i-0000000000000000f", LaunchTime = DateTime.UtcNow.AddDays(-1) } } } },
                2 => throw new AmazonEC2Exception("Arguments on this idempotent request are inconsistent.") { ErrorCode = "IdempotentParameterMismatch", StatusCode = System.Net.HttpStatusCode.BadRequest },
                _ => Launched("i-00000000000000010"),
            };
        }).On("DescribeInstancesAsync", args => new DescribeInstancesResponse
        {
            Reservations = ((DescribeInstancesRequest)args[0]!).InstanceIds?.Count > 0
                ? new List<Reservation> { new() { Instances = new List<Instance> { new() { InstanceId = "i-0000000000000000f", State = new InstanceState { Name = InstanceStateName.Terminated } } } } }
                : new List<Reservation>(),
        });
        var job = Job();

        var id = await JobInstances.LaunchAsync(cache.Get(job).Ec2, job, "#!/bin/bash\n", "t2.small", false, Array.Empty<InstanceStatus>(), CancellationToken.None);

        Assert.Equal("i-00000000000000010", id);
        Assert.Equal(3, tokens.Distinct().Count());
        Assert.Equal(JobInstances.ClientToken("b-0", 1, "t2.small", false, 2), tokens[2]);
    }

    [Fact]
    public async Task A_token_of_an_ended_launch_EC2_still_lists_is_skipped_without_asking_EC2()
    {
        var (cache, ec2, _) = Clients();
        ec2.On("RunInstancesAsync", _ => Launched("i-00000000000000011"));
        var job = Job();
        var earlier = new Instance
        {
            InstanceId = "i-00000000000000012",
            State = new InstanceState { Name = InstanceStateName.Terminated },
            Tags = new List<Tag> { new("femag-aws:bucket", "b-0"), new("femag-aws:launch", JobInstances.ClientToken("b-0", 1, "t2.small", false, 0)) },
        };

        await JobInstances.LaunchAsync(cache.Get(job).Ec2, job, "#!/bin/bash\n", "t2.small", false, new[] { InstanceStatus.From(earlier) }, CancellationToken.None);

        Assert.Equal(JobInstances.ClientToken("b-0", 1, "t2.small", false, 1), Assert.Single(ec2.Requests<RunInstancesRequest>()).ClientToken);
    }

    [Fact]
    public async Task A_clear_refusal_of_a_launch_is_not_looked_up()
    {
        var (cache, ec2, _) = Clients();
        ec2.On("RunInstancesAsync", _ => throw new AmazonEC2Exception("The security group does not exist.") { ErrorCode = "InvalidGroup.NotFound", StatusCode = System.Net.HttpStatusCode.BadRequest });
        var job = Job();

        var error = await Assert.ThrowsAsync<FemagException>(() => JobInstances.LaunchAsync(cache.Get(job).Ec2, job, "#!/bin/bash\n", "t2.small", false, Array.Empty<InstanceStatus>(), CancellationToken.None));

        Assert.Equal("AwsInvalidGroupNotFound", error.ErrorId);
        Assert.Empty(ec2.Requests<DescribeInstancesRequest>());
    }

    [Fact]
    public async Task A_failed_stop_mark_does_not_keep_instances_running_and_is_tried_again_per_instance()
    {
        var (cache, ec2, _) = Clients();
        ec2.On("CreateTagsAsync", args => ((CreateTagsRequest)args[0]!).Resources.Count > 1
                ? throw new AmazonEC2Exception("The instance ID 'i-0000000000000000e' does not exist") { ErrorCode = "InvalidInstanceID.NotFound", StatusCode = System.Net.HttpStatusCode.BadRequest }
                : new CreateTagsResponse())
            .On("TerminateInstancesAsync", _ => new TerminateInstancesResponse());
        var ids = new[] { "i-0000000000000000d", "i-0000000000000000e" };

        await JobInstances.TerminateAsync(cache.Get(Job()).Ec2, ids, CancellationToken.None);

        Assert.Equal(ids, Assert.Single(ec2.Requests<TerminateInstancesRequest>()).InstanceIds);
        Assert.Equal(new[] { "CreateTagsAsync", "TerminateInstancesAsync", "CreateTagsAsync", "CreateTagsAsync" }, ec2.Calls.Select(c => c.Method));
        Assert.Equal(ids, ec2.Requests<CreateTagsRequest>().Skip(1).Select(r => r.Resources.Single()));
    }

    [Fact]
    public async Task Instances_that_cannot_be_marked_at_all_are_terminated_and_named_in_the_error()
    {
        var (cache, ec2, _) = Clients();
        ec2.On("CreateTagsAsync", _ => throw new AmazonEC2Exception("You are not authorized to perform this operation.") { ErrorCode = "UnauthorizedOperation", StatusCode = System.Net.HttpStatusCode.Forbidden })
            .On("TerminateInstancesAsync", _ => new TerminateInstancesResponse());

        var error = await Assert.ThrowsAsync<FemagException>(() => JobInstances.TerminateAsync(cache.Get(Job()).Ec2, new[] { "i-00000000000000013" }, CancellationToken.None));

        Assert.Equal(ErrorIds.StopNotMarked, error.ErrorId);
        Assert.Contains("i-00000000000000013", error.Message);
        Assert.Equal(new[] { "i-00000000000000013" }, Assert.Single(ec2.Requests<TerminateInstancesRequest>()).InstanceIds);
    }

    private static FemagJob Job(params (string Key, string Value)[] settings) =>
        new() { BucketName = "b-0", State = FemagJobState.Queued, Config = Config(settings.Append(("cloud_init", Script)).ToArray()), Region = "eu-central-1" };

    private static string WriteScript()
    {
        // Beside the test assembly, so nothing is left in the temp folder.
        var path = Path.Combine(AppContext.BaseDirectory, "spot-cloud-init.sh");
        File.WriteAllText(path, "#!/bin/bash\n{{ENV}}\n");
        return path;
    }

    private static (AwsClientCache Cache, FakeAws Ec2, FakeAws S3) Clients()
    {
        var (ec2, ec2Fake) = FakeAws.Of<IAmazonEC2>();
        var (s3, s3Fake) = FakeAws.Of<IAmazonS3>();
        ec2Fake.On("DescribeInstancesAsync", _ => new DescribeInstancesResponse { Reservations = new List<Reservation>() }).WithImage();
        s3Fake.On("DeleteObjectAsync", _ => new DeleteObjectResponse())
            .On("ListMultipartUploadsAsync", _ => new ListMultipartUploadsResponse())
            .On("DeleteObjectsAsync", _ => new DeleteObjectsResponse());
        return (new AwsClientCache(new FakeCommandLines(), (target, _) => new AwsClients(target, s3, ec2, "fake", new FakeCommandLines())), ec2Fake, s3Fake);
    }

    private static RunInstancesResponse Launched(string id) =>
        new() { Reservation = new Reservation { Instances = new List<Instance> { new() { InstanceId = id } } } };

    private static InstanceStatus Ended(string lifecycle, string reasonCode, string? stoppedBy, string? maxRuntime, int ranMinutes, string? attempt = null, InstanceStateName? state = null)
    {
        var tags = new List<Tag> { new("femag-aws:bucket", "b-0"), new("femag-aws:lifecycle", lifecycle) };
        if (stoppedBy != null)
        {
            tags.Add(new Tag("femag-aws:stopped-by", stoppedBy));
        }

        if (maxRuntime != null)
        {
            tags.Add(new Tag("femag-aws:max-runtime", maxRuntime));
        }

        if (attempt != null)
        {
            tags.Add(new Tag("femag-aws:attempt", attempt));
        }

        return InstanceStatus.From(new Instance
        {
            InstanceId = "i-0000000000000000a",
            State = new InstanceState { Name = state ?? InstanceStateName.Terminated },
            StateReason = new StateReason { Code = reasonCode, Message = reasonCode },
            StateTransitionReason = $"User initiated ({Launch.AddMinutes(ranMinutes):yyyy-MM-dd HH:mm:ss} GMT)",
            LaunchTime = Launch,
            InstanceLifecycle = lifecycle == "spot" ? InstanceLifecycleType.Spot : null,
            Tags = tags,
        });
    }

    /// <summary>A Spot instance of bucket b-0 with the attempt tag, launched minutes after Launch; attempt 3 runs.</summary>
    private static InstanceStatus Attempt(string id, int attempt, int minutes, string? stoppedBy = null) =>
        InstanceStatus.From(AttemptInstance(id, attempt, minutes, stoppedBy));

    private static Instance AttemptInstance(string id, int attempt, int minutes, string? stoppedBy = null)
    {
        var tags = new List<Tag> { new("femag-aws:bucket", "b-0"), new("femag-aws:lifecycle", "spot"), new("femag-aws:attempt", attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        if (stoppedBy != null)
        {
            tags.Add(new Tag("femag-aws:stopped-by", stoppedBy));
        }

        return new Instance
        {
            InstanceId = id,
            State = new InstanceState { Name = attempt == 3 ? InstanceStateName.Running : InstanceStateName.Terminated },
            StateReason = new StateReason { Code = "Client.UserInitiatedShutdown", Message = "Client.UserInitiatedShutdown" },
            LaunchTime = Launch.AddMinutes(minutes),
            InstanceLifecycle = InstanceLifecycleType.Spot,
            Tags = tags,
        };
    }
}

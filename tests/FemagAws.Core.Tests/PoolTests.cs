using System.Text;
using System.Text.RegularExpressions;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Runners.InstancePerJob;
using FemagAws.Runners.Pool;
using FemagAws.Jobs;

namespace FemagAws.Core.Tests;

/// <summary>The worker pool's rules: ids, messages, the worker's user data, job states, sizing, start, poll, withdrawal.</summary>
public sealed class PoolTests : IDisposable
{
    private static readonly DateTime Now = new(2026, 12, 6, 4, 30, 0, DateTimeKind.Utc);
    private readonly string _dir = Directory.CreateTempSubdirectory("femag-pool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private FemagConfig Config(string script = "#!/bin/bash\n{{ENV}}\necho run\n", params (string Key, string Value)[] settings)
    {
        var path = Path.Combine(_dir, "cloud_init.txt");
        File.WriteAllText(path, script);
        var pairs = new Dictionary<string, string> { ["cloud_init"] = path, ["pool_size"] = "2", ["slots_per_instance"] = "2", ["instance_type"] = "t3.small" };
        foreach (var (key, value) in settings)
        {
            pairs[key] = value;
        }

        return FemagConfig.FromSettings(pairs);
    }

    private static List<FemagJob> Jobs(FemagConfig config, int count) =>
        Enumerable.Range(0, count).Select(i => new FemagJob { Index = i, BucketName = $"00000000-0000-0000-0000-00000000000{i}-{i}", Config = config, State = FemagJobState.Uploaded }).ToList();

    private static string Taken(string instance, int attempt) => $"instance={instance}\nattempt={attempt}\nslot=1\ntime=2026-12-06T04:31:00Z\n";

    private static string Ended(string status, string finish, string why, params string[] lastLines) =>
        $"status={status}\nfinish={finish}\nwhy={why}\ntime=2026-12-06T04:35:00Z\n--- last lines\n" + string.Join("\n", lastLines) + (lastLines.Length > 0 ? "\n" : string.Empty);

    /// <summary>Start-FemagInstance's way through a pool: prepare each job, create the pool, add the jobs, launch.</summary>
    private static async Task<string> StartAsync(WorkerPool pool, IReadOnlyList<FemagJob> jobs, string? owner = null)
    {
        var scripts = jobs.Select(j => WorkerPool.Prepare(j, owner)).ToList();
        var poolId = await pool.CreateAsync(jobs[0].Config, CancellationToken.None);
        for (var i = 0; i < jobs.Count; i++)
        {
            await pool.AddAsync(poolId, jobs[i], scripts[i], CancellationToken.None);
        }

        await pool.LaunchFirstAsync(poolId, jobs[0].Config, jobs.Count, CancellationToken.None);
        return poolId;
    }

    [Fact]
    public void A_pool_id_is_p_the_UTC_time_and_eight_random_hex_digits()
    {
        var first = PoolIds.New(Now, new Random(1));
        var second = PoolIds.New(Now, new Random(2));

        Assert.Matches(new Regex("^p20261206043000-[0-9a-f]{8}$"), first);
        Assert.NotEqual(first, second);
        Assert.True(PoolIds.IsValid(first));
        Assert.False(PoolIds.IsValid("p2026-1a2b3c4d"));
    }

    [Theory]
    [InlineData(2, 2, 5, 5, 0, 2)] // pool_size caps: 5 jobs need 3 instances of 2 slots
    [InlineData(10, 2, 5, 5, 0, 3)] // fewer when fewer are needed: ceil(5 / 2)
    [InlineData(10, 1, 3, 3, 0, 3)]
    [InlineData(2, 2, 4, 1, 1, 1)] // a lost instance is replaced while a job waits
    [InlineData(2, 1, 3, 1, 2, 0)] // never more than pool_size alive
    [InlineData(4, 2, 2, 0, 0, 0)] // nothing waits: the running jobs have their slots
    public void A_pool_launches_what_its_unfinished_jobs_need_up_to_pool_size(int poolSize, int slots, int unfinished, int waiting, int live, int expected) =>
        Assert.Equal(expected, WorkerPool.InstancesToLaunch(poolSize, slots, unfinished, waiting, live));

    [Theory]
    [InlineData("#cloud-config\nruncmd:\n - echo hi\n", "a cloud-init '#cloud-config' file")]
    [InlineData("#include\nhttps://example.com/script.sh\n", "a cloud-init '#include' file")]
    [InlineData("Content-Type: multipart/mixed; boundary=\"x\"\nMIME-Version: 1.0\n", "a MIME multipart archive")]
    [InlineData("#!/usr/bin/python3\nprint('hi')\n", "a script for '/usr/bin/python3'")]
    public void A_pool_refuses_a_cloud_init_that_is_not_a_shell_script(string script, string kind)
    {
        var ex = Assert.Throws<FemagException>(() => PoolScripts.CheckShellScript(Config(script)));

        Assert.Equal("FemagPoolNeedsShellScript", ex.ErrorId);
        Assert.Contains(kind, ex.Message);
        Assert.Contains("pool_size = 0", ex.Message);
    }

    [Theory]
    [InlineData("#!/bin/bash\necho hi\n")]
    [InlineData("#!/bin/sh -e\necho hi\n")]
    [InlineData("#!/usr/bin/env bash\necho hi\n")]
    [InlineData("\uFEFF#!/bin/bash\r\necho hi\r\n")]
    [InlineData("echo no shebang: bash runs it\n")]
    public void A_pool_takes_a_shell_script(string script) => PoolScripts.CheckShellScript(Config(script));

    [Fact]
    public async Task A_cloud_config_is_refused_before_anything_is_created()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));

        await Assert.ThrowsAsync<FemagException>(() => StartAsync(pool, Jobs(Config("#cloud-config\n"), 2)));

        Assert.Empty(fake.Calls);
        Assert.Empty(fake.Launches);
    }

    [Fact]
    public void A_dry_run_is_refused_for_a_pool_before_anything_is_created()
    {
        var ex = Assert.Throws<FemagException>(() => WorkerPool.Prepare(Jobs(Config(settings: ("dry_run", "1")), 1)[0], null));

        Assert.Equal("FemagPoolDryRun", ex.ErrorId);
    }

    [Fact]
    public void A_job_already_in_a_pool_is_not_started_again()
    {
        var job = Jobs(Config(), 1)[0];
        job.PoolId = "p20261206043000-1a2b3c4d";
        job.State = FemagJobState.Running;

        Assert.Equal("FemagJobAlreadyStarted", Assert.Throws<FemagException>(() => WorkerPool.Prepare(job, null)).ErrorId);
    }

    [Theory]
    [InlineData(FemagJobState.Queued)]
    [InlineData(FemagJobState.Running)]
    [InlineData(FemagJobState.TimedOut)]
    public void An_unfinished_pool_job_is_not_started_on_an_instance_of_its_own(FemagJobState state)
    {
        var job = Jobs(Config(settings: ("pool_size", "0")), 1)[0];
        job.PoolId = "p20261206043000-1a2b3c4d";
        job.State = state;

        using var clients = new AwsClientCache(new FakeCommandLines());
        var runner = new InstancePerJobRunner(clients);

        var ex = Assert.Throws<FemagException>(() => runner.Prepare(job, null));

        Assert.Equal("FemagJobAlreadyStarted", ex.ErrorId);
        Assert.Contains("is already in pool p20261206043000-1a2b3c4d", ex.Message);
        job.State = FemagJobState.Failed;
        Assert.Contains("echo run", runner.Prepare(job, null));
    }

    [Fact]
    public void A_message_is_one_line_with_the_job_fields_and_its_rendered_script_in_base64_without_a_watchdog()
    {
        var config = Config(settings: ("max_runtime", "90"));
        var job = Jobs(config, 1)[0];

        var fields = PoolScripts.Message(job, PoolScripts.Script(job, "123456789012")).Split(' ');

        Assert.Equal(new[] { "v1", job.BucketName, "0", "90", "exit_code" }, fields.Take(5));
        Assert.Equal(6, fields.Length);
        var script = Encoding.UTF8.GetString(Convert.FromBase64String(fields[5]));
        Assert.StartsWith("#!/bin/bash\n", script);
        Assert.Contains($"export BUCKET_NAME='{job.BucketName}'\n", script);
        Assert.Contains("export EXPECTED_BUCKET_OWNER='123456789012'\n", script);
        Assert.Contains("export POOL_SIZE='2'\n", script);
        Assert.DoesNotContain("watchdog", script);
        Assert.EndsWith("echo run\n", script);
    }

    [Fact]
    public void A_message_without_max_runtime_says_dash()
    {
        var job = Jobs(Config(), 1)[0];

        Assert.Equal("-", PoolScripts.Message(job, PoolScripts.Script(job, null)).Split(' ')[3]);
    }

    [Fact]
    public void The_worker_user_data_exports_the_pool_settings_after_the_workers_shebang()
    {
        var userData = PoolScripts.WorkerUserData("#!/bin/bash\n# worker\nrun_worker\n", "https://sqs.local/123/femag-aws-pool-p1", "eu-central-1", "p20261206043000-1a2b3c4d", 2, "123456789012");

        Assert.Equal(
            "#!/bin/bash\n" +
            "export QUEUE_URL='https://sqs.local/123/femag-aws-pool-p1'\n" +
            "export AWS_DEFAULT_REGION='eu-central-1'\n" +
            "export POOL_ID='p20261206043000-1a2b3c4d'\n" +
            "export SLOTS='2'\n" +
            "export IDLE_SECONDS='60'\n" +
            "export VISIBILITY_SECONDS='30'\n" +
            "export HEARTBEAT_SECONDS='10'\n" +
            "export EXPECTED_BUCKET_OWNER='123456789012'\n" +
            "# worker\nrun_worker\n",
            userData);
    }

    [Fact]
    public void A_worker_user_data_above_16_KB_is_refused()
    {
        var ex = Assert.Throws<FemagException>(() => PoolScripts.WorkerUserData("#!/bin/bash\n" + new string('#', 16 * 1024), "u", "eu-central-1", "p", 1, null));

        Assert.Equal("FemagUserDataTooLarge", ex.ErrorId);
    }

    [Fact]
    public void The_shipped_worker_fits_into_the_user_data()
    {
        var userData = PoolScripts.WorkerUserData(new string('q', 256), "eu-central-1", "p20261206043000-1a2b3c4d", 4, "123456789012");

        Assert.StartsWith("#!/bin/bash\nexport QUEUE_URL=", userData);
        Assert.True(Encoding.UTF8.GetByteCount(userData) <= 16 * 1024);
    }

    [Fact]
    public void A_job_without_taken_is_queued()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Uploaded, InstanceId = "i-old" };

        PoolJobStates.Apply(job, new JobMarkerTexts(null, null, null, false), _ => null);

        Assert.Equal(FemagJobState.Queued, job.State);
        Assert.Null(job.InstanceId);
        Assert.Contains("p1", job.Reason);
    }

    [Fact]
    public void A_taken_job_runs_on_the_instance_that_took_it_with_its_attempt()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Queued };

        PoolJobStates.Apply(job, new JobMarkerTexts(Taken("i-1", 2), null, null, false), id => new InstanceStatus(id, "running", null));

        Assert.Equal(FemagJobState.Running, job.State);
        Assert.Equal("i-1", job.InstanceId);
        Assert.Equal(2, job.Attempt);
        Assert.Equal(new DateTime(2026, 12, 6, 4, 31, 0, DateTimeKind.Utc), job.LaunchTime);
        Assert.Null(job.Reason);
    }

    [Fact]
    public void An_ended_job_with_its_finish_file_takes_the_exit_code()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Running };

        PoolJobStates.Apply(job, new JobMarkerTexts(null, Ended("0", "yes", "exit"), "0\n", false), _ => null);

        Assert.Equal(FemagJobState.Succeeded, job.State);
        Assert.Equal(0, job.ExitCode);
        Assert.Equal(new DateTime(2026, 12, 6, 4, 35, 0, DateTimeKind.Utc), job.FinishTime);
    }

    [Fact]
    public void A_script_that_ended_without_the_finish_file_fails_at_once_with_its_status_and_last_lines()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Running };

        PoolJobStates.Apply(job, new JobMarkerTexts(null, Ended("3", "no", "exit", "loading model", "error: no such file"), null, false), _ => null);

        Assert.Equal(FemagJobState.Failed, job.State);
        Assert.Null(job.ExitCode);
        Assert.Contains("exit status 3 ", job.Reason);
        Assert.EndsWith("\nloading model\nerror: no such file", job.Reason);
    }

    [Fact]
    public void A_script_that_called_shutdown_before_the_finish_file_fails_saying_so()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Running };

        PoolJobStates.Apply(job, new JobMarkerTexts(null, Ended("KILL", "no", "shutdown"), null, false), _ => null);

        Assert.Equal(FemagJobState.Failed, job.State);
        Assert.Contains("shutdown", job.Reason);
        Assert.Contains("exit_code", job.Reason);
    }

    [Fact]
    public void A_job_its_worker_ended_when_the_heartbeat_failed_fails_naming_SQS_12_hour_limit()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Running };

        PoolJobStates.Apply(job, new JobMarkerTexts(null, Ended("KILL", "no", "heartbeat"), null, false), _ => null);

        Assert.Equal(FemagJobState.Failed, job.State);
        Assert.Contains("12 hours", job.Reason);
    }

    [Fact]
    public void A_job_ended_by_max_runtime_fails_with_a_max_runtime_reason()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Running, Config = FemagConfig.FromSettings(new Dictionary<string, string> { ["max_runtime"] = "2" }) };

        PoolJobStates.Apply(job, new JobMarkerTexts(null, Ended("KILL", "no", "max_runtime", "step 9"), null, false), _ => null);

        Assert.Equal(FemagJobState.Failed, job.State);
        Assert.Contains("max_runtime = 2 ", job.Reason);
        Assert.EndsWith("\nstep 9", job.Reason);
    }

    [Fact]
    public void A_job_whose_instance_ended_is_lost_once_per_attempt_and_waits_for_the_next()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Running };
        var markers = new JobMarkerTexts(Taken("i-1", 1), null, null, false);

        PoolJobStates.Apply(job, markers, id => new InstanceStatus(id, "terminated", "Spot interruption"));
        PoolJobStates.Apply(job, markers, id => new InstanceStatus(id, "terminated", "Spot interruption"));

        Assert.Equal(FemagJobState.Queued, job.State);
        Assert.Null(job.InstanceId);
        Assert.Equal(1, job.Attempt);
        Assert.Equal(new[] { "attempt 1: Instance i-1 of pool p1 ended (terminated: Spot interruption) while it ran the job." }, job.Losses);
        Assert.EndsWith("It waits in the queue for attempt 2 of 3.", job.Reason);
    }

    [Fact]
    public void A_job_whose_instance_is_shutting_down_is_not_lost_yet()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Running };

        PoolJobStates.Apply(job, new JobMarkerTexts(Taken("i-1", 1), null, null, false), id => new InstanceStatus(id, "shutting-down", null));

        Assert.Equal(FemagJobState.Running, job.State);
        Assert.Empty(job.Losses);
    }

    [Fact]
    public void A_job_lost_on_its_last_attempt_fails()
    {
        var job = new FemagJob { PoolId = "p1", State = FemagJobState.Queued, Losses = new List<string> { "attempt 1: gone" } };

        PoolJobStates.Apply(job, new JobMarkerTexts(Taken("i-2", 3), null, null, false), _ => null);

        Assert.Equal(FemagJobState.Failed, job.State);
        Assert.Contains("max_attempts = 3", job.Reason);
        Assert.Contains("i-2", job.Reason);
    }

    [Fact]
    public async Task Starting_a_pool_sends_every_job_and_launches_what_the_jobs_need_up_to_pool_size()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 5);

        var poolId = await StartAsync(pool, jobs, "123456789012");

        Assert.Equal(3, fake.Queues[poolId].MaxAttempts);
        Assert.Equal(5, fake.Queues[poolId].Messages.Count);
        Assert.All(jobs, j => Assert.Equal(poolId, fake.Buckets[j.BucketName].PoolId));
        Assert.All(jobs, j => Assert.Equal((FemagJobState.Queued, poolId), (j.State, j.PoolId)));
        Assert.Equal(new[] { 1, 2 }, fake.Launches.Select(l => l.Ordinal));
        Assert.Contains($"export QUEUE_URL='https://sqs.local/123/femag-aws-pool-{poolId}'\n", fake.Launches[0].UserData);
        Assert.Contains("export SLOTS='2'\n", fake.Launches[0].UserData);
        Assert.Contains("export EXPECTED_BUCKET_OWNER='111122223333'\n", fake.Launches[0].UserData);
        Assert.Equal(new[] { "CreateQueues " + poolId, "Prepare " + jobs[0].BucketName, "Send 1" }, fake.Calls.Take(3));
        Assert.Equal(5, fake.Calls.Count(c => c == "Send 1"));
    }

    [Fact]
    public async Task A_pool_launches_like_a_single_job_Spot_first_then_the_next_option_EC2_has_capacity_for()
    {
        var fake = new FakePool();
        fake.NoCapacity.Add("t3.small spot");
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));

        await StartAsync(pool, Jobs(Config(settings: new[] { ("spot", "1"), ("instance_type", "t3.small,t3.medium") }), 2), null);

        Assert.Equal(("t3.medium", true), (fake.Launches.Single().Type, fake.Launches.Single().Spot));
    }

    [Fact]
    public async Task A_pool_stops_at_a_quota_error_as_a_single_job_does_instead_of_trying_the_next_option()
    {
        var fake = new FakePool();
        fake.LaunchFailures["t3.small"] = new FemagException("AwsVcpuLimitExceeded", FemagErrorKind.LimitsExceeded, "vCPU quota used up.");
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));

        await StartAsync(pool, Jobs(Config(settings: new[] { ("spot", "1"), ("instance_type", "t3.small,t3.medium") }), 2), null);

        Assert.Empty(fake.Launches);
        Assert.Contains("EC2 launched 0 of 1 instance(s): vCPU quota used up.", Assert.Single(pool.Warnings));
    }

    [Fact]
    public async Task The_launch_loop_tries_the_next_option_after_a_capacity_refusal_and_throws_the_last()
    {
        var options = LaunchPolicy.Options(Config(settings: new[] { ("spot", "1"), ("instance_type", "t3.small,t3.medium") }));
        var tried = new List<string>();
        Task<string> Refuse(LaunchOption option)
        {
            tried.Add(option.ToString());
            throw new FemagException("AwsInsufficientInstanceCapacity", FemagErrorKind.LimitsExceeded, "No capacity for " + option + ".");
        }

        var ex = await Assert.ThrowsAsync<FemagException>(() => LaunchPolicy.LaunchFirstAvailableAsync(options, Refuse));

        Assert.Equal(new[] { "t3.small spot", "t3.medium spot", "t3.small on-demand", "t3.medium on-demand" }, tried);
        Assert.Equal("No capacity for t3.medium on-demand.", ex.Message);
        var (result, option) = await LaunchPolicy.LaunchFirstAvailableAsync(options, o => o.Spot ? Refuse(o) : Task.FromResult("i-1"));
        Assert.Equal(("i-1", "t3.small on-demand"), (result, option.ToString()));
    }

    [Fact]
    public async Task A_spent_ordinal_is_stepped_over()
    {
        var fake = new FakePool();
        fake.SpentOrdinals.Add(1);
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));

        await StartAsync(pool, Jobs(Config(), 4), null);

        Assert.Equal(new[] { 2, 3 }, fake.Launches.Select(l => l.Ordinal));
    }

    [Fact]
    public async Task No_capacity_at_all_leaves_the_launches_to_the_next_poll_with_a_warning()
    {
        var fake = new FakePool();
        fake.NoCapacity.Add("t3.small on-demand");
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 2);

        var poolId = await StartAsync(pool, jobs, null);

        Assert.Empty(fake.Launches);
        Assert.Contains("EC2 launched 0 of 1 instance(s)", Assert.Single(pool.Warnings));
        fake.NoCapacity.Clear();
        await pool.PollAsync(poolId, jobs, CancellationToken.None);
        Assert.Single(fake.Launches);
    }

    [Fact]
    public async Task A_poll_replaces_a_lost_instance_while_jobs_wait_and_never_runs_more_than_pool_size()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 4);
        var poolId = await StartAsync(pool, jobs, null);
        var (first, second) = (fake.Launches[0].Id, fake.Launches[1].Id);
        fake.InstanceStates[first] = fake.InstanceStates[second] = "running";
        for (var i = 0; i < 4; i++)
        {
            fake.Bucket(jobs[i].BucketName, poolId, taken: Taken(i < 2 ? first : second, 1));
        }

        await pool.PollAsync(poolId, jobs, CancellationToken.None);
        Assert.Equal(2, fake.Launches.Count);
        Assert.All(jobs, j => Assert.Equal(FemagJobState.Running, j.State));
        Assert.Contains($"Pool {poolId}: 4 message(s) waiting in its queue, 0 taken, 0 in its dead-letter queue; 2 instance(s) alive.", pool.Notes);

        fake.InstanceStates[first] = "terminated";
        await pool.PollAsync(poolId, jobs, CancellationToken.None);

        Assert.Equal(new[] { FemagJobState.Queued, FemagJobState.Queued, FemagJobState.Running, FemagJobState.Running }, jobs.Select(j => j.State));
        Assert.Equal(3, fake.Launches.Last().Ordinal);
        Assert.Equal(2, fake.InstanceStates.Count(s => s.Value != "terminated"));
    }

    [Fact]
    public async Task When_the_last_job_of_the_pool_ends_its_instances_are_terminated_and_its_queues_deleted()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 2);
        var poolId = await StartAsync(pool, jobs, null);
        var instance = fake.Launches.Single().Id;
        fake.InstanceStates[instance] = "running";
        fake.Bucket(jobs[0].BucketName, poolId, ended: Ended("0", "yes", "exit"), finish: "0");
        fake.Bucket(jobs[1].BucketName, poolId, taken: Taken(instance, 1));

        var finished = await pool.PollAsync(poolId, jobs, CancellationToken.None);

        Assert.Equal(new[] { jobs[0] }, finished);
        Assert.Empty(fake.Terminated);
        Assert.True(fake.Queues.ContainsKey(poolId));

        fake.Bucket(jobs[1].BucketName, poolId, ended: Ended("0", "yes", "exit"), finish: "0");
        finished = await pool.PollAsync(poolId, jobs, CancellationToken.None);

        Assert.Equal(new[] { jobs[1] }, finished);
        Assert.Equal(new[] { instance }, fake.Terminated);
        Assert.False(fake.Queues.ContainsKey(poolId));
    }

    [Fact]
    public async Task A_pool_with_an_unfinished_job_outside_the_wait_is_kept()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 2);
        var poolId = await StartAsync(pool, jobs, null);
        fake.Bucket(jobs[0].BucketName, poolId, ended: Ended("0", "yes", "exit"), finish: "0");

        await pool.PollAsync(poolId, jobs.Take(1).ToList(), CancellationToken.None);

        Assert.Empty(fake.Terminated);
        Assert.True(fake.Queues.ContainsKey(poolId));
    }

    [Fact]
    public async Task Withdrawing_every_job_of_a_pool_fails_them_and_removes_the_pool()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 3);
        var poolId = await StartAsync(pool, jobs, null);
        fake.InstanceStates[fake.Launches[0].Id] = "running";

        var withdrawn = await pool.WithdrawAsync(poolId, jobs.Take(2).ToList(), CancellationToken.None);

        Assert.Equal(2, withdrawn.Count);
        Assert.All(withdrawn, j => Assert.Equal(FemagJobState.Failed, j.State));
        Assert.True(fake.Buckets[jobs[0].BucketName].Withdrawn);
        Assert.Empty(fake.Terminated);

        await pool.WithdrawAsync(poolId, jobs.Skip(2).ToList(), CancellationToken.None);

        Assert.Equal(fake.Launches.Select(l => l.Id), fake.Terminated);
        Assert.False(fake.Queues.ContainsKey(poolId));
    }

    [Fact]
    public async Task Withdrawing_a_job_that_ended_since_it_was_read_keeps_its_real_state()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 2);
        var poolId = await StartAsync(pool, jobs, null);
        fake.Bucket(jobs[0].BucketName, poolId, ended: Ended("0", "yes", "exit"), finish: "0");

        var withdrawn = await pool.WithdrawAsync(poolId, jobs, CancellationToken.None);

        Assert.Equal(new[] { jobs[1] }, withdrawn);
        Assert.Equal((FemagJobState.Succeeded, FemagJobState.Failed), (jobs[0].State, jobs[1].State));
        Assert.False(fake.Buckets[jobs[0].BucketName].Withdrawn);
        Assert.True(fake.Buckets[jobs[1].BucketName].Withdrawn);
    }

    [Fact]
    public async Task A_pool_that_cannot_be_checked_is_given_up_as_timed_out_after_five_polls()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 2);
        await StartAsync(pool, jobs);
        var watch = new PoolWatch(jobs, _ => pool);
        fake.ListFailure = new FemagException("AwsThrottling", FemagErrorKind.InvalidOperation, "Slow down.");

        for (var poll = 1; poll < 5; poll++)
        {
            Assert.Empty(await watch.PollAsync(CancellationToken.None));
            Assert.Contains("Slow down. Trying again at the next poll.", Assert.Single(watch.Warnings));
        }

        Assert.Equal(jobs, await watch.PollAsync(CancellationToken.None));
        Assert.All(jobs, j => Assert.Equal(FemagJobState.TimedOut, j.State));
        Assert.Empty(watch.Pending);
    }

    [Fact]
    public async Task A_job_that_ended_leaves_the_wait_with_its_state_though_the_rest_of_the_poll_fails()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 2);
        var poolId = await StartAsync(pool, jobs);
        var watch = new PoolWatch(jobs, _ => pool);
        fake.Bucket(jobs[0].BucketName, poolId, ended: Ended("0", "yes", "exit"), finish: "0");
        fake.CountsFailure = new FemagException("AwsAccessDenied", FemagErrorKind.PermissionDenied, "Not allowed.");

        Assert.Equal(new[] { jobs[0] }, await watch.PollAsync(CancellationToken.None));

        Assert.Equal((FemagJobState.Succeeded, FemagJobState.Queued), (jobs[0].State, jobs[1].State));
        Assert.Contains("Not allowed. Trying again at the next poll.", Assert.Single(watch.Warnings));
        fake.CountsFailure = null;
        fake.Bucket(jobs[1].BucketName, poolId, ended: Ended("0", "yes", "exit"), finish: "0");
        fake.DeleteFailure = new FemagException("AwsThrottling", FemagErrorKind.InvalidOperation, "Slow down.");

        Assert.Equal(new[] { jobs[1] }, await watch.PollAsync(CancellationToken.None));

        Assert.Equal(FemagJobState.Succeeded, jobs[1].State);
        Assert.Contains("Slow down. Its instances and queues may be left", Assert.Single(watch.Warnings));
        Assert.Empty(watch.Pending);
    }

    [Fact]
    public async Task A_pool_given_up_times_out_only_its_unfinished_jobs()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 2);
        await StartAsync(pool, jobs);
        JobStates.FinishWith(jobs[0], "0", Now);
        var watch = new PoolWatch(jobs, _ => pool);
        fake.ListFailure = new FemagException("AwsAccessDenied", FemagErrorKind.PermissionDenied, "Not allowed.");

        Assert.Equal(jobs, await watch.PollAsync(CancellationToken.None));

        Assert.Equal((FemagJobState.Succeeded, FemagJobState.TimedOut), (jobs[0].State, jobs[1].State));
    }

    [Fact]
    public async Task A_job_whose_message_went_to_the_dead_letter_queue_fails_and_no_instance_is_launched_for_it()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var jobs = Jobs(Config(), 2);
        var poolId = await StartAsync(pool, jobs);
        var instance = fake.Launches.Single().Id;
        fake.InstanceStates[instance] = "terminated";
        fake.Bucket(jobs[1].BucketName, poolId, ended: Ended("0", "yes", "exit"), finish: "0");
        fake.Queues[poolId].Messages.Clear();

        // The main queue is empty and so is the dead-letter queue (a moment before redrive): nothing to launch for.
        Assert.Equal(new[] { jobs[1] }, await pool.PollAsync(poolId, jobs, CancellationToken.None));
        Assert.Single(fake.Launches);
        Assert.Equal(FemagJobState.Queued, jobs[0].State);

        fake.DeadLetters[poolId] = 1;
        Assert.Equal(new[] { jobs[0] }, await pool.PollAsync(poolId, jobs, CancellationToken.None));

        Assert.Equal(FemagJobState.Failed, jobs[0].State);
        Assert.Contains("dead-letter queue of pool " + poolId + " after max_attempts = 3 receives", jobs[0].Reason);
        Assert.Single(fake.Launches);
        Assert.False(fake.Queues.ContainsKey(poolId));
    }

    [Fact]
    public async Task A_pool_that_cannot_launch_is_reported_with_how_to_remove_it_and_the_other_pools_still_launch()
    {
        var fake = new FakePool();
        fake.LaunchFailures["t3.bad"] = new FemagException("AwsUnauthorizedOperation", FemagErrorKind.PermissionDenied, "Not allowed to launch t3.bad.");
        using var clients = new AwsClientCache(new FakeCommandLines());
        var runner = new PoolRunner(clients, _ => new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1)));
        var bad = Jobs(Config(settings: ("instance_type", "t3.bad")), 1);
        var good = Jobs(Config(settings: ("slots_per_instance", "1")), 1);
        foreach (var job in bad.Concat(good))
        {
            await runner.StartAsync(job, runner.Prepare(job, null), CancellationToken.None);
        }

        var notes = await runner.EndStartAsync(CancellationToken.None);

        var warning = Assert.Single(notes, n => n.StartsWith("WARNING: ", StringComparison.Ordinal));
        Assert.Contains($"Pool {bad[0].PoolId}: launching its instances failed: Not allowed to launch t3.bad.", warning);
        Assert.EndsWith($"\n  remove pool {bad[0].PoolId} in {bad[0].Region}", warning);
        Assert.Equal(good[0].PoolId, Assert.Single(fake.Launches).PoolId);
    }

    [Fact]
    public async Task A_pool_whose_jobs_are_gone_is_still_found()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1", () => Now, new Random(1));
        var poolId = await StartAsync(pool, Jobs(Config(), 1), null);
        fake.Buckets.Clear();

        var remnant = Assert.Single(await pool.FindAsync(new HashSet<string>(), CancellationToken.None));

        Assert.Equal(poolId, remnant.PoolId);
        Assert.Equal(2, remnant.QueueUrls.Count);
        Assert.Equal(new[] { fake.Launches[0].Id }, remnant.LiveInstances);
        Assert.Empty(await pool.FindAsync(new HashSet<string> { poolId }, CancellationToken.None));
    }
}

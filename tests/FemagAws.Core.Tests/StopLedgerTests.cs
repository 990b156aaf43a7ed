using FemagAws.Aws.Credentials;
using FemagAws.Jobs;

namespace FemagAws.Core.Tests;

/// <summary>What a stopped pipeline's ledger adds up, before the module puts it in words.</summary>
public sealed class StopLedgerTests
{
    private readonly object _first = new();
    private readonly object _last = new();

    [Fact]
    public void Only_the_last_cmdlet_to_leave_gets_the_account_and_the_ledger_starts_empty_again()
    {
        var ledger = Joined();
        ledger.Uploaded(Job(0));

        Assert.Null(ledger.Leave(_first));
        Assert.Single(ledger.Leave(_last)!.Uploaded);
        ledger.Join(_first);
        Assert.Null(ledger.Leave(_first));
    }

    [Fact]
    public void A_job_passed_down_the_pipeline_is_told_once_where_it_got_to()
    {
        var ledger = Joined();
        var job = Job(0);
        ledger.ResultsInBucket(job);
        ledger.Uploaded(job);

        var account = Leave(ledger);

        Assert.Empty(account.Uploaded);
        Assert.Equal(new[] { job }, account.Finished);
        Assert.Equal(new[] { Step(job, GoOnStep.Receive) }, account.GoOn);
        Assert.False(account.CleanUpStopsInstances);
    }

    [Fact]
    public void A_job_whose_instance_runs_on_is_told_with_its_instance_and_cleaning_up_terminates_it()
    {
        var ledger = Joined();
        var running = Job(1, "i-0000000000000000a");
        var uploaded = Job(2);
        var lost = Job(3);
        var finished = Job(0);
        ledger.ResultsInBucket(running);
        ledger.InstanceRunning(running);
        ledger.Uploaded(uploaded);
        ledger.AwaitingRelaunch(lost);
        ledger.ResultsInBucket(finished);

        var account = Leave(ledger);

        var instance = Assert.Single(account.Running);
        Assert.Equal(("i-0000000000000000a", running), (instance.InstanceId, instance.Job));
        Assert.Empty(account.Finished.Where(j => j == running));
        Assert.Equal(new[] { Step(running, GoOnStep.Wait), Step(uploaded, GoOnStep.Start), Step(lost, GoOnStep.Wait), Step(finished, GoOnStep.Receive) }, account.GoOn);
        Assert.Equal(new[] { running, uploaded, lost, finished }, account.CleanUp);
        Assert.True(account.CleanUpStopsInstances);
    }

    [Fact]
    public void An_instance_the_stop_terminated_is_not_running_and_its_bucket_keeps_the_upload()
    {
        var ledger = Joined();
        var job = Job(0, "i-0000000000000000b");
        ledger.InstanceRunning(job);
        ledger.InstanceTerminatedByStop(job);

        var account = Leave(ledger);

        Assert.Empty(account.Running);
        Assert.Equal("i-0000000000000000b", Assert.Single(account.Terminated).InstanceId);
        Assert.Equal(new[] { job }, account.Uploaded);
    }

    [Fact]
    public void Cut_off_folders_and_notes_are_told_even_without_a_job_to_go_on_with()
    {
        var ledger = Joined();
        var cut = Job(1);
        ledger.UploadCutOff(cut);
        ledger.LeftBehind("instance i-0 may run");
        ledger.Received(Job(2));

        var account = Leave(ledger);

        Assert.Equal(new[] { cut }, account.CutOff);
        Assert.Equal(new[] { "instance i-0 may run" }, account.LeftBehind);
        Assert.Empty(account.GoOn);
    }

    [Fact]
    public void Nothing_left_gives_no_account()
    {
        var ledger = Joined();
        ledger.Received(Job(0));

        Assert.Null(ledger.Leave(_first) ?? ledger.Leave(_last));
    }

    [Fact]
    public void Credentials_given_on_the_command_line_are_named_by_where_they_came_from_once()
    {
        var ledger = Joined();
        var given = GivenCredentials.FromKeys("AKIA", "secret", null, "-AccessKey");
        var a = Job(0);
        var b = Job(1);
        a.Credentials = given;
        b.Credentials = given;
        ledger.Uploaded(a);
        ledger.Uploaded(b);
        ledger.Uploaded(Job(2));

        Assert.Equal(new[] { "-AccessKey" }, Leave(ledger).GivenCredentialSources);
    }

    [Fact]
    public void Pool_jobs_are_told_with_their_pool_not_with_the_instance_they_share()
    {
        var ledger = Joined();
        var taken = Job(0, "i-0000000000000000a", "p1");
        var queued = Job(1, null, "p1");
        ledger.InstanceRunning(taken);
        ledger.Uploaded(queued);
        ledger.Pool(new StoppedPool("p1", "femag-aws-pool-p1", true, new[] { "i-0000000000000000a", "i-0000000000000000b" }, new string[0]));
        ledger.Pool(new StoppedPool("p1", "femag-aws-pool-p1", true, new[] { "i-0000000000000000b" }, new[] { "i-0000000000000000a" }));

        var account = Leave(ledger);

        Assert.Empty(account.Running);
        Assert.Empty(account.Uploaded);
        var pool = Assert.Single(account.Pools);
        Assert.Equal(new[] { "i-0000000000000000b" }, pool.Running);
        Assert.Equal(new[] { "i-0000000000000000a" }, pool.Ended);
        Assert.Equal(new[] { taken, queued }, pool.Jobs);
        Assert.Equal(new[] { Step(taken, GoOnStep.Wait), Step(queued, GoOnStep.Wait) }, account.GoOn);
        Assert.True(account.CleanUpStopsInstances);
    }

    [Fact]
    public void A_pool_job_the_stop_withdrew_is_uploaded_only_and_its_removed_pool_needs_no_stop()
    {
        var ledger = Joined();
        var job = Job(0, "i-0000000000000000a", "p1");
        ledger.InstanceRunning(job);
        ledger.InstanceTerminatedByStop(job);
        ledger.Pool(new StoppedPool("p1", "femag-aws-pool-p1", true, new[] { "i-0000000000000000a" }, new string[0]));
        ledger.Pool(new StoppedPool("p1", "femag-aws-pool-p1", false, new string[0], new[] { "i-0000000000000000a" }));

        var account = Leave(ledger);

        Assert.Equal(new[] { job }, account.Uploaded);
        var pool = Assert.Single(account.Pools);
        Assert.False(pool.QueueLeft);
        Assert.Empty(pool.Running);
        Assert.Empty(pool.Jobs);
        Assert.Equal(new[] { Step(job, GoOnStep.Start) }, account.GoOn);
        Assert.False(account.CleanUpStopsInstances);
    }

    [Fact]
    public void A_pool_job_whose_pool_the_stop_could_not_look_at_is_told_with_an_unseen_pool()
    {
        var ledger = Joined();
        var job = Job(0, null, "p1");
        ledger.Uploaded(job);

        var pool = Assert.Single(Leave(ledger).Pools);

        Assert.False(pool.Seen);
        Assert.Equal("femag-aws-pool-p1", pool.QueueName);
        Assert.Equal(new[] { job }, pool.Jobs);
    }

    private StopLedger Joined()
    {
        var ledger = new StopLedger();
        ledger.Join(_first);
        ledger.Join(_last);
        return ledger;
    }

    private StopAccount Leave(StopLedger ledger)
    {
        Assert.Null(ledger.Leave(_first));
        return ledger.Leave(_last)!;
    }

    private static FemagJob Job(int index, string? instanceId = null, string? poolId = null) =>
        new() { Index = index, BucketName = $"b-{index}", InstanceId = instanceId, PoolId = poolId };

    private static KeyValuePair<FemagJob, GoOnStep> Step(FemagJob job, GoOnStep step) => new(job, step);
}

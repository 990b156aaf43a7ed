using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Insight;
using FemagAws.Jobs;
using InstanceStatus = FemagAws.Aws.Ec2.InstanceStatus;
using Tag = Amazon.EC2.Model.Tag;

namespace FemagAws.Core.Tests;

/// <summary>Each job's runs, kept by the transitions of JobStates: a launch or a pool instance taking the job starts one, the attempt's end ends it.</summary>
public sealed class JobRunsTests
{
    private static readonly DateTime Launch = new(2026, 11, 24, 8, 0, 0, DateTimeKind.Utc);

    private static FemagJob Launched(string instanceId = "i-1", int attempt = 1)
    {
        var job = new FemagJob { Attempt = attempt };
        JobStates.Launched(job, instanceId, "c5.large", FemagJob.Spot, attempt, Launch);
        return job;
    }

    [Theory]
    [InlineData("0", JobRunOutcome.Succeeded)]
    [InlineData("1", JobRunOutcome.Failed)]
    [InlineData("oops", JobRunOutcome.Failed)]
    public void A_launch_starts_a_run_that_the_finish_file_ends(string finish, JobRunOutcome outcome)
    {
        var job = Launched();
        var run = Assert.Single(job.Runs);
        Assert.Equal((1, "i-1", "c5.large", FemagJob.Spot, (string?)null, Launch, (DateTime?)null, JobRunOutcome.Running), (run.Attempt, run.InstanceId, run.InstanceType, run.Lifecycle, run.PoolId, run.Start, run.End, run.Outcome));

        JobStates.FinishWith(job, finish, Launch.AddMinutes(5));

        Assert.Equal((outcome, (DateTime?)Launch.AddMinutes(5)), (run.Outcome, run.End));
    }

    [Fact]
    public void A_lost_and_relaunched_job_has_two_runs_the_first_lost()
    {
        var job = Launched();
        JobStates.Lose(job, 1, "Spot interruption.", 3, Launch.AddMinutes(2));
        JobStates.Launched(job, "i-2", "c5.large", FemagJob.OnDemand, job.Attempt, Launch.AddMinutes(3));
        JobStates.FinishWith(job, "0", null);
        JobStates.LeftWait(job, Launch.AddMinutes(9));

        Assert.Equal(new[] { (1, "i-1", JobRunOutcome.Lost, (DateTime?)Launch.AddMinutes(2)), (2, "i-2", JobRunOutcome.Succeeded, (DateTime?)Launch.AddMinutes(9)) },
            job.Runs.Select(r => (r.Attempt, r.InstanceId, r.Outcome, r.End)));
    }

    [Fact]
    public void A_job_lost_on_its_last_attempt_ends_its_run_lost()
    {
        var job = Launched("i-3", 3);
        JobStates.FailOnLastAttempt(job, 3, "Spot interruption.", Launch.AddMinutes(4));

        Assert.Equal((JobRunOutcome.Lost, (DateTime?)Launch.AddMinutes(4)), (job.Runs[0].Outcome, job.Runs[0].End));
    }

    [Fact]
    public void A_stopped_job_ends_its_run_stopped_and_a_timed_out_one_leaves_it_open_until_it_ends()
    {
        var stopped = Launched();
        JobStates.StoppedByUser(stopped, "Stopped.", Launch.AddMinutes(1));
        Assert.Equal((JobRunOutcome.Stopped, (DateTime?)Launch.AddMinutes(1)), (stopped.Runs[0].Outcome, stopped.Runs[0].End));

        var timedOut = Launched();
        JobStates.TimeOut(timedOut, "Still running.");
        JobStates.LeftWait(timedOut, Launch.AddMinutes(2));
        Assert.Equal((JobRunOutcome.TimedOut, (DateTime?)null), (timedOut.Runs[0].Outcome, timedOut.Runs[0].End));

        // The next wait sees it finish: the same run ends.
        JobStates.FinishWith(timedOut, "0", Launch.AddMinutes(8));
        Assert.Equal((JobRunOutcome.Succeeded, (DateTime?)Launch.AddMinutes(8)), (Assert.Single(timedOut.Runs).Outcome, timedOut.Runs[0].End));
    }

    [Fact]
    public void An_instance_stopped_by_the_module_ends_the_run_stopped_and_one_that_ended_by_itself_failed()
    {
        var job = Launched();
        JobStates.EndedWithoutFinish(job, Ended("i-1", 1, 5, stoppedBy: "Stop-FemagInstance"), Launch.AddMinutes(5));
        Assert.Equal(JobRunOutcome.Stopped, job.Runs[0].Outcome);

        job = Launched();
        JobStates.EndedWithoutFinish(job, Ended("i-1", 1, 5), Launch.AddMinutes(5));
        Assert.Equal(JobRunOutcome.Failed, job.Runs[0].Outcome);
    }

    [Fact]
    public void A_pool_instance_taking_a_job_starts_one_run_per_attempt_however_often_a_poll_sees_it()
    {
        var job = new FemagJob { Config = FemagConfig.Defaults };
        JobStates.SentToPool(job, "p1");
        JobStates.TakenInPool(job, "i-1", 1, "c5.large", FemagJob.Spot, Launch);
        JobStates.TakenInPool(job, "i-1", 1, "c5.large", FemagJob.Spot, Launch);
        JobStates.LostInPool(job, 1, "Instance i-1 ended.", Launch.AddMinutes(1));
        JobStates.LostInPool(job, 1, "Instance i-1 ended.", Launch.AddMinutes(2));
        JobStates.RanInPool(job, "i-2", 2, "c5.large", FemagJob.OnDemand, Launch.AddMinutes(3));
        JobStates.FinishWith(job, "0", Launch.AddMinutes(4));

        Assert.Equal(new[] { (1, "i-1", "p1", JobRunOutcome.Lost, (DateTime?)Launch.AddMinutes(1)), (2, "i-2", "p1", JobRunOutcome.Succeeded, (DateTime?)Launch.AddMinutes(4)) },
            job.Runs.Select(r => (r.Attempt, r.InstanceId, r.PoolId!, r.Outcome, r.End)));
    }

    [Fact]
    public void A_new_start_or_a_new_pool_starts_the_runs_afresh()
    {
        var job = Launched();
        JobStates.FinishWith(job, "0", Launch);
        JobStates.StartedByHand(job);
        Assert.Empty(job.Runs);

        job = Launched();
        JobStates.SentToPool(job, "p1");
        Assert.Empty(job.Runs);
    }

    [Fact]
    public void A_rebuilt_job_gets_its_runs_from_the_buckets_launches_the_earlier_ones_lost()
    {
        var job = new FemagJob { BucketName = "b-0" };
        var first = Ended("i-1", 1, 10);
        var second = Ended("i-2", 2, 30, launchedAfter: 11);
        var third = InstanceStatus.From(new Instance
        {
            InstanceId = "i-3", InstanceType = "c5.large", State = new InstanceState { Name = InstanceStateName.Running }, LaunchTime = Launch.AddMinutes(31),
            Tags = new List<Tag> { new("femag-aws:bucket", "b-0"), new("femag-aws:attempt", "3") },
        });

        JobStates.Follow(job, new[] { third, second, first }, third);

        Assert.Equal(new[]
            {
                (1, "i-1", JobRunOutcome.Lost, Launch, (DateTime?)Launch.AddMinutes(10)),
                (2, "i-2", JobRunOutcome.Lost, Launch.AddMinutes(11), (DateTime?)Launch.AddMinutes(41)),
                (3, "i-3", JobRunOutcome.Running, Launch.AddMinutes(31), (DateTime?)null),
            },
            job.Runs.Select(r => (r.Attempt, r.InstanceId, r.Outcome, r.Start, r.End)));
    }

    private static InstanceStatus Ended(string id, int attempt, int minutes, string? stoppedBy = null, int launchedAfter = 0)
    {
        var tags = new List<Tag> { new("femag-aws:bucket", "b-0"), new("femag-aws:attempt", attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        if (stoppedBy != null)
        {
            tags.Add(new Tag("femag-aws:stopped-by", stoppedBy));
        }

        return InstanceStatus.From(new Instance
        {
            InstanceId = id,
            InstanceType = "c5.large",
            State = new InstanceState { Name = InstanceStateName.Terminated },
            StateReason = new StateReason { Code = "Client.UserInitiatedShutdown", Message = "Client.UserInitiatedShutdown" },
            StateTransitionReason = $"User initiated ({Launch.AddMinutes(launchedAfter + minutes):yyyy-MM-dd HH:mm:ss} GMT)",
            LaunchTime = Launch.AddMinutes(launchedAfter),
            Tags = tags,
        });
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FemagAws.Aws.Ec2;
using FemagAws.Insight;
using FemagAws.Runners.InstancePerJob;

namespace FemagAws.Jobs
{
    /// <summary>
    /// The one place a job changes state: each method is one transition and sets, with <see cref="FemagJob.State"/>, the
    /// reason, exit code, instance, attempt, losses and finish time that go with it. Start-FemagInstance, Wait-FemagJob,
    /// Get-FemagJob and Stop-FemagInstance all move jobs through these, so a job reads the same whichever cmdlet judged it.
    /// They also keep the job's <see cref="FemagJob.Runs"/>: a launch or a pool instance taking the job starts a run, and
    /// the transition that ends the attempt ends it with its outcome.
    /// </summary>
    public static class JobStates
    {
        /// <summary>Approved to launch but waiting (max_instances, EC2 capacity, a relaunch): Wait-FemagJob launches it later.</summary>
        public static FemagJob Queue(FemagJob job, string reason)
        {
            job.State = FemagJobState.Queued;
            job.Reason = reason;
            job.InstanceId = null;
            return job;
        }

        /// <summary>Start-FemagInstance starts the job: a new first launch, whatever an earlier run counted.</summary>
        public static void StartedByHand(FemagJob job)
        {
            job.Attempt = 1;
            job.Losses.Clear();
            job.Runs.Clear();
        }

        /// <summary>A new launch begins: nothing of an earlier run describes the job any more, and a launch that fails leaves it never run.</summary>
        public static void Launching(FemagJob job)
        {
            job.InstanceId = null;
            job.LaunchTime = null;
            job.ExitCode = null;
            job.FinishTime = null;
        }

        /// <summary>EC2 launched the job's instance; a first launch counts as attempt 1.</summary>
        public static void Launched(FemagJob job, string instanceId, string instanceType, string lifecycle, int attempt, DateTime launchTime)
        {
            job.InstanceId = instanceId;
            job.InstanceType = instanceType;
            job.Lifecycle = lifecycle;
            job.Attempt = Math.Max(1, attempt);
            job.State = FemagJobState.Running;
            job.Reason = null;
            job.LaunchTime = launchTime;
            job.Runs.Add(new JobRun { Attempt = job.Attempt, InstanceId = instanceId, InstanceType = instanceType, Lifecycle = lifecycle, Start = launchTime, Outcome = JobRunOutcome.Running });
        }

        /// <summary>
        /// Ctrl+C cut the launch off after EC2 had started an instance, which the launch's clean-up terminated: the job
        /// names it, so the stop's account can tell of it, and is otherwise left as it was.
        /// </summary>
        public static void LaunchCutOff(FemagJob job, string terminatedInstanceId) => job.InstanceId = terminatedInstanceId;

        /// <summary>dry_run = 1: EC2 checked the request and permissions and launched nothing; the job stays uploaded.</summary>
        public static void DryRun(FemagJob job)
        {
            job.State = FemagJobState.Uploaded;
            job.Reason = "Dry run: EC2 says the launch would succeed; nothing was launched.";
        }

        /// <summary>
        /// Points the job at one of its bucket's instances: its id, launch, type, lifecycle, attempt and the losses of the
        /// attempts before it, and its runs rebuilt from those launches (the earlier ones lost, the followed one open). The
        /// state is the caller's next transition, as the instance may have ended.
        /// </summary>
        public static void Follow(FemagJob job, IReadOnlyCollection<InstanceStatus> launches, InstanceStatus instance)
        {
            job.InstanceId = instance.InstanceId;
            job.LaunchTime = instance.LaunchTime;
            job.InstanceType = instance.InstanceType;
            job.Lifecycle = instance.Lifecycle;
            job.Attempt = instance.Attempt ?? 1;
            job.Losses = InstanceFinder.EarlierLosses(job, launches, instance);
            job.Runs = InstanceFinder.EarlierLaunches(launches, instance)
                .Select(i => RunOf(i, i.Attempt ?? 1, JobRunOutcome.Lost, i.EndTime))
                .Concat(new[] { RunOf(instance, job.Attempt, JobRunOutcome.Running, null) })
                .ToList();
        }

        private static JobRun RunOf(InstanceStatus instance, int attempt, JobRunOutcome outcome, DateTime? end) => new JobRun
        {
            Attempt = attempt,
            InstanceId = instance.InstanceId,
            InstanceType = instance.InstanceType,
            Lifecycle = instance.Lifecycle,
            Start = instance.LaunchTime ?? default,
            End = end,
            Outcome = outcome,
        };

        /// <summary>The job's instance runs (or is being watched as running) and the finish file has not been seen; <paramref name="reason"/> says more, or null.</summary>
        public static void Running(FemagJob job, string? reason)
        {
            job.State = FemagJobState.Running;
            job.Reason = reason;
        }

        /// <summary>
        /// Lost with launches left, as Get-FemagJob sees it: still Running, since Wait-FemagJob launches it again; the
        /// run on the lost instance ended when the instance did.
        /// </summary>
        public static void AwaitingRelaunch(FemagJob job, string lossReason, DateTime? lostTime)
        {
            Running(job, lossReason + " Wait-FemagJob launches it again.");
            EndRun(job, JobRunOutcome.Lost, lostTime);
        }

        /// <summary>
        /// The finish file holds the exit code: 0 succeeds, any other whole number fails, and anything else fails without
        /// an exit code. <paramref name="finishTime"/> is when it finished, or null when the caller stamps it later.
        /// </summary>
        public static void FinishWith(FemagJob job, string finishText, DateTime? finishTime)
        {
            var trimmed = finishText.Trim();
            if (int.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code))
            {
                job.ExitCode = code;
                job.State = code == 0 ? FemagJobState.Succeeded : FemagJobState.Failed;
                job.Reason = code == 0 ? null : $"FEMAG exited with code {code}; see femag.err and the *.PROT log among the results.";
            }
            else
            {
                job.ExitCode = null;
                job.State = FemagJobState.Failed;
                job.Reason = $"{job.Config.FinishTaskFilename} holds '{(trimmed.Length > 40 ? trimmed.Substring(0, 40) + "…" : trimmed)}', not an exit code.";
            }

            job.FinishTime = finishTime;
            EndRun(job, job.State == FemagJobState.Succeeded ? JobRunOutcome.Succeeded : JobRunOutcome.Failed, finishTime);
        }

        /// <summary>The job failed for <paramref name="reason"/>, such as a launch that failed or checks that failed for good.</summary>
        public static void Fail(FemagJob job, string reason, DateTime? finishTime) => Fail(job, reason, finishTime, JobRunOutcome.Failed);

        /// <summary>Fails the job; its open run, if any, ends with <paramref name="outcome"/>.</summary>
        private static void Fail(FemagJob job, string reason, DateTime? finishTime, JobRunOutcome outcome)
        {
            job.State = FemagJobState.Failed;
            job.Reason = reason;
            job.FinishTime = finishTime;
            EndRun(job, outcome, finishTime);
        }

        /// <summary>
        /// The open run (running, or left when a wait timed out) ends with <paramref name="outcome"/> at
        /// <paramref name="end"/>; null when the caller stamps it later (<see cref="LeftWait"/>).
        /// </summary>
        private static void EndRun(FemagJob job, JobRunOutcome outcome, DateTime? end)
        {
            var run = job.Runs.LastOrDefault();
            if (run != null && (run.Outcome == JobRunOutcome.Running || run.Outcome == JobRunOutcome.TimedOut))
            {
                run.Outcome = outcome;
                run.End = end;
            }
        }

        /// <summary>
        /// Fails a job whose instance ended before the finish file arrived, saying whether Stop-FemagInstance or the
        /// max_runtime watchdog ended it, or else how it ended, and what its console output ended with.
        /// </summary>
        public static void EndedWithoutFinish(FemagJob job, InstanceStatus instance, DateTime? finishTime, IReadOnlyCollection<string>? lastLines = null)
        {
            var reason =
                instance.StoppedBy != null
                    ? $"Stopped by Stop-FemagInstance: instance {instance.InstanceId} ({instance.State}) was ended before {job.Config.FinishTaskFilename} was written; it is not launched again."
                : JobWatcher.ByWatchdog(instance)
                    ? $"Instance {instance.InstanceId} was stopped by the max_runtime watchdog after {instance.MaxRuntime:0.#} minute{(instance.MaxRuntime == 1 ? string.Empty : "s")}, before {job.Config.FinishTaskFilename} was written. Raise max_runtime if the calculation needs longer."
                : JobWatcher.LossReason(job, instance);
            Fail(job, reason + LogLines.ForReason(lastLines), finishTime, instance.StoppedBy != null ? JobRunOutcome.Stopped : JobRunOutcome.Failed);
        }

        /// <summary>
        /// A job lost with launches left: the loss is added to its Losses and it is queued as the next attempt of
        /// <paramref name="maxAttempts"/>. Its run ends Lost at <paramref name="lostTime"/>, when the instance ended.
        /// </summary>
        public static void Lose(FemagJob job, int attempt, string lossReason, int maxAttempts, DateTime? lostTime)
        {
            EndRun(job, JobRunOutcome.Lost, lostTime);
            job.Losses.Add(Loss(attempt, lossReason));
            job.Attempt = attempt + 1;
            Queue(job, $"Relaunching as attempt {job.Attempt} of {maxAttempts}: {lossReason}");
        }

        /// <summary>A job lost on its last allowed launch fails with the reason of every attempt and what the last one's log ended with.</summary>
        public static void FailOnLastAttempt(FemagJob job, int attempt, string lossReason, DateTime? finishTime, IReadOnlyCollection<string>? lastLines = null)
        {
            job.Attempt = attempt;
            job.Losses.Add(Loss(attempt, lossReason));
            Fail(job, $"Lost on all {attempt} launch(es) (max_attempts = {job.Config.MaxAttempts}): {string.Join(" ", job.Losses)}{LogLines.ForReason(lastLines)}", finishTime, JobRunOutcome.Lost);
        }

        /// <summary>Wait-FemagJob stopped waiting for the job; its instance may still run. The reason ends with the last lines of its log, where read.</summary>
        public static void TimeOut(FemagJob job, string reason, IReadOnlyCollection<string>? lastLines = null)
        {
            job.State = FemagJobState.TimedOut;
            job.Reason = reason + LogLines.ForReason(lastLines);
            EndRun(job, JobRunOutcome.TimedOut, null);
        }

        /// <summary>Stop-FemagInstance (or Wait-FemagJob -StopOnCancel) ended the job's instance before it finished.</summary>
        public static void StoppedByUser(FemagJob job, string reason, DateTime? finishTime) => Fail(job, reason, finishTime, JobRunOutcome.Stopped);

        /// <summary>
        /// An instance of the module whose bucket is gone: a job of its own, Running while the instance may still bill
        /// (so Stop-FemagInstance can end it), else Failed when the instance ended.
        /// </summary>
        public static void BucketGone(FemagJob job, IReadOnlyCollection<InstanceStatus> launches, InstanceStatus instance)
        {
            Follow(job, launches, instance);
            job.State = instance.HasEnded ? FemagJobState.Failed : FemagJobState.Running;
            job.FinishTime = instance.HasEnded ? instance.EndTime : null;
            if (instance.HasEnded)
            {
                EndRun(job, JobRunOutcome.Failed, instance.EndTime);
            }

            job.Reason = $"Bucket {instance.BucketName} of instance {instance.InstanceId} ({instance.State}) no longer exists; stop the instance with Stop-FemagInstance.";
        }

        /// <summary>
        /// A job leaves Wait-FemagJob's watch at <paramref name="now"/>: that is its finish time, and its last run's end,
        /// but not for a timed-out job, whose instance may still run.
        /// </summary>
        public static void LeftWait(FemagJob job, DateTime now)
        {
            job.FinishTime = job.State == FemagJobState.TimedOut ? (DateTime?)null : now;
            var run = job.Runs.LastOrDefault();
            if (job.FinishTime != null && run != null && run.End == null && run.Outcome != JobRunOutcome.Running && run.Outcome != JobRunOutcome.TimedOut)
            {
                run.End = now;
            }
        }

        /// <summary>Sent to a pool's queue: nothing of an earlier run describes the job any more; it waits for a slot.</summary>
        public static void SentToPool(FemagJob job, string poolId)
        {
            Launching(job);
            job.PoolId = poolId;
            job.InstanceType = null;
            job.Lifecycle = null;
            job.Attempt = 0;
            job.Losses = new List<string>();
            job.Runs = new List<JobRun>();
            WaitingInPool(job);
        }

        /// <summary>Waiting in its pool's queue for a free slot; a job handed back after a loss keeps saying so.</summary>
        public static void WaitingInPool(FemagJob job) =>
            Queue(job, job.Losses.Count > 0 && job.Reason != null ? job.Reason : $"Waiting in the queue of pool {job.PoolId} for a free slot.");

        /// <summary>
        /// A pool instance took the job from the queue and runs it, as attempt <paramref name="attempt"/> (the message's
        /// receive count). Each poll that sees it says so again; the run starts at the first.
        /// </summary>
        public static void TakenInPool(FemagJob job, string instanceId, int attempt, string? instanceType, string lifecycle, DateTime? takenTime)
        {
            RanInPool(job, instanceId, attempt, instanceType, lifecycle, takenTime);

            job.InstanceId = instanceId;
            job.InstanceType = instanceType;
            job.Lifecycle = lifecycle;
            job.Attempt = attempt;
            job.LaunchTime = takenTime;
            Running(job, null);
        }

        /// <summary>
        /// A pool instance took the job as attempt <paramref name="attempt"/>: its run starts, once per attempt, also when
        /// the poll that first sees the job sees its end too. The state is the caller's next transition.
        /// </summary>
        public static void RanInPool(FemagJob job, string instanceId, int attempt, string? instanceType, string? lifecycle, DateTime? takenTime)
        {
            if (!job.Runs.Any(r => r.Attempt == attempt && r.InstanceId == instanceId))
            {
                // A taken marker without a time (an older worker's): the poll that saw it is the nearest start known.
                job.Runs.Add(new JobRun { Attempt = attempt, InstanceId = instanceId, InstanceType = instanceType, Lifecycle = lifecycle, PoolId = job.PoolId, Start = takenTime ?? DateTime.UtcNow, Outcome = JobRunOutcome.Running });
            }
        }

        /// <summary>
        /// The pool instance running the job ended before the job did: the loss is noted once per attempt and the job
        /// waits in the queue, which hands it out again, or fails when the attempt was the last.
        /// </summary>
        public static void LostInPool(FemagJob job, int attempt, string lossReason, DateTime? finishTime)
        {
            job.Losses.RemoveAll(l => l.StartsWith(Loss(attempt, string.Empty), StringComparison.Ordinal));
            if (job.Runs.LastOrDefault()?.Attempt == attempt)
            {
                EndRun(job, JobRunOutcome.Lost, finishTime);
            }

            if (attempt >= job.Config.MaxAttempts)
            {
                FailOnLastAttempt(job, attempt, lossReason, finishTime);
                return;
            }

            job.Losses.Add(Loss(attempt, lossReason));
            job.Attempt = attempt;
            Queue(job, $"{lossReason} It waits in the queue for attempt {attempt + 1} of {job.Config.MaxAttempts}.");
        }

        /// <summary>
        /// No worker will take the job again: its message went to the pool's dead-letter queue after max_attempts
        /// receives without the job ending (a worker could not read the bucket, or its instance ended before taking it).
        /// </summary>
        public static void DeadLettered(FemagJob job) =>
            Fail(job, $"Its message went to the dead-letter queue of pool {job.PoolId} after max_attempts = {job.Config.MaxAttempts} receives without the job ending; it is not run again.{(job.Losses.Count > 0 ? " " + string.Join(" ", job.Losses) : string.Empty)} Start it again with Start-FemagInstance.", null);

        /// <summary>A finished pool job started again on an instance of its own: it belongs to no pool any more.</summary>
        public static void LeftPool(FemagJob job) => job.PoolId = null;

        /// <summary>Withdrawn from its pool by Stop-FemagInstance: failed, never run again.</summary>
        public static void Withdrawn(FemagJob job, DateTime? finishTime) =>
            StoppedByUser(job, $"Withdrawn by Stop-FemagInstance from pool {job.PoolId}; it is not run again.", finishTime);

        /// <summary>A pool whose jobs are all gone while its instances or queues remain, shown as a job so Stop-FemagInstance can remove it.</summary>
        public static void PoolLeftOver(FemagJob job, string poolId, int liveInstances, int queues)
        {
            job.PoolId = poolId;
            Fail(job, $"Pool {poolId} has no job left, but {liveInstances} instance(s) and {queues} queue(s) of it remain; Stop-FemagInstance removes them.", null);
        }

        /// <summary>One entry of a job's Losses.</summary>
        internal static string Loss(int attempt, string lossReason) => $"attempt {attempt}: {lossReason}";
    }
}

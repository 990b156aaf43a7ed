using System;
using System.Linq;
using FemagAws.Aws.Ec2;
using FemagAws.Jobs;

namespace FemagAws.Runners.Pool
{
    /// <summary>A pool job's state from its markers and the instance that took it (see README, Pools).</summary>
    internal static class PoolJobStates
    {
        /// <summary>
        /// Sets the job's state from what its bucket and EC2 say: Queued without femag-aws/taken, Running while the taking
        /// instance lives, Succeeded or Failed from femag-aws/ended (and the finish file). A taking instance that ended
        /// without femag-aws/ended lost the job: it goes back to Queued (the queue hands it out again) until the attempt
        /// was the last. <paramref name="instanceOf"/> gives an instance's status, or null when EC2 lists it no more.
        /// </summary>
        public static void Apply(FemagJob job, JobMarkerTexts markers, Func<string, InstanceStatus?> instanceOf)
        {
            if (markers.Ended is EndedMarker ended)
            {
                Ended(job, ended, markers.Finish);
                return;
            }

            if (markers.Withdrawn)
            {
                Withdrawn(job);
                return;
            }

            if (!(markers.Taken is TakenMarker taken))
            {
                job.State = FemagJobState.Queued;
                job.InstanceId = null;
                job.Reason = job.Losses.Count > 0 ? job.Reason : $"Waiting in the queue of pool {job.PoolId} for a free slot.";
                return;
            }

            job.Attempt = taken.Attempt;
            var instance = instanceOf(taken.InstanceId);
            if (instance == null || HasGone(instance))
            {
                Lost(job, taken, instance);
                return;
            }

            job.State = FemagJobState.Running;
            job.InstanceId = taken.InstanceId;
            job.InstanceType = instance.InstanceType;
            job.Lifecycle = instance.Lifecycle;
            job.LaunchTime = taken.Time;
            job.Reason = null;
        }

        /// <summary>Marks a job withdrawn by Stop-FemagInstance: failed, never run again.</summary>
        public static void Withdrawn(FemagJob job)
        {
            job.State = FemagJobState.Failed;
            job.Reason = $"Withdrawn by Stop-FemagInstance from pool {job.PoolId}; it is not run again.";
        }

        /// <summary>
        /// True once the instance can write nothing more: terminated or stopped. One shutting down may still be writing
        /// the job's ended marker.
        /// </summary>
        private static bool HasGone(InstanceStatus instance) =>
            instance.HasEnded && instance.State != "shutting-down" && instance.State != "stopping";

        private static void Lost(FemagJob job, TakenMarker taken, InstanceStatus? instance)
        {
            var what = instance == null
                ? $"Instance {taken.InstanceId} of pool {job.PoolId} is gone"
                : $"Instance {taken.InstanceId} of pool {job.PoolId} ended ({instance.State}{(instance.Reason != null ? ": " + instance.Reason : string.Empty)})";
            var reason = what + " while it ran the job.";
            if (taken.Attempt >= job.Config.MaxAttempts)
            {
                if (job.State != FemagJobState.Failed)
                {
                    job.Losses.RemoveAll(l => l.StartsWith(JobLauncher.Loss(taken.Attempt, string.Empty), StringComparison.Ordinal));
                    JobLauncher.FailOnLastAttempt(job, taken.Attempt, reason);
                }

                job.InstanceId = taken.InstanceId;
                return;
            }

            // Once per attempt: each poll sees the same taken marker until another instance takes the job.
            if (!job.Losses.Any(l => l.StartsWith(JobLauncher.Loss(taken.Attempt, string.Empty), StringComparison.Ordinal)))
            {
                job.Losses.Add(JobLauncher.Loss(taken.Attempt, reason));
            }

            job.State = FemagJobState.Queued;
            job.InstanceId = null;
            job.Reason = $"{reason} It waits in the queue for attempt {taken.Attempt + 1} of {job.Config.MaxAttempts}.";
        }

        private static void Ended(FemagJob job, EndedMarker ended, string? finish)
        {
            job.FinishTime = ended.Time;
            var lastLines = ended.LastLines.Length > 0 ? " Last lines of its output:\n" + ended.LastLines : " It wrote no output.";
            switch (ended.Why)
            {
                case "withdrawn":
                    Withdrawn(job);
                    return;
                case "max_runtime":
                    job.State = FemagJobState.Failed;
                    job.ExitCode = null;
                    job.Reason = $"Ran longer than max_runtime = {job.Config.MaxRuntime:0.#} minutes and was ended (status {ended.Status}). Raise max_runtime if the calculation needs longer.{lastLines}";
                    return;
            }

            if (ended.Finish && finish != null)
            {
                JobWatcher.RecordExitCode(job, finish);
                return;
            }

            // A script that ended without the finish file would fail again: the job fails now, with its own words.
            job.State = FemagJobState.Failed;
            job.ExitCode = null;
            var how = ended.Why == "shutdown" ? $"called shutdown (exit status {ended.Status})" : $"ended with exit status {ended.Status}";
            job.Reason = $"The job's script {how} without writing {job.Config.FinishTaskFilename}; it is not run again.{lastLines}";
        }
    }
}

using System;
using System.Linq;
using FemagAws.Aws.Ec2;
using FemagAws.Insight;
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
                if (markers.Taken is TakenMarker ran)
                {
                    var on = instanceOf(ran.InstanceId);
                    JobStates.RanInPool(job, ran.InstanceId, ran.Attempt, on?.InstanceType, on?.Lifecycle, ran.Time);
                }

                Ended(job, ended, markers.Finish);
            }
            else if (markers.Withdrawn)
            {
                JobStates.Withdrawn(job, null);
            }
            else if (!(markers.Taken is TakenMarker taken))
            {
                JobStates.WaitingInPool(job);
            }
            else if (instanceOf(taken.InstanceId) is InstanceStatus instance && !HasGone(instance))
            {
                JobStates.TakenInPool(job, taken.InstanceId, taken.Attempt, instance.InstanceType, instance.Lifecycle, taken.Time);
            }
            else
            {
                var gone = instanceOf(taken.InstanceId);
                var what = gone == null
                    ? $"Instance {taken.InstanceId} of pool {job.PoolId} is gone"
                    : $"Instance {taken.InstanceId} of pool {job.PoolId} ended ({gone.State}{(gone.Reason != null ? ": " + gone.Reason : string.Empty)})";
                JobStates.LostInPool(job, taken.Attempt, what + " while it ran the job.", gone?.EndTime);
            }
        }

        /// <summary>
        /// True once the instance can write nothing more: terminated or stopped. One shutting down may still be writing
        /// the job's ended marker.
        /// </summary>
        private static bool HasGone(InstanceStatus instance) =>
            instance.HasEnded && instance.State != "shutting-down" && instance.State != "stopping";

        private static void Ended(FemagJob job, EndedMarker ended, string? finish)
        {
            var lastLines = ended.LastLines.Length > 0 ? LogLines.ReasonLead + ended.LastLines : " It wrote no output.";
            if (ended.Why == "withdrawn")
            {
                JobStates.Withdrawn(job, ended.Time);
            }
            else if (ended.Why == "max_runtime")
            {
                JobStates.Fail(job, $"Ran longer than max_runtime = {job.Config.MaxRuntime:0.#} minutes and was ended (status {ended.Status}). Raise max_runtime if the calculation needs longer.{lastLines}", ended.Time);
            }
            else if (ended.Finish && finish != null)
            {
                JobStates.FinishWith(job, finish, ended.Time);
            }
            else
            {
                // A script that ended without the finish file would fail again: the job fails now, with its own words.
                var how = ended.Why == "shutdown" ? $"called shutdown (exit status {ended.Status})"
                    : ended.Why == "heartbeat" ? $"was ended by its worker (status {ended.Status}), which could no longer keep the job's queue message hidden (SQS allows at most 12 hours from its receipt; run longer jobs with pool_size = 0),"
                    : $"ended with exit status {ended.Status}";
                JobStates.Fail(job, $"The job's script {how} without writing {job.Config.FinishTaskFilename}; it is not run again.{lastLines}", ended.Time);
            }
        }
    }
}

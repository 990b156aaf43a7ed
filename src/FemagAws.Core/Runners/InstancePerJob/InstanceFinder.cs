using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Aws.S3;
using FemagAws.Jobs;

namespace FemagAws.Runners.InstancePerJob
{
    /// <summary>
    /// Get-FemagJob's work for jobs on instances of their own: their state rebuilt from what is in the account alone, the
    /// module's tagged instances and the buckets, so a new session can stop, wait for or receive jobs another session started.
    /// </summary>
    public static class InstanceFinder
    {
        /// <summary>
        /// One DescribeInstances per 1,000 of the module's instances and one more S3 request per bucket without a running
        /// instance (its finish file); the buckets are looked up many at a time. With <paramref name="bucketsOnly"/>, an
        /// instance whose bucket is gone gives no job (Get-FemagBucket lists buckets).
        /// </summary>
        internal static async Task<List<FemagJob>> SettleAsync(AwsClientCache cache, AwsTarget target, FemagConfig config, IReadOnlyList<FemagJob> listed, bool bucketsOnly, CancellationToken ct)
        {
            var clients = cache.Get(target);
            var instances = (await JobInstances.ListTaggedAsync(clients.Ec2, ct).ConfigureAwait(false))
                .GroupBy(i => i.BucketName!)
                .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var jobs = listed.ToList();
            var unsettled = new List<KeyValuePair<FemagJob, InstanceStatus?>>();
            foreach (var job in jobs)
            {
                InstanceStatus? instance = null;
                if (instances.TryGetValue(job.BucketName, out var launches))
                {
                    instance = Current(launches);
                    JobStates.Follow(job, launches, instance);
                }

                if (instance != null && !instance.HasEnded)
                {
                    JobStates.Running(job, null);
                }
                else
                {
                    unsettled.Add(new KeyValuePair<FemagJob, InstanceStatus?>(job, instance));
                }
            }

            var finishes = await WorkQueue.MapAsync(unsettled, BucketFinder.LookupsInFlight, (pair, token) => TryReadFinishAsync(clients, pair.Key, pair.Value, token), ct).ConfigureAwait(false);
            for (var i = 0; i < unsettled.Count; i++)
            {
                var job = unsettled[i].Key;
                var instance = unsettled[i].Value;
                if (finishes[i].Gone)
                {
                    jobs.Remove(job);
                }
                else if (finishes[i].Finish is { } finish)
                {
                    // Without the object's time, it finished when its instance ended.
                    JobStates.FinishWith(job, finish.Text, finish.LastModified ?? instance?.EndTime);
                }
                else if (instance != null && JobWatcher.IsLoss(instance))
                {
                    var lossReason = JobWatcher.LossReason(job, instance);
                    if (job.Attempt < job.Config.MaxAttempts)
                    {
                        JobStates.AwaitingRelaunch(job, lossReason, instance.EndTime);
                    }
                    else
                    {
                        JobStates.FailOnLastAttempt(job, job.Attempt, lossReason, instance.EndTime, finishes[i].LastLines);
                    }
                }
                else if (instance != null)
                {
                    // Ended without the finish file: it finished when its instance ended.
                    JobStates.EndedWithoutFinish(job, instance, instance.EndTime, finishes[i].LastLines);
                }
            }

            // An instance whose bucket is gone may still run and bill: it gets a job, so Stop-FemagInstance can end it.
            var buckets = new HashSet<string>(jobs.Select(j => j.BucketName), StringComparer.Ordinal);
            foreach (var launches in instances.Where(pair => !bucketsOnly && !buckets.Contains(pair.Key)).Select(pair => pair.Value).OrderBy(l => Current(l).LaunchTime))
            {
                var instance = Current(launches);
                if (instance.State == "terminated" || instance.State == "shutting-down")
                {
                    continue;
                }

                var job = target.NewJob(instance.Index ?? BucketNames.IndexOf(instance.BucketName!) ?? 0, instance.BucketName!, config);
                JobStates.BucketGone(job, launches, instance);
                jobs.Add(job);
            }

            return jobs;
        }

        /// <summary>
        /// The job's finish file and when it was written, null without one; Gone when the bucket was removed since the listing, which makes the
        /// job one without a bucket, as if the listing had come a moment later.
        /// </summary>
        /// <summary>
        /// The job's finish file, and for a job that ends without one here (its instance ended, and it is not awaiting a
        /// relaunch) the last lines of its console output, for its reason: read together, so many jobs read at once.
        /// </summary>
        private static async Task<(bool Gone, (string Text, DateTime? LastModified)? Finish, IReadOnlyList<string>? LastLines)> TryReadFinishAsync(
            AwsClients clients, FemagJob job, InstanceStatus? instance, CancellationToken ct)
        {
            (string Text, DateTime? LastModified)? finish;
            try
            {
                finish = await JobBuckets.TryReadStampedTextAsync(clients.S3, job.BucketName, job.Config.FinishTaskFilename, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (JobBuckets.IsGone(ex))
            {
                return (true, null, null);
            }

            var endsWithoutFinish = finish == null && instance != null && (!JobWatcher.IsLoss(instance) || job.Attempt >= job.Config.MaxAttempts);
            return (false, finish, endsWithoutFinish ? await ConsoleOutputs.TryLastLinesAsync(clients.Ec2, instance!.InstanceId, ct).ConfigureAwait(false) : null);
        }

        /// <summary>A bucket's current instance: a live one, else the one launched last (a bucket can be run again).</summary>
        private static InstanceStatus Current(IEnumerable<InstanceStatus> instances) =>
            instances.OrderBy(i => i.HasEnded).ThenByDescending(i => i.LaunchTime).First();

        /// <summary>
        /// The losses of the attempts before the current one, from the bucket's earlier instances: for each attempt below
        /// the current instance's, the last instance launched with that attempt tag before the next attempt's. EC2 lists
        /// a terminated instance for about an hour, so older attempts are not found and the history starts later.
        /// </summary>
        internal static List<string> EarlierLosses(FemagJob job, IReadOnlyCollection<InstanceStatus> launches, InstanceStatus current) =>
            EarlierLaunches(launches, current).Where(JobWatcher.IsLoss).Select(i => JobStates.Loss(i.Attempt ?? 1, JobWatcher.LossReason(job, i))).ToList();

        /// <summary>
        /// The launches of the attempts before <paramref name="current"/>, oldest first: for each earlier attempt, its
        /// latest launch before the next attempt's.
        /// </summary>
        internal static List<InstanceStatus> EarlierLaunches(IReadOnlyCollection<InstanceStatus> launches, InstanceStatus current)
        {
            var earlierLaunches = new List<InstanceStatus>();
            var next = current;
            for (var attempt = (current.Attempt ?? 1) - 1; attempt >= 1; attempt--)
            {
                var earlier = launches
                    .Where(i => i.Attempt == attempt && !ReferenceEquals(i, next) && i.LaunchTime <= next.LaunchTime)
                    .OrderByDescending(i => i.LaunchTime)
                    .FirstOrDefault();
                if (earlier == null)
                {
                    break;
                }

                earlierLaunches.Insert(0, earlier);
                next = earlier;
            }

            return earlierLaunches;
        }
    }
}

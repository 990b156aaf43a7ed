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
    /// Launches Wait-FemagJob's queued jobs: those held back by max_instances or EC2 capacity, and lost jobs relaunched
    /// (<see cref="RelaunchAsync"/>). Each launch tries the config's options in order (Spot, then On-Demand; each
    /// instance_type) through <see cref="InstanceStarter"/>.
    /// </summary>
    public sealed class JobLauncher
    {
        private readonly AwsClientCache _clients;
        private readonly HashSet<FemagJob> _warned = new HashSet<FemagJob>();

        private readonly LaunchPolicy _policy = new LaunchPolicy();

        // Lost jobs are relaunched from the watcher's parallel checks.
        private int _relaunched;

        public JobLauncher(AwsClientCache clients, List<string> warnings, List<string> notes)
        {
            _clients = clients;
            Warnings = warnings;
            Notes = notes;
        }

        /// <summary>Problems met that did not end a job, for the cmdlet to show as warnings.</summary>
        public List<string> Warnings { get; }

        /// <summary>What happened that the cmdlet shows with -Verbose.</summary>
        public List<string> Notes { get; }

        /// <summary>How many launches asked for Spot and went On-Demand, because EC2 had no Spot capacity.</summary>
        public int FellBack { get; private set; }

        /// <summary>How many times a lost job was queued to be launched again.</summary>
        public int Relaunched => _relaunched;

        /// <summary>
        /// Launches queued jobs, in index order, while fewer than their max_instances of the jobs run. After EC2 turned
        /// one away for capacity, they are tried again only once <paramref name="capacityFreed"/> (another job finished),
        /// or after a growing pause. Returns the jobs whose launch failed for good.
        /// </summary>
        public async Task<List<FemagJob>> LaunchQueuedAsync(IEnumerable<FemagJob> queued, int running, bool capacityFreed, CancellationToken ct)
        {
            var failed = new List<FemagJob>();
            var now = DateTime.UtcNow;
            if (capacityFreed)
            {
                _policy.CapacityFreed();
            }

            foreach (var job in queued.OrderBy(j => j.Index).ToList())
            {
                if (_policy.HoldReason(job, running, now) != null)
                {
                    continue;
                }

                try
                {
                    var clients = _clients.Get(job);
                    var userData = InstanceStarter.PrepareUserData(job, await clients.ExpectedBucketOwnerAsync(ct).ConfigureAwait(false));
                    await InstanceStarter.StartAsync(clients, job, userData, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    // StartAsync fails the job itself with the cause alone, without its advice to start the job again by hand.
                    if (job.State != FemagJobState.Failed)
                    {
                        JobStates.Fail(job, ex.Message, null);
                    }

                    Warnings.Add($"Job {job.Index} could not be launched: {job.Reason}");
                    failed.Add(job);
                    continue;
                }

                if (job.InstanceId != null)
                {
                    running++;
                    _policy.Launched();
                    FellBack += InstanceStarter.FellBackToOnDemand(job) ? 1 : 0;
                    Notes.Add($"Job {job.Index}: queued job launched as instance {job.InstanceId} ({job.InstanceType}, {job.Lifecycle}, attempt {job.Attempt}).");
                }
                else if (job.State == FemagJobState.Queued)
                {
                    _policy.TurnedAway(now);
                    if (_warned.Add(job))
                    {
                        Warnings.Add($"Job {job.Index}: {job.Reason} It is tried again as jobs finish and every few minutes; -Timeout ends the wait.");
                    }

                    Notes.Add($"Job {job.Index}: {job.Reason}");
                }
                else
                {
                    // dry_run: EC2 checked the launch and started nothing; the job has nothing more to wait for.
                    failed.Add(job);
                }
            }

            return failed;
        }

        /// <summary>
        /// A lost job: while it has launches left (max_attempts in all, counted from the instance's attempt tag, so jobs
        /// from any session count alike), its bucket is cleared back to the input archive and the job queued for the next
        /// launch; returns true. A job another session has already relaunched follows that instance; returns true.
        /// Otherwise the job fails with the reason of every attempt; returns false.
        /// </summary>
        public async Task<bool> RelaunchAsync(FemagJob job, InstanceStatus instance, string lossReason, CancellationToken ct)
        {
            var clients = _clients.Get(job);

            // A job read back from an older save may have been relaunched by another session since: it follows that
            // session's newer instance, whose bucket must not be cleared under it, rather than launching one more.
            var launches = await JobInstances.ForBucketAsync(clients.Ec2, job.BucketName, ct).ConfigureAwait(false);
            var since = instance.LaunchTime ?? job.LaunchTime;
            var newer = launches.Where(i => i.LaunchTime > since).OrderByDescending(i => i.LaunchTime).FirstOrDefault();
            if (newer != null)
            {
                JobStates.Follow(job, launches, newer);
                JobStates.Running(job, null);
                lock (Notes)
                {
                    Notes.Add($"Job {job.Index}: instance {instance.InstanceId} was already replaced by {newer.InstanceId} (attempt {job.Attempt}); following that one.");
                }

                return true;
            }

            var attempt = Math.Max(Math.Max(job.Attempt, instance.Attempt ?? 1), 1);
            var max = job.Config.MaxAttempts;
            if (attempt >= max)
            {
                JobStates.FailOnLastAttempt(job, attempt, lossReason, instance.EndTime, await ConsoleOutputs.TryLastLinesAsync(clients.Ec2, instance.InstanceId, ct).ConfigureAwait(false));
                return false;
            }

            // An instance EC2 stopped (not terminated) keeps its volume, billing, and could be started again beside the
            // next attempt: it goes first, marked, so no session takes it for the job's instance any more.
            if (instance.State == "stopped")
            {
                await JobInstances.TerminateAsync(clients.Ec2, new[] { instance.InstanceId }, ct).ConfigureAwait(false);
            }

            // A partial result of the lost instance must not look like the next one's, nor its exit_code (none here) stay.
            await JobBuckets.ClearExceptAsync(clients.S3, job.BucketName, job.ArchiveKey, ct).ConfigureAwait(false);
            JobStates.Lose(job, attempt, lossReason, max, instance.EndTime);
            Interlocked.Increment(ref _relaunched);
            lock (Notes)
            {
                Notes.Add($"Job {job.Index}: {job.Reason}");
            }

            return true;
        }

    }
}

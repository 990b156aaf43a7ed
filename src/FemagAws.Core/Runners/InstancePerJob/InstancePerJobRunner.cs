using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Insight;
using FemagAws.CloudInit;
using FemagAws.Jobs;

namespace FemagAws.Runners.InstancePerJob
{
    /// <summary>
    /// Runs each job on an EC2 instance of its own, as femagtools does: the instance's user data is the job's rendered
    /// cloud-init script, the job is done when its finish file is in the bucket and the results have stopped arriving,
    /// and a lost instance is relaunched up to max_attempts.
    /// </summary>
    public sealed class InstancePerJobRunner : IJobRunner
    {
        private readonly AwsClientCache _clients;
        private readonly LaunchPolicy _policy = new LaunchPolicy();
        private readonly object _lock = new object();

        // Jobs of this call let through by the launch policy whose launch runs or has given them an instance.
        private int _running;

        public InstancePerJobRunner(AwsClientCache clients)
        {
            _clients = clients;
        }

        public bool Claims(FemagJob job) => job.PoolId == null;

        public async Task<IReadOnlyList<FemagJob>> EndAfterStopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            var launched = jobs.Where(j => j.InstanceId != null).ToList();
            if (launched.Count > 0)
            {
                await InstanceStopper.TerminateAsync(_clients.Get(target), launched.Select(j => j.InstanceId!).ToList(), ct).ConfigureAwait(false);
            }

            return launched;
        }

        /// <summary>Each job's own instance is all it runs on, and the cmdlets enter it with the job.</summary>
        public Task EnterStopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, StopLedger ledger, CancellationToken ct) => Task.CompletedTask;

        public string Prepare(FemagJob job, string? expectedBucketOwner) => InstanceStarter.PrepareUserData(job, expectedBucketOwner);

        public bool EndsItself(string cloudInit) => UserData.EndsItself(cloudInit);

        public (string Target, string Action) Describe(FemagJob job, AwsTarget target) =>
            ($"bucket {job.BucketName}: {job.Config.InstanceType} instance of {job.Config.ImageId} in {target}", "Launch EC2 instance");

        /// <summary>A job let through counts as running from then on, so the next job's answer already knows of it.</summary>
        public string? HoldReason(FemagJob job)
        {
            lock (_lock)
            {
                var reason = _policy.HoldReason(job, _running, DateTime.UtcNow);
                if (reason == null)
                {
                    _running++;
                    return null;
                }

                return reason + (reason.StartsWith(LaunchPolicy.CapacityReason, StringComparison.Ordinal)
                    ? " Wait-FemagJob launches it when capacity frees."
                    : " Wait-FemagJob launches it as others finish.");
            }
        }

        public async Task<FemagJob> StartAsync(FemagJob job, string cloudInit, CancellationToken ct)
        {
            var launched = false;
            try
            {
                // A job once sent to a pool and now started on an instance of its own is no pool's any more.
                job.PoolId = null;
                await InstanceStarter.StartAsync(_clients.Get(job), job, cloudInit, ct).ConfigureAwait(false);
                launched = job.InstanceId != null;
                return job;
            }
            finally
            {
                lock (_lock)
                {
                    if (launched)
                    {
                        _policy.Launched();
                    }
                    else
                    {
                        _running--;
                        if (job.State == FemagJobState.Queued)
                        {
                            _policy.TurnedAway(DateTime.UtcNow);
                        }
                    }
                }
            }
        }

        public Task<IReadOnlyList<string>> EndStartAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<string>>(Array.Empty<string>());

        public IJobWatch Watch(IReadOnlyCollection<FemagJob> jobs, WatchOptions options) => new InstanceWatch(jobs, _clients, options);

        public (string Target, string Action)? DescribeStop(FemagJob job) =>
            job.InstanceId == null ? ((string, string)?)null : ($"instance {job.InstanceId} of job {job.Index} (bucket {job.BucketName})", "Terminate instance");

        /// <summary>One DescribeInstances (each instance must carry the job's bucket tag) and one TerminateInstances per 1,000 jobs.</summary>
        public async Task<IReadOnlyList<JobStop>> StopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            var buckets = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var job in jobs)
            {
                buckets[job.InstanceId!] = job.BucketName;
            }

            var stops = await InstanceStopper.StopAsync(_clients.Get(target), buckets.Keys.ToList(), buckets, ct).ConfigureAwait(false);
            return jobs.Select(job => Outcome(job, stops[job.InstanceId!])).ToList();
        }

        /// <summary>
        /// What the stop of an instance means for its job: a Running or TimedOut job whose instance was terminated, or had
        /// ended and is now marked as stopped, becomes Failed.
        /// </summary>
        public static JobStop Outcome(FemagJob job, InstanceStop stop)
        {
            var outcome = new JobStop(job) { Refusal = stop.Refusal };
            if (stop.Refusal != null)
            {
                return outcome;
            }

            if (stop.MarkFailure != null)
            {
                outcome.Warning = $"Instance {stop.InstanceId} had already ended ({stop.State}) and could not be marked as stopped ({stop.MarkFailure}). " +
                                  "If its job had not finished, a later Wait-FemagJob may launch it again; Remove-FemagBucket removes the job for good.";
            }
            else
            {
                outcome.Note = stop.Terminated ? $"Terminated instance {stop.InstanceId} (was {stop.State})."
                    : stop.MarkedStopped ? $"Instance {stop.InstanceId} is already {stop.State}; marked as stopped, so its job is not launched again."
                    : $"Instance {stop.InstanceId} is already {stop.State}; nothing to stop.";
            }

            if ((stop.Terminated || stop.MarkedStopped) && (job.State == FemagJobState.Running || job.State == FemagJobState.TimedOut))
            {
                JobStates.StoppedByUser(job, stop.Terminated
                    ? $"Stopped by Stop-FemagInstance before it finished; instance {job.InstanceId} was terminated."
                    : $"Stopped by Stop-FemagInstance after instance {job.InstanceId} had ended ({stop.State}) without finishing; it is not launched again.", DateTime.UtcNow);
            }

            return outcome;
        }

        public async Task<IReadOnlyList<InstanceStatus>> BilledInstancesAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            // Every attempt's instance, as the job's runs name them (a job saved before runs were kept names its last).
            var ids = jobs.SelectMany(j => j.Runs.Select(r => r.InstanceId).Concat(new[] { j.InstanceId ?? string.Empty })).Where(id => id.Length > 0).Distinct().ToList();
            return ids.Count == 0 ? new List<InstanceStatus>() : (await JobInstances.DescribeAsync(_clients.Get(target).Ec2, ids, ct).ConfigureAwait(false)).Values.ToList();
        }

        public Task<List<FemagJob>> FindAsync(AwsTarget target, FemagConfig config, IReadOnlyList<FemagJob> listed, bool bucketsOnly, CancellationToken ct) =>
            InstanceFinder.SettleAsync(_clients, target, config, listed, bucketsOnly, ct);

        /// <summary>
        /// The console output of the job's current instance (a relaunch's, where there is one), else of the instance the
        /// job names. The job has ended once Get-FemagJob would say so: its instance has ended.
        /// </summary>
        public async Task<JobLogSnapshot> ReadLogAsync(FemagJob job, CancellationToken ct)
        {
            var target = AwsTarget.Of(job);
            var settled = (await InstanceFinder.SettleAsync(_clients, target, job.Config, new[] { target.NewJob(job.Index, job.BucketName, job.Config) }, true, ct).ConfigureAwait(false)).FirstOrDefault();

            // Without its bucket the job is over; its instance's output may still be there.
            var state = settled?.State ?? FemagJobState.Failed;
            var instanceId = settled?.InstanceId ?? job.InstanceId;
            if (instanceId == null)
            {
                return new JobLogSnapshot(state, false, null, null);
            }

            // A job lost with launches left stays Running until Wait-FemagJob relaunches it; its lost instance writes no more.
            var lost = settled?.Runs.LastOrDefault()?.Outcome == JobRunOutcome.Lost;
            var text = await ConsoleOutputs.ReadAsync(_clients.Get(target).Ec2, instanceId, ct).ConfigureAwait(false);
            var ended = state == FemagJobState.Succeeded || state == FemagJobState.Failed || lost;
            return text == null || (text.Length == 0 && ended)
                ? new JobLogSnapshot(state, true, null, $"EC2 no longer has the console output of instance {instanceId} ({(text == null ? "EC2 no longer knows the instance" : "it is empty since the instance ended")}); EC2 keeps it only for a while after an instance ended. Its results, if any, are in the bucket (Receive-FemagResult).")
                : new JobLogSnapshot(state, true, text, null, lost);
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Jobs;

namespace FemagAws.Runners.InstancePerJob
{
    /// <summary>
    /// Wait-FemagJob's watch over jobs on instances of their own, composing a <see cref="JobWatcher"/> (completion, loss) and a <see cref="JobLauncher"/>
    /// (queue, capacity, relaunch). One <see cref="PollAsync"/> is one poll cycle: one DescribeInstances per 1,000 jobs and
    /// per target, S3 requests only for jobs still unfinished, then launches of queued and lost jobs.
    /// </summary>
    public sealed class InstanceWatch : IJobWatch
    {
        private readonly AwsClientCache _clients;
        private readonly Dictionary<FemagJob, int> _failedPolls = new Dictionary<FemagJob, int>();
        private readonly JobWatcher _watcher;
        private readonly JobLauncher _launcher;
        private readonly int _parallelism;

        /// <summary>A job fails after this many polls in a row that could not check it.</summary>
        public const int MaxFailedPolls = 5;

        public InstanceWatch(IEnumerable<FemagJob> jobs, AwsClientCache clients, WatchOptions options)
        {
            _clients = clients;
            _watcher = new JobWatcher(options.SettleTime);
            _launcher = new JobLauncher(clients, Warnings, Notes);
            KeepInstances = options.KeepInstances;
            _parallelism = options.Parallelism;
            foreach (var job in jobs)
            {
                if (job.State != FemagJobState.Queued)
                {
                    // A timed-out job keeps its reason until this wait ends it.
                    JobStates.Running(job, job.Reason);
                }

                _failedPolls[job] = 0;
            }
        }

        public bool KeepInstances { get; }

        public IReadOnlyCollection<FemagJob> Pending => _failedPolls.Keys.ToList();

        /// <summary>Problems met in the last poll that did not end a job, for the cmdlet to show as warnings.</summary>
        public List<string> Warnings { get; } = new List<string>();

        /// <summary>What happened in the last poll that the cmdlet shows with -Verbose, such as queued jobs launched.</summary>
        public List<string> Notes { get; } = new List<string>();

        /// <summary>Jobs waiting for a launch (max_instances, EC2 capacity, or a relaunch).</summary>
        public int Queued => _failedPolls.Keys.Count(j => j.InstanceId == null);

        /// <summary>Launches that asked for Spot and went On-Demand, over the whole wait.</summary>
        public int FellBack => _launcher.FellBack;

        /// <summary>Relaunches of lost jobs, over the whole wait.</summary>
        public int Relaunched => _launcher.Relaunched;

        /// <summary>One poll cycle; returns the jobs that reached an end state in it.</summary>
        public async Task<List<FemagJob>> PollAsync(CancellationToken ct)
        {
            Warnings.Clear();
            Notes.Clear();
            var finished = new List<FemagJob>();
            foreach (var group in _failedPolls.Keys.Where(j => j.InstanceId != null).GroupBy(AwsTarget.Of).ToList())
            {
                var clients = _clients.Get(group.Key);
                var jobs = group.ToList();
                Dictionary<string, InstanceStatus> statuses;
                try
                {
                    statuses = await JobInstances.DescribeAsync(clients.Ec2, jobs.Select(j => j.InstanceId!).ToList(), ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    Warnings.Add($"Could not describe the instances in {group.Key}: {ex.Message} Trying again at the next poll.");
                    // Not Failed: a finished state would let the bucket go while the instance may still write to it and bill.
                    var givenUp = jobs.Where(job => GiveUpAfter(job, ex, FemagJobState.TimedOut)).ToList();
                    if (givenUp.Count > 0)
                    {
                        Warnings.Add($"Gave up on {givenUp.Count} job(s); their instances may still be running and billing: {string.Join(", ", givenUp.Select(j => j.InstanceId))}.");
                    }

                    finished.AddRange(givenUp);
                    continue;
                }

                var done = new List<FemagJob>();
                using (var slots = new SemaphoreSlim(_parallelism))
                {
                    var checks = jobs.Select(async job =>
                    {
                        await slots.WaitAsync(ct).ConfigureAwait(false);
                        try
                        {
                            var instance = statuses[job.InstanceId!];
                            var (check, lossReason) = await _watcher.CheckAsync(clients, job, instance, ct).ConfigureAwait(false);
                            if (check == JobCheck.Lost)
                            {
                                _watcher.Forget(job);
                                check = await _launcher.RelaunchAsync(job, instance, lossReason!, ct).ConfigureAwait(false) ? JobCheck.Running : JobCheck.Finished;
                            }

                            lock (_failedPolls)
                            {
                                _failedPolls[job] = 0;
                            }

                            return check == JobCheck.Finished;
                        }
                        catch (Exception ex) when (!ct.IsCancellationRequested)
                        {
                            return GiveUpAfter(job, ex, FemagJobState.Failed);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }).ToList();
                    var results = await Task.WhenAll(checks).ConfigureAwait(false);
                    done.AddRange(jobs.Where((job, i) => results[i]));
                }

                var toTerminate = done.Where(j => j.InstanceId != null).Select(j => statuses[j.InstanceId!]).Where(i => !i.HasEnded || i.State == "stopped").Select(i => i.InstanceId).ToList();
                if (!KeepInstances && toTerminate.Count > 0)
                {
                    try
                    {
                        await JobInstances.TerminateAsync(clients.Ec2, toTerminate, ct).ConfigureAwait(false);
                    }
                    catch (FemagException ex) when (ex.ErrorId == ErrorIds.StopNotMarked)
                    {
                        // Terminated, only not tagged as the module's stop.
                        Warnings.Add(ex.Message);
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested)
                    {
                        Warnings.Add($"{ex.Message} These instances may still be running and billing: terminate them in the EC2 console or with '{clients.Commands.TerminateInstances(clients.Target, toTerminate)}'.");
                    }
                }

                finished.AddRange(done);
            }

            // Launches come after the checks, so a finished job's place goes to a queued one within the same poll.
            var capacityFreed = finished.Any(j => j.InstanceId != null);
            var running = _failedPolls.Keys.Count(j => j.InstanceId != null && !finished.Contains(j));
            var queued = _failedPolls.Keys.Where(j => j.InstanceId == null && !finished.Contains(j));
            finished.AddRange(await _launcher.LaunchQueuedAsync(queued, running, capacityFreed, ct).ConfigureAwait(false));

            foreach (var job in finished)
            {
                _failedPolls.Remove(job);
                _watcher.Forget(job);
                JobStates.LeftWait(job, DateTime.UtcNow);
            }

            return finished;
        }

        /// <summary>
        /// Marks every unfinished job as timed out and hands them back; their instances keep running. Jobs never
        /// launched stay queued, so a later Wait-FemagJob launches them.
        /// </summary>
        public async Task<List<FemagJob>> TimeOutAsync(TimeSpan waited, CancellationToken ct)
        {
            var left = _failedPolls.Keys.ToList();
            var running = left.Where(j => j.InstanceId != null).ToList();
            var lastLines = await WorkQueue.MapAsync(running, _parallelism, (job, token) => ConsoleOutputs.TryLastLinesAsync(_clients.Get(job).Ec2, job.InstanceId, token), ct).ConfigureAwait(false);
            for (var i = 0; i < running.Count; i++)
            {
                JobStates.TimeOut(running[i], $"Still running after waiting {waited.TotalSeconds:0} s; instance {running[i].InstanceId} was left running.", lastLines[i]);
            }

            _failedPolls.Clear();
            return left;
        }

        /// <summary>
        /// Counts a failed check. A permanent error (the bucket is gone, access denied) gives the job up at once; others
        /// (the SDK has already retried them) are tried again at the next poll, up to <see cref="MaxFailedPolls"/> in a row.
        /// A job given up becomes <paramref name="givenUpAs"/>: Failed when its instance is terminated with it, TimedOut
        /// when the instance could not be described and may still run.
        /// </summary>
        private bool GiveUpAfter(FemagJob job, Exception ex, FemagJobState givenUpAs)
        {
            int errors;
            lock (_failedPolls)
            {
                errors = ++_failedPolls[job];
            }

            if (!IsPermanent(ex) && errors < MaxFailedPolls)
            {
                lock (Warnings)
                {
                    Warnings.Add($"Job {job.Index}: {ex.Message} Trying again at the next poll.");
                }

                return false;
            }

            if (givenUpAs == FemagJobState.TimedOut)
            {
                JobStates.TimeOut(job, $"Gave up: instance {job.InstanceId} could not be described, so it may still run and bill. {ex.Message} Wait for the job again, or stop the instance with Stop-FemagInstance.");
            }
            else
            {
                JobStates.Fail(job, ex.Message, null);
            }

            return true;
        }

        /// <summary>
        /// Errors that another poll cannot mend: the bucket or object is gone, access is denied, the credentials or a
        /// setting are wrong. Anything else (throttling, a dropped connection) may pass.
        /// </summary>
        internal static bool IsPermanent(Exception ex) =>
            ex is FemagException f && (f.Kind == FemagErrorKind.ObjectNotFound || f.Kind == FemagErrorKind.PermissionDenied ||
                                       f.Kind == FemagErrorKind.AuthenticationError || f.Kind == FemagErrorKind.InvalidArgument);
    }
}

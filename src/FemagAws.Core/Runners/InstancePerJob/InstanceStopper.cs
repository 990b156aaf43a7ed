using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Jobs;

namespace FemagAws.Runners.InstancePerJob
{
    /// <summary>What Stop-FemagInstance did with one instance.</summary>
    public sealed class InstanceStop
    {
        internal InstanceStop(InstanceStatus status)
        {
            InstanceId = status.InstanceId;
            State = status.State;
            Status = status;
        }

        /// <summary>What EC2 said of the instance before the stop: its tags name its job.</summary>
        internal InstanceStatus Status { get; }

        public string InstanceId { get; }

        /// <summary>The instance's state before the stop.</summary>
        public string State { get; }

        /// <summary>True when the instance was running (or stopped) and has been terminated now.</summary>
        public bool Terminated { get; internal set; }

        /// <summary>
        /// True when the instance had already ended without being asked (a lost job's) and is now marked as stopped,
        /// so no Wait-FemagJob launches its job again.
        /// </summary>
        public bool MarkedStopped { get; internal set; }

        /// <summary>Why an ended instance could not be marked as stopped, or null.</summary>
        public string? MarkFailure { get; internal set; }

        /// <summary>Why the instance was left alone: not the module's, or unknown to EC2.</summary>
        public FemagException? Refusal { get; internal set; }
    }

    /// <summary>Stop-FemagInstance's work: terminates the module's instances, and only those.</summary>
    public static class InstanceStopper
    {
        /// <summary>
        /// The job of an instance named by id, rebuilt from its tags (bucket, index, launch) as Running, so the stop then
        /// ends it like a piped job (one stopped before is Failed already); null for an instance that is not the module's.
        /// </summary>
        public static FemagJob? JobOf(AwsTarget target, InstanceStop stop)
        {
            var status = stop.Status;
            if (stop.Refusal != null || status.BucketName == null)
            {
                return null;
            }

            var job = target.NewJob(status.Index ?? BucketNames.IndexOf(status.BucketName) ?? 0, status.BucketName, FemagConfig.Defaults);
            JobStates.Follow(job, new[] { status }, status);
            JobStates.Running(job, null);
            if (status.StoppedBy != null)
            {
                // Stopped before: this stop changes nothing, and the job says so.
                JobStates.EndedWithoutFinish(job, status, null);
            }

            return job;
        }

        /// <summary>Terminates instances the caller launched itself (a cancelled pipeline's clean-up), without the checks.</summary>
        public static Task TerminateAsync(AwsClients clients, IReadOnlyCollection<string> instanceIds, CancellationToken ct) =>
            JobInstances.TerminateAsync(clients.Ec2, instanceIds, ct);

        /// <summary>
        /// One DescribeInstances (to check the module's tag) and one TerminateInstances per 1,000 ids.
        /// <paramref name="jobBuckets"/> holds, for instances named by a job, the job's bucket, which the instance's tag must name.
        /// </summary>
        public static async Task<Dictionary<string, InstanceStop>> StopAsync(AwsClients clients, IReadOnlyCollection<string> instanceIds, IReadOnlyDictionary<string, string> jobBuckets, CancellationToken ct)
        {
            var statuses = await JobInstances.DescribeAsync(clients.Ec2, instanceIds, ct).ConfigureAwait(false);
            var stops = statuses.Values.ToDictionary(s => s.InstanceId, s => new InstanceStop(s));
            foreach (var status in statuses.Values)
            {
                if (status.State == "missing")
                {
                    stops[status.InstanceId].Refusal = new FemagException("FemagInstanceNotFound", FemagErrorKind.ObjectNotFound,
                        $"Instance {status.InstanceId} was not found in {clients.Target.Region}. Check the id and -Region.");
                }
                else if (status.BucketName == null)
                {
                    stops[status.InstanceId].Refusal = new FemagException("FemagInstanceNotModule", FemagErrorKind.PermissionDenied,
                        $"Instance {status.InstanceId} has no {JobInstances.BucketTag} tag, so FemagAws did not launch it, and Stop-FemagInstance leaves it running. " +
                        $"If you do mean to end it, terminate it in the EC2 console or with '{clients.Commands.TerminateInstances(clients.Target, new[] { status.InstanceId })}'.");
                }
                else if (jobBuckets.TryGetValue(status.InstanceId, out var bucket) && bucket != status.BucketName)
                {
                    stops[status.InstanceId].Refusal = new FemagException("FemagInstanceOfOtherJob", FemagErrorKind.PermissionDenied,
                        $"Instance {status.InstanceId} runs the job of bucket {status.BucketName}, not of bucket {bucket}: the job's InstanceId is out of date, and the instance is left running. " +
                        "Get-FemagJob shows which job each instance belongs to.");
                }
            }

            // A terminated instance needs nothing; a stopped one still holds its volume, so it is terminated too.
            var toTerminate = stops.Values.Where(s => s.Refusal == null && s.State != "terminated" && s.State != "shutting-down").ToList();
            await JobInstances.TerminateAsync(clients.Ec2, toTerminate.Select(s => s.InstanceId).ToList(), ct).ConfigureAwait(false);
            foreach (var stop in toTerminate)
            {
                stop.Terminated = true;
            }

            // A lost job's instance has ended already; unmarked, its end would be taken for a loss and relaunched.
            var unmarked = stops.Values.Where(s => s.Refusal == null && !s.Terminated && statuses[s.InstanceId].StoppedBy == null).ToList();
            if (unmarked.Count > 0)
            {
                try
                {
                    await JobInstances.MarkStoppedAsync(clients.Ec2, unmarked.Select(s => s.InstanceId).ToList(), ct).ConfigureAwait(false);
                    unmarked.ForEach(s => s.MarkedStopped = true);
                }
                catch (FemagException ex)
                {
                    unmarked.ForEach(s => s.MarkFailure = ex.Message);
                }
            }

            return stops;
        }
    }
}

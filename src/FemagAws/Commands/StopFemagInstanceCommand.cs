using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using FemagAws.Aws;
using FemagAws.Internal;
using FemagAws.Jobs;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Terminates the EC2 instances of FEMAG jobs.</para>
    /// <para type="description">Stop-FemagInstance terminates the instances of the jobs piped in, or the instances named with -InstanceId, for example to clean up after a crashed session together with Get-FemagJob. It only ever terminates instances FemagAws launched: each instance is first described, and one without the femag-aws:bucket tag is refused with an error and keeps running. Instances are described and terminated in batches of up to 1,000 per request. A job without an instance is skipped with a verbose message. An instance that has already ended is only marked as stopped (the femag-aws:stopped-by tag), so that a lost job, which Get-FemagJob shows as Running because Wait-FemagJob would launch it again, is not relaunched. With -PassThru the jobs are emitted, a Running or TimedOut job whose instance was terminated as Failed; an instance named with -InstanceId gives its job, rebuilt from the instance's tags, as Failed. The buckets are kept; remove them with Remove-FemagBucket.</para>
    /// </summary>
    /// <example>
    ///   <code>Get-FemagJob -Region eu-central-1 | Where-Object State -eq Running | Stop-FemagInstance</code>
    ///   <para>Terminates every instance of the module's jobs that still runs in the region, for example after the session that started them crashed.</para>
    /// </example>
    /// <example>
    ///   <code>Stop-FemagInstance -InstanceId i-0123456789abcdef0, i-0fedcba9876543210 -Region eu-central-1 -WhatIf</code>
    ///   <para>Shows which instances would be terminated and terminates nothing.</para>
    /// </example>
    /// <example>
    ///   <code>$jobs = $jobs | Stop-FemagInstance -PassThru -Confirm:$false</code>
    ///   <para>Stops the jobs without asking and keeps them, now Failed, for a later Receive-FemagResult -Force.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Stop, "FemagInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FemagJob))]
    public sealed class StopFemagInstanceCommand : FemagAwsCmdlet
    {
        private const string Activity = "Stopping FEMAG instances";
        private readonly List<KeyValuePair<AwsTarget, string>> _instances = new List<KeyValuePair<AwsTarget, string>>();
        private readonly List<FemagJob> _jobs = new List<FemagJob>();
        private readonly Dictionary<string, string> _jobBuckets = new Dictionary<string, string>(StringComparer.Ordinal);

        /// <summary>
        /// <para type="description">The jobs whose instances to terminate, e.g. from Get-FemagJob or Start-FemagInstance.</para>
        /// </summary>
        [Parameter(Position = 0, ValueFromPipeline = true)]
        [Alias("InputObject")]
        public FemagJob[] Job { get; set; } = new FemagJob[0];

        /// <summary>
        /// <para type="description">Ids of instances to terminate, in -Region, else in the region of AWS_REGION, AWS_DEFAULT_REGION or the AWS profile, else eu-central-1; each must carry the module's femag-aws:bucket tag.</para>
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string[]? InstanceId { get; set; } = new string[0];

        /// <summary>
        /// <para type="description">Emits the jobs after their instances were terminated. Either way, a Running or TimedOut job whose instance was terminated, or had ended and is now marked as stopped, becomes Failed.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            // One parameter set: PowerShell binds a deserialized job's InstanceId by property name before it converts
            // the object to a job, and a separate set would lose the job's region and endpoint. Any object with an
            // InstanceId also converts to a job, but one without a bucket is none: then -InstanceId counts.
            var jobs = Job.Where(j => j.BucketName.Length > 0).ToList();
            if (jobs.Count == 0)
            {
                if (InstanceId == null || InstanceId.Length == 0)
                {
                    WriteError(ErrorRecords.Create("FemagNothingToStop", FemagErrorKind.InvalidArgument,
                        "Pipe jobs into Stop-FemagInstance (e.g. from Get-FemagJob), or name instances with -InstanceId.", null));
                    return;
                }

                var target = TargetOf(FemagConfig.Defaults);
                foreach (var id in InstanceId.Where(id => ShouldProcess($"instance {id} in {target.Region}", "Terminate instance")))
                {
                    _instances.Add(new KeyValuePair<AwsTarget, string>(target, id));
                }

                return;
            }

            foreach (var job in jobs)
            {
                if (job.InstanceId == null)
                {
                    WriteVerbose($"Job {job.Index} (bucket {job.BucketName}) has no instance; nothing to stop.");
                }
                else if (ShouldProcess($"instance {job.InstanceId} of job {job.Index} (bucket {job.BucketName})", "Terminate instance"))
                {
                    _instances.Add(new KeyValuePair<AwsTarget, string>(Retarget(job), job.InstanceId));
                    _jobBuckets[job.InstanceId] = job.BucketName;
                }
                else
                {
                    continue;
                }

                _jobs.Add(job);
            }
        }

        protected override void EndProcessing()
        {
            // One outcome per instance; instances whose request failed have none and their jobs are not passed on.
            var outcomes = new Dictionary<string, InstanceStop>(StringComparer.Ordinal);
            var named = new List<FemagJob>();
            var groups = _instances.GroupBy(i => i.Key, i => i.Value).ToList();
            for (var i = 0; i < groups.Count; i++)
            {
                Progress(Activity, $"{groups[i].Key}: {groups[i].Count()} instance(s)", 100 * i / groups.Count, force: true);
                var clients = OrTerminate(() => ClientsFor(groups[i].Key), groups[i].Key);
                try
                {
                    foreach (var stop in Await(InstanceStopper.StopAsync(clients, groups[i].ToList(), _jobBuckets, Cancellation)).Values)
                    {
                        outcomes[stop.InstanceId] = stop;

                        // An instance named by -InstanceId gets its job back from its tags, so -PassThru has one to emit.
                        if (!_jobBuckets.ContainsKey(stop.InstanceId) && InstanceStopper.JobOf(groups[i].Key, stop) is FemagJob job)
                        {
                            named.Add(job);
                        }
                    }
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, groups[i].ToArray());
                }
            }

            CompleteProgress(Activity);
            foreach (var stop in outcomes.Values)
            {
                if (stop.Refusal != null)
                {
                    WriteFailure(stop.Refusal, (object?)_jobs.FirstOrDefault(j => j.InstanceId == stop.InstanceId) ?? stop.InstanceId);
                }
                else if (stop.MarkFailure != null)
                {
                    WriteWarning($"Instance {stop.InstanceId} had already ended ({stop.State}) and could not be marked as stopped ({stop.MarkFailure}). " +
                                 "If its job had not finished, a later Wait-FemagJob may launch it again; Remove-FemagBucket removes the job for good.");
                }
                else
                {
                    WriteVerbose(stop.Terminated ? $"Terminated instance {stop.InstanceId} (was {stop.State})."
                        : stop.MarkedStopped ? $"Instance {stop.InstanceId} is already {stop.State}; marked as stopped, so its job is not launched again."
                        : $"Instance {stop.InstanceId} is already {stop.State}; nothing to stop.");
                }
            }

            foreach (var job in _jobs.Concat(named))
            {
                InstanceStop? stop = null;
                if (job.InstanceId != null && (!outcomes.TryGetValue(job.InstanceId, out stop) || stop.Refusal != null))
                {
                    continue; // its error is written
                }

                if (stop != null && (stop.Terminated || stop.MarkedStopped) &&
                    (job.State == FemagJobState.Running || job.State == FemagJobState.TimedOut))
                {
                    JobStates.StoppedByUser(job, stop.Terminated
                        ? $"Stopped by Stop-FemagInstance before it finished; instance {job.InstanceId} was terminated."
                        : $"Stopped by Stop-FemagInstance after instance {job.InstanceId} had ended ({stop.State}) without finishing; it is not launched again.", DateTime.UtcNow);
                }

                if (PassThru)
                {
                    WriteObject(job);
                }
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using FemagAws.Aws;
using FemagAws.Internal;
using FemagAws.Jobs;
using FemagAws.Runners;
using FemagAws.Runners.InstancePerJob;

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

        // Every job piped in and not declined at -Confirm, in order, for -PassThru; those with nothing to stop too.
        private readonly List<FemagJob> _passOn = new List<FemagJob>();
        private JobRunners? _runners;

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

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            _runners = new JobRunners(Clients);
        }

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
                if (!(_runners!.For(job).DescribeStop(job) is var (what, action)))
                {
                    WriteVerbose($"Job {job.Index} (bucket {job.BucketName}) has no instance; nothing to stop.");
                }
                else if (ShouldProcess(what, action))
                {
                    Retarget(job);
                    _jobs.Add(job);
                }
                else
                {
                    continue;
                }

                _passOn.Add(job);
            }
        }

        protected override void EndProcessing()
        {
            var groups = _jobs.GroupBy(j => (Runner: _runners!.For(j), Target: AwsTarget.Of(j))).ToList();
            var named = _instances.GroupBy(i => i.Key, i => i.Value).ToList();
            var stopped = new List<JobStop>();
            for (var i = 0; i < groups.Count; i++)
            {
                Progress(Activity, $"{groups[i].Key.Target}: {groups[i].Count()} job(s)", 100 * i / (groups.Count + named.Count), force: true);
                OrTerminate(() => ClientsFor(groups[i].Key.Target), groups[i].Key.Target);
                try
                {
                    stopped.AddRange(Await(groups[i].Key.Runner.StopAsync(groups[i].Key.Target, groups[i].ToList(), Cancellation)));
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, groups[i].ToArray());
                }
            }

            for (var i = 0; i < named.Count; i++)
            {
                Progress(Activity, $"{named[i].Key}: {named[i].Count()} instance(s)", 100 * (groups.Count + i) / (groups.Count + named.Count), force: true);
                var clients = OrTerminate(() => ClientsFor(named[i].Key), named[i].Key);
                try
                {
                    foreach (var stop in Await(InstanceStopper.StopAsync(clients, named[i].ToList(), new Dictionary<string, string>(), Cancellation)).Values)
                    {
                        // An instance named by -InstanceId gets its job back from its tags, so -PassThru has one to emit.
                        if (stop.Refusal != null)
                        {
                            WriteFailure(stop.Refusal, stop.InstanceId);
                        }
                        else if (InstanceStopper.JobOf(named[i].Key, stop) is FemagJob job)
                        {
                            stopped.Add(InstancePerJobRunner.Outcome(job, stop));
                        }
                    }
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, named[i].ToArray());
                }
            }

            CompleteProgress(Activity);
            foreach (var stop in stopped)
            {
                if (stop.Refusal != null)
                {
                    WriteFailure(stop.Refusal, stop.Job);
                }
                else if (stop.Warning != null)
                {
                    WriteWarning(stop.Warning);
                }
                else if (stop.Note != null)
                {
                    WriteVerbose(stop.Note);
                }
            }

            // A job whose stop failed has its error written and is not passed on.
            var ended = new HashSet<FemagJob>(stopped.Where(s => s.Refusal == null).Select(s => s.Job));
            var failed = new HashSet<FemagJob>(_jobs.Where(j => !ended.Contains(j)));
            foreach (var job in _passOn.Where(j => PassThru && !failed.Contains(j)).Concat(stopped.Select(s => s.Job).Where(j => PassThru && ended.Contains(j) && !_passOn.Contains(j))))
            {
                WriteObject(job);
            }
        }
    }
}

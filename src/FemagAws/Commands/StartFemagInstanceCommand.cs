using System.Collections.Generic;
using System.Globalization;
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
    /// <para type="synopsis">Launches one EC2 instance per job to run its cloud-init script, or sends the jobs to a worker pool (pool_size).</para>
    /// <para type="description">Start-FemagInstance launches, for each job, one instance with the configured image, instance type, key, security groups and instance profile. Its user data is the config's cloud-init script in which every line starting with {{ENV}} is replaced by shell-quoted 'export KEY=value' lines, one per config key, then BUCKET_NAME and EXPECTED_BUCKET_OWNER (the account id that owns the bucket, for 'aws s3 ... --expected-bucket-owner'; empty where the endpoint gives none). The instance terminates itself when it shuts down, and is tagged at launch with Name = &lt;bucket&gt;-&lt;company_name&gt; and femag-aws:bucket = &lt;bucket&gt;. Everything that can be checked locally (the image, the cloud-init file, the 16 KB user data limit) is checked before anything is launched. A launch that fails is an error record for that job; the other jobs go on. Instances require IMDSv2. When the config sets max_instances, at most that many jobs of the pipeline run at once; the others, like jobs EC2 turns away for lack of capacity or quota (InsufficientInstanceCapacity, InstanceLimitExceeded, VcpuLimitExceeded), are emitted as Queued and Wait-FemagJob launches them as others finish. With max_runtime, each instance shuts itself down after that many minutes. With spot = 1 (or -Spot) the instances are Spot instances; when EC2 has no Spot capacity the job runs On-Demand unless spot_fallback = 0. instance_type may list several types, tried in order when EC2 has no capacity for one. Each job records its InstanceType, Lifecycle (spot or on-demand) and Attempt, which are also tagged on the instance. Every launch is idempotent: its client token is derived from the bucket, the attempt, the instance type and the market, so a retry or a second session starting the same job gets the same instance from EC2, and a launch whose answer never came is looked up by its token and adopted. A job whose bucket already has a live instance is not launched again: a warning names that instance, the job follows it, and its exit_code is kept; a stopped instance of the bucket, which keeps its volume billing, is terminated before the launch. Every EBS volume of the image is set to be deleted on termination. One warning per call says when an instance cannot end by itself (no max_runtime, and no shutdown, poweroff or halt in the script), as it then bills until Wait-FemagJob or Stop-FemagInstance terminates it. With pool_size (or -PoolSize) above 0 the jobs run in a worker pool instead: each job is sent to an encrypted SQS queue made for the pool (femag-aws-pool-&lt;pool id&gt;, with a dead-letter queue after max_attempts receives) and comes out Queued; once the last job is in, up to pool_size instances are launched (fewer when the jobs divided by slots_per_instance need fewer), with Spot and the instance_type list as above. Each runs the module's worker, which takes up to slots_per_instance jobs at once and runs each job's cloud-init script with bash in a home of its own; shutdown in a script ends only its job. A pool needs a shell script as cloud_init.</para>
    /// </summary>
    /// <example>
    ///   <code>Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult</code>
    ///   <para>Runs a whole parameter variation.</para>
    /// </example>
    /// <example>
    ///   <code>Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance -PoolSize 10 -SlotsPerInstance 2 | Wait-FemagJob | Receive-FemagResult</code>
    ///   <para>Runs a large variation of short jobs in a worker pool: the jobs go to an SQS queue made for the pool, at most 10 instances take them, two at a time each, and Wait-FemagJob removes the pool when its last job has ended.</para>
    /// </example>
    /// <example>
    ///   <code>$jobs | Start-FemagInstance -WhatIf -Verbose</code>
    ///   <para>Shows which instances would be launched and the rendered user data, launching nothing.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Start, "FemagInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FemagJob))]
    public sealed class StartFemagInstanceCommand : FemagAwsCmdlet
    {
        private const string Activity = "Launching FEMAG instances";
        private WorkQueue<FemagJob, FemagJob>? _queue;
        private bool _warnedSmall;
        private bool _warnedNeverEnds;
        private readonly List<FemagJob> _emitted = new List<FemagJob>();
        private JobRunners? _runners;

        /// <summary>
        /// <para type="description">The jobs to start, from New-FemagBucket or Get-FemagBucket (also read back with Import-Clixml).</para>
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [Alias("InputObject")]
        public FemagJob[] Job { get; set; } = new FemagJob[0];

        /// <summary>
        /// <para type="description">The EC2 instance type for these jobs, such as c5.xlarge, or several (-InstanceType c5.xlarge, m5.xlarge) tried in order when EC2 has no capacity for a type, instead of instance_type from the config. It becomes the jobs' instance_type (the types joined by commas), so the INSTANCE_TYPE that {{ENV}} exports on the instance agrees. Tab completes EC2's instance types.</para>
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(InstanceTypeCompleter))]
        public string[]? InstanceType { get; set; }

        /// <summary>
        /// <para type="description">Launches on Spot, as spot = 1 in the config does: a one-time Spot request that terminates on interruption, with no maximum price. When EC2 has no Spot capacity, the job runs On-Demand (unless spot_fallback = 0), and one warning says how many jobs did. Wait-FemagJob relaunches jobs whose Spot instances are interrupted, up to max_attempts launches in all.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter Spot { get; set; }

        /// <summary>
        /// <para type="description">Runs the jobs in a worker pool of at most this many instances that take them from a queue, as pool_size in the config does; 0 runs one instance per job.</para>
        /// </summary>
        [Parameter]
        [ValidateRange(0, int.MaxValue)]
        public int? PoolSize { get; set; }

        /// <summary>
        /// <para type="description">How many jobs each pool instance runs at once, as slots_per_instance in the config does (default 1).</para>
        /// </summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int? SlotsPerInstance { get; set; }

        /// <summary>
        /// <para type="description">How many launches run at once (default 8).</para>
        /// </summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 8;

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            _queue = new WorkQueue<FemagJob, FemagJob>(ThrottleLimit);
            _runners = new JobRunners(Clients);
        }

        protected override void ProcessRecord()
        {
            foreach (var job in Job)
            {
                // The user data exports INSTANCE_TYPE, so it is rendered with -InstanceType; -WhatIf puts the job's own back.
                var ownConfig = job.Config;
                if (InstanceType != null)
                {
                    job.Config = job.Config.With(new[] { new KeyValuePair<string, string?>("instance_type", string.Join(",", InstanceType)) });
                }

                if (Spot)
                {
                    job.Config = job.Config.With(new[] { new KeyValuePair<string, string?>("spot", "1") });
                }

                if (PoolSize is int poolSize)
                {
                    job.Config = job.Config.With(new[] { new KeyValuePair<string, string?>("pool_size", poolSize.ToString(CultureInfo.InvariantCulture)) });
                }

                if (SlotsPerInstance is int slots)
                {
                    job.Config = job.Config.With(new[] { new KeyValuePair<string, string?>("slots_per_instance", slots.ToString(CultureInfo.InvariantCulture)) });
                }

                // The user data names the account that owns the bucket, so the clients come first.
                var target = Retarget(job);
                var clients = OrTerminate(() => ClientsFor(target), target);
                var runner = _runners!.ForStart(job);
                string cloudInit;
                try
                {
                    cloudInit = runner.Prepare(job, Await(clients.ExpectedBucketOwnerAsync(Cancellation)));
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, job);
                    continue;
                }

                WarnIfTooSmall(job.Config);
                WarnIfNeverEnds(job.Config, runner.EndsItself(cloudInit));
                WarnAboutConfig(ownConfig, always: false);
                WriteVerbose($"User data for bucket {job.BucketName}:\n{cloudInit}");
                var (what, action) = runner.Describe(job, target);
                if (!ShouldProcess(what, action))
                {
                    job.Config = ownConfig;
                    continue;
                }

                if (runner.HoldReason(job) is string hold)
                {
                    Hold(job, hold);
                    continue;
                }

                JobStates.StartedByHand(job);
                _queue!.Start(job, j => runner.StartAsync(j, cloudInit, Cancellation));
                Drain(_queue, false, Activity, Emit, EmitFailed);
            }
        }

        protected override void EndProcessing()
        {
            Drain(_queue!, true, Activity, Emit, EmitFailed);
            foreach (var runner in _runners!.All)
            {
                foreach (var note in Await(runner.EndStartAsync(Cancellation)))
                {
                    WriteVerbose(note);
                }
            }

            CompleteProgress(Activity);
            var fellBack = _emitted.Count(InstanceStarter.FellBackToOnDemand);
            if (fellBack > 0)
            {
                WriteWarning($"EC2 had no Spot capacity for {fellBack} job(s); they run On-Demand. Set spot_fallback = 0 to queue such jobs for Spot instead.");
            }
        }

        protected override bool HasWorkInFlight => _queue?.Count > 0;

        /// <summary>
        /// Ctrl+C: an instance launched but never passed on is terminated, since nothing downstream would wait for it or
        /// stop it. Instances already passed on keep running; all are entered in the ledger.
        /// </summary>
        protected override void OnStopped()
        {
            var unknown = new List<FemagJob>();
            var settled = _queue?.Settle(CleanupTime) ?? new List<WorkItem<FemagJob, FemagJob>>();
            foreach (var item in settled)
            {
                if (!item.IsFinished)
                {
                    Ledger.LeftBehind($"the launch for bucket {item.Input.BucketName} did not end in time, so an instance may run for it; " +
                                      $"'{PowerShellCommands.Instance.ListJobs(AwsTarget.Of(item.Input))}' lists the module's instances and Stop-FemagInstance stops them.");
                }
                else if (item.Error == null && item.Result.InstanceId != null)
                {
                    unknown.Add(item.Result);
                }
                else if (item.Error is FemagException f && f.ErrorId == ErrorIds.LaunchMayBeLeft)
                {
                    Ledger.LeftBehind(f.Message);
                }
                else if (item.Error != null && item.Input.InstanceId != null)
                {
                    // The launch was cut off after EC2 had started an instance, which the launch's clean-up terminated.
                    Ledger.InstanceTerminatedByStop(item.Input);
                }
                else
                {
                    // The launch was cut off before it started an instance (or came back queued): the bucket is all there is.
                    Ledger.Uploaded(item.Input);
                }
            }

            var failed = TerminateAfterStop(unknown, new HashSet<FemagJob>());
            foreach (var job in unknown)
            {
                if (failed.TryGetValue(job, out var why))
                {
                    Ledger.InstanceRunning(job);
                    Ledger.LeftBehind($"instance {job.InstanceId} was launched as the pipeline stopped and could not be terminated ({why}); stop it with Stop-FemagInstance or in the EC2 console.");
                }
                else
                {
                    Ledger.InstanceTerminatedByStop(job);
                }
            }

            foreach (var job in _emitted)
            {
                if (job.InstanceId != null)
                {
                    Ledger.InstanceRunning(job);
                }
                else
                {
                    Ledger.Uploaded(job);
                }
            }

            // A pool's instances are launched after the last job, so the stop may have come before, during or after that.
            EnterRunnersAfterStop(_runners!, _emitted.Concat(settled.Where(i => i.IsFinished && i.Error == null).Select(i => i.Result)).Distinct());
        }

        private void Emit(WorkItem<FemagJob, FemagJob> item) => Emit(item.Result);

        /// <summary>A job whose launch failed goes on as Failed after its error, so the pipeline's later cmdlets and $jobs hold it.</summary>
        private void EmitFailed(WorkItem<FemagJob, FemagJob> item)
        {
            if (InstanceStarter.NeverRan(item.Input))
            {
                Emit(item.Input);
            }
        }

        /// <summary>Passes a job on queued, without launching it, for Wait-FemagJob to launch later.</summary>
        private void Hold(FemagJob job, string reason) => Emit(JobStates.Queue(job, reason));

        private void Emit(FemagJob job)
        {
            // Listed before it is written: downstream may hold it even when WriteObject ends in a stop.
            _emitted.Add(job);
            if (job.InstanceId == null)
            {
                WriteVerbose($"Job {job.Index}: {job.Reason}");
            }
            else if (job.Reason?.StartsWith(InstanceStarter.AlreadyRunningReason, System.StringComparison.Ordinal) == true)
            {
                WriteWarning($"Job {job.Index} (bucket {job.BucketName}): {job.Reason}");
            }
            else
            {
                WriteVerbose($"Job {job.Index}: instance {job.InstanceId} launched for bucket {job.BucketName}.");
            }

            WriteObject(job);
        }

        /// <summary>Once per call: an instance that cannot end by itself bills until a client terminates it.</summary>
        private void WarnIfNeverEnds(FemagConfig config, bool endsItself)
        {
            if (!_warnedNeverEnds && !endsItself)
            {
                _warnedNeverEnds = true;
                WriteWarning($"The cloud-init script '{config.CloudInit}' never shuts its instance down and max_runtime is not set: each instance runs, and bills, " +
                             $"until Wait-FemagJob or Stop-FemagInstance terminates it. Set max_runtime (minutes) in {config}, or end the script with 'shutdown -h now' " +
                             "as examples/cloud_init_recommended.txt does.");
            }
        }

        private void WarnIfTooSmall(FemagConfig config)
        {
            var small = config.InstanceTypes.FirstOrDefault(t => t == "t2.micro" || t == "t2.nano");
            if (!_warnedSmall && small != null)
            {
                _warnedSmall = true;
                WriteWarning($"instance_type is {small}; FEMAG needs at least t2.small. Set instance_type in {config}.");
            }
        }
    }
}

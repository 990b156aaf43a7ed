using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using FemagAws.Aws;
using FemagAws.Insight;
using FemagAws.Internal;
using FemagAws.Jobs;
using FemagAws.Runners;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Waits for FEMAG jobs to finish and terminates their instances.</para>
    /// <para type="description">Wait-FemagJob polls the jobs' buckets for the finish file (exit_code) and emits each job as soon as it is done, so Receive-FemagResult can download the first results while other jobs still run. A job is done when its finish file is in the bucket and its results have stopped arriving: the instance has shut down, or the bucket has held still for -SettleTime seconds with no upload in progress. Then its instance is terminated (unless -KeepInstance). An instance that ends without writing the finish file makes its job Failed with the reason. With -Timeout, unfinished jobs are emitted as TimedOut and their instances keep running; so are jobs whose instances cannot be described (after 5 polls, or at once when access is denied), since those may still run. A job that fails without an exit code, or times out, carries the last lines of its log (its instance's console output, or a pool job's job.log) at the end of its Reason; Get-FemagJobLog shows the whole log. Queued jobs (held back by max_instances, or turned away by EC2 for lack of capacity) are launched as others finish. An instance that ends without the finish file is lost unless the module or the user ended it (Stop-FemagInstance, -StopOnCancel, Ctrl+C) or the max_runtime watchdog did; a lost job is launched again, on Spot after any loss and On-Demand only when EC2 ended the instance (a Server.* state reason), with its bucket emptied back to the input archive, up to max_attempts launches in all (default 3), counted from the instances' tags. Then it fails with every attempt's reason. A FEMAG error (any exit code) is never retried. Each poll describes the instances in batches of up to 1,000. At the end each job gets BilledSeconds (its own instances' lifetimes, each at least 60 s and every attempt counted, or its share of its pool's instances by its time on them) and Cost where the price is known: Spot prices from EC2's Spot price history over each instance's lifetime in its zone, On-Demand prices from -PricePerHour. The jobs were handed on before that: save them once the wait has ended ($done = ... | Wait-FemagJob; $done | Export-Clixml done.xml), not with Export-Clixml in the same pipeline. The last line, on the information stream (tag FemagAws.Summary) and shown as Write-Host shows its text (-InformationAction Ignore hides it), counts the jobs that succeeded and failed and gives the instance-hours by instance type and Spot or On-Demand, with their cost. On Ctrl+C the instances keep running and a warning says how to go on or stop them; -StopOnCancel terminates them instead.</para>
    /// </summary>
    /// <example>
    ///   <code>$jobs = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob -Timeout 7200 | Receive-FemagResult</code>
    ///   <para>Runs a parameter variation and waits at most two hours.</para>
    /// </example>
    /// <example>
    ///   <code>$jobs = Import-Clixml jobs.xml | Wait-FemagJob -PricePerHour @{ 'c5.xlarge' = 0.192 } -InformationVariable summary; $jobs | Format-Table Index, State, BilledSeconds, Cost; "$summary"</code>
    ///   <para>Waits with the On-Demand price of c5.xlarge in US dollars per hour, lists what each job billed and cost, and keeps the summary line, e.g. "12 jobs: 11 succeeded, 1 failed; 0.42 instance-hours: c5.xlarge Spot 0.30 ($0.011), c5.xlarge On-Demand 0.12 ($0.023); cost $0.034".</para>
    /// </example>
    /// <example>
    ///   <code>Import-Clixml jobs.xml | Wait-FemagJob | Receive-FemagResult</code>
    ///   <para>Resumes waiting for jobs saved earlier with Export-Clixml, for example in a scheduled task after a reboot, in any working directory.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Wait, "FemagJob")]
    [OutputType(typeof(FemagJob))]
    public sealed class WaitFemagJobCommand : FemagAwsCmdlet
    {
        private const string Activity = "Waiting for FEMAG jobs";
        private readonly List<FemagJob> _jobs = new List<FemagJob>();

        // Every job given, finished ones too, in order: the summary line counts them all.
        private readonly List<FemagJob> _given = new List<FemagJob>();
        private readonly HashSet<FemagJob> _givenOnce = new HashSet<FemagJob>();
        private IReadOnlyDictionary<string, decimal> _pricePerHour = new Dictionary<string, decimal>();

        // Jobs handed on; a stop mid-poll may leave a finished job unwritten with its instance not yet terminated.
        private readonly HashSet<FemagJob> _written = new HashSet<FemagJob>();

        /// <summary>
        /// <para type="description">The jobs to wait for, from Start-FemagInstance (also read back with Import-Clixml).</para>
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [Alias("InputObject")]
        public FemagJob[] Job { get; set; } = new FemagJob[0];

        /// <summary>
        /// <para type="description">Seconds to wait in all, like Wait-Job -Timeout. -1, the default, waits until every job has finished.</para>
        /// </summary>
        [Parameter]
        [ValidateRange(-1, int.MaxValue)]
        public int Timeout { get; set; } = -1;

        /// <summary>
        /// <para type="description">Seconds between two polls. The default, 20, keeps AWS requests few; tests use 1.</para>
        /// </summary>
        [Parameter]
        [ValidateRange(0.1, 3600)]
        public double PollInterval { get; set; } = 20;

        /// <summary>
        /// <para type="description">Seconds the bucket must hold still, after the finish file appeared, before a job whose instance still runs counts as complete. A cloud-init script that ends with 'shutdown -h now' makes this wait unnecessary.</para>
        /// </summary>
        [Parameter]
        [ValidateRange(0, 3600)]
        public double SettleTime { get; set; } = 30;

        /// <summary>
        /// <para type="description">Leaves finished instances running instead of terminating them, e.g. to log in and look around.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter KeepInstance { get; set; }

        /// <summary>
        /// <para type="description">On Ctrl+C, terminates the instances of the jobs still running instead of leaving them running; pool jobs are withdrawn, and a pool left without jobs is removed (its instances terminated, its queue deleted).</para>
        /// </summary>
        [Parameter]
        public SwitchParameter StopOnCancel { get; set; }

        /// <summary>
        /// <para type="description">On-Demand prices in US dollars per instance-hour, by instance type, e.g. @{ 'c5.xlarge' = 0.192; 'c5.2xlarge' = 0.384 }, for each job's Cost and the summary line. Spot prices come from EC2 (ec2:DescribeSpotPriceHistory). Instances of a type not in the table have no price, and the summary line says which.</para>
        /// </summary>
        [Parameter]
        public Hashtable? PricePerHour { get; set; }

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            var table = PricePerHour == null ? null : PricePerHour.Cast<DictionaryEntry>().ToDictionary(e => Unwrap(e.Key), e => (object?)Unwrap(e.Value));
            _pricePerHour = OrTerminate(() => Insight.PricePerHour.Parse(table), PricePerHour);
        }

        private static object Unwrap(object value) => value is PSObject wrapped ? wrapped.BaseObject : value;

        protected override void ProcessRecord()
        {
            foreach (var job in Job)
            {
                if (_givenOnce.Add(job))
                {
                    _given.Add(job);
                }

                if (job.IsFinished)
                {
                    WriteObject(job);
                }
                else if (job.InstanceId == null && job.State != FemagJobState.Queued)
                {
                    WriteError(ErrorRecords.Create("FemagJobNotStarted", FemagErrorKind.InvalidOperation,
                        $"Job {job.Index} (bucket {job.BucketName}) has no instance to wait for. Start it with Start-FemagInstance first.", job));
                }
                else if (!_jobs.Contains(job))
                {
                    _jobs.Add(job);
                }
            }
        }

        /// <summary>
        /// Ctrl+C: by default the instances and pools keep running (their work is not lost); with -StopOnCancel the
        /// instances are terminated and pool jobs withdrawn.
        /// Either way every job is entered in the ledger, whose account says how to go on or clean up.
        /// </summary>
        protected override void OnStopped()
        {
            // -StopOnCancel ends what runs every job not handed on: its instance, or its place in its pool (queued or not).
            var unwritten = _jobs.Where(j => !_written.Contains(j)).ToList();
            var ended = new HashSet<FemagJob>();
            var failed = StopOnCancel ? TerminateAfterStop(unwritten.Where(j => j.InstanceId != null || !j.IsFinished), ended) : new Dictionary<FemagJob, string>();
            foreach (var job in unwritten)
            {
                if (ended.Contains(job))
                {
                    if (!job.IsFinished)
                    {
                        JobStates.StoppedByUser(job, $"Instance {job.InstanceId} was terminated when the wait was stopped (-StopOnCancel).", job.FinishTime);
                    }

                    Ledger.InstanceTerminatedByStop(job);
                }
                else if (job.InstanceId != null)
                {
                    Ledger.InstanceRunning(job);
                }
                else
                {
                    Unlaunched(job);
                }
            }

            foreach (var failure in failed)
            {
                Ledger.LeftBehind($"-StopOnCancel could not end job {failure.Key.Index} (bucket {failure.Key.BucketName}{(failure.Key.InstanceId != null ? ", instance " + failure.Key.InstanceId : string.Empty)}): {failure.Value}; stop it with Stop-FemagInstance or in the EC2 console.");
            }

            foreach (var job in _written)
            {
                Written(job);
            }

            EnterRunnersAfterStop(new JobRunners(Clients), _jobs);
        }

        /// <summary>Enters a job without an instance: never launched, or lost and waiting for its next launch.</summary>
        private void Unlaunched(FemagJob job)
        {
            if (job.Losses.Count > 0)
            {
                Ledger.AwaitingRelaunch(job);
            }
            else
            {
                Ledger.Uploaded(job);
            }
        }

        /// <summary>Enters a job this cmdlet passed on: finished, timed out, or never launched (still queued, or its launch failed).</summary>
        private void Written(FemagJob job)
        {
            if (job.InstanceId == null)
            {
                Unlaunched(job);
            }
            else if (!job.IsFinished)
            {
                Ledger.InstanceRunning(job);
            }
            else
            {
                Ledger.ResultsInBucket(job);
                if (KeepInstance)
                {
                    Ledger.InstanceRunning(job);
                }
                else
                {
                    Ledger.InstanceEnded(job);
                }
            }
        }

        protected override void EndProcessing()
        {
            if (_jobs.Count > 0)
            {
                Wait();
            }

            if (_given.Count > 0)
            {
                // Shown like Write-Host's output (the PSHOST tag), so the line is seen without -InformationAction;
                // -InformationVariable and 6>&1 still catch it by its own tag.
                WriteInformation(new HostInformationMessage { Message = RunTotals.Of(_given).Summary }, new[] { SummaryTag, "PSHOST" });
            }
        }

        /// <summary>The tag of the summary line on the information stream.</summary>
        private const string SummaryTag = "FemagAws.Summary";

        private void Wait()
        {
            // The cmdlet's endpoint and credential parameters apply to every job it waits for.
            foreach (var target in _jobs.Select(Retarget).Distinct())
            {
                OrTerminate(() => ClientsFor(target), target);
            }

            var runners = new JobRunners(Clients);
            var waiter = new JobWaiter(_jobs, runners, new WatchOptions(TimeSpan.FromSeconds(SettleTime), KeepInstance, 16));
            var started = DateTime.UtcNow;
            var total = _jobs.Count;
            int succeeded = 0, failed = 0;
            while (waiter.Pending.Count > 0)
            {
                var finished = Await(waiter.PollAsync(Cancellation));
                foreach (var warning in waiter.Warnings)
                {
                    WriteWarning(warning);
                }

                foreach (var note in waiter.Notes)
                {
                    WriteVerbose(note);
                }

                foreach (var job in finished)
                {
                    if (job.State == FemagJobState.Succeeded)
                    {
                        succeeded++;
                    }
                    else
                    {
                        failed++;
                    }

                    WriteVerbose($"Job {job.Index} {job.State}{(job.ExitCode != null ? " with exit code " + job.ExitCode : string.Empty)}{(job.Reason != null ? ": " + job.Reason : string.Empty)}.");
                    _written.Add(job);
                    WriteObject(job);
                }

                var pending = waiter.Pending.Count;
                var queued = waiter.Queued > 0 ? $", {waiter.Queued} queued" : string.Empty;
                var status = $"{succeeded + failed} of {total} done, {pending - waiter.Queued} running{queued}, {failed} failed";
                Progress(Activity, status, 100 * (succeeded + failed) / total, force: true);
                if (pending == 0)
                {
                    break;
                }

                var waited = DateTime.UtcNow - started;
                if (Timeout >= 0 && waited >= TimeSpan.FromSeconds(Timeout))
                {
                    var left = Await(waiter.TimeOutAsync(waited, Cancellation));
                    var running = left.Where(j => j.InstanceId != null).ToList();
                    WriteWarning($"Timed out after {waited.TotalSeconds:0} s; {running.Count} instance(s) keep running and billing: {string.Join(", ", running.Select(j => j.InstanceId))}" +
                                 (running.Count < left.Count ? $"; {left.Count - running.Count} queued job(s) were not launched" : string.Empty) +
                                 ". Pipe the jobs into Wait-FemagJob again to go on waiting, or stop them with Stop-FemagInstance.");
                    _written.UnionWith(left);
                    WriteObject(left, enumerateCollection: true);
                    break;
                }

                var nap = TimeSpan.FromSeconds(PollInterval);
                if (Timeout >= 0)
                {
                    var remaining = TimeSpan.FromSeconds(Timeout) - waited;
                    nap = remaining < nap ? remaining : nap;
                }

                Sleep(nap);
            }

            CompleteProgress(Activity);
            if (waiter.FellBack > 0)
            {
                WriteWarning($"EC2 had no Spot capacity for {waiter.FellBack} launch(es); they run On-Demand. Set spot_fallback = 0 to queue such jobs for Spot instead.");
            }

            if (waiter.Relaunched > 0)
            {
                WriteWarning($"{waiter.Relaunched} lost instance(s) were replaced by new launches (max_attempts = launches per job); each job's Losses says why.");
            }

            var kept = _jobs.Where(j => KeepInstance && j.IsFinished).Select(j => j.InstanceId).ToList();
            if (kept.Count > 0)
            {
                WriteWarning($"-KeepInstance: {kept.Count} finished instance(s) keep running and billing unless they shut themselves down: {string.Join(", ", kept)}. Terminate them when you are done.");
            }

            var billing = JobBilling.Of(Clients, runners, _pricePerHour);
            // Every job given, finished ones too: a pool's instances are shared among all of its jobs, not only those
            // still running when this wait began.
            foreach (var warning in Await(billing.BillAsync(_given, Cancellation)))
            {
                WriteWarning(warning);
            }
        }
    }
}

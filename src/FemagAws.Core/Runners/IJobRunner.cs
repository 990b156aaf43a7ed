using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Insight;
using FemagAws.Jobs;

namespace FemagAws.Runners
{
    /// <summary>
    /// Where jobs run: each on an instance of its own (<see cref="InstancePerJob.InstancePerJobRunner"/>), or many jobs on
    /// a pool of instances that take them from a queue. The cmdlets are the same for both: they ask
    /// <see cref="JobRunners"/> for a job's runner and call it. One runner object serves one cmdlet call.
    /// </summary>
    public interface IJobRunner
    {
        /// <summary>
        /// Start-FemagInstance, before anything is created: checks what the start needs that can be checked locally and
        /// returns the job's rendered cloud-init script. Throws a <see cref="FemagException"/> when the job cannot start.
        /// </summary>
        string Prepare(FemagJob job, string? expectedBucketOwner);

        /// <summary>
        /// True when what runs the job's cloud-init script ends by itself, so it stops billing without a client: the
        /// script shuts its instance down or max_runtime is set, or a pool's worker ends its instance once idle.
        /// </summary>
        bool EndsItself(string cloudInit);

        /// <summary>For -WhatIf and -Confirm: what starting the job creates (the target) and how (the action).</summary>
        (string Target, string Action) Describe(FemagJob job, AwsTarget target);

        /// <summary>
        /// The launch policy's answer for the next job of this call: null to start it now, or why it is passed on
        /// Queued for Wait-FemagJob to start later.
        /// </summary>
        string? HoldReason(FemagJob job);

        /// <summary>Starts a prepared job; returns it Running, or Queued when it waits (for capacity, or in its pool's queue).</summary>
        Task<FemagJob> StartAsync(FemagJob job, string cloudInit, CancellationToken ct);

        /// <summary>
        /// After Start-FemagInstance's last job: starts what its jobs need together, such as a pool's instances. Returns
        /// what it did, for -Verbose.
        /// </summary>
        Task<IReadOnlyList<string>> EndStartAsync(CancellationToken ct);

        /// <summary>Wait-FemagJob: watches the jobs that run this way, one poll at a time.</summary>
        IJobWatch Watch(IReadOnlyCollection<FemagJob> jobs, WatchOptions options);

        /// <summary>
        /// Stop-FemagInstance, for -WhatIf and -Confirm: what stopping the job ends (the target) and how (the action); null
        /// when nothing runs or waits for it.
        /// </summary>
        (string Target, string Action)? DescribeStop(FemagJob job);

        /// <summary>
        /// Stop-FemagInstance: ends the jobs (terminates their instances, or withdraws them from their pool). A Running or
        /// TimedOut job that was ended becomes Failed. One outcome per job.
        /// </summary>
        Task<IReadOnlyList<JobStop>> StopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct);

        /// <summary>
        /// After Ctrl+C, with -StopOnCancel or for a launch nothing downstream knows of: ends what runs the jobs at once,
        /// within the stop's clean-up time and without Stop-FemagInstance's checks: terminates their instances, or
        /// withdraws them from their pool, which is removed when none of its jobs is left. Returns the jobs it ended.
        /// </summary>
        Task<IReadOnlyList<FemagJob>> EndAfterStopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct);

        /// <summary>
        /// After Ctrl+C: enters in the stop's ledger what runs the jobs besides the jobs themselves, which the cmdlets
        /// enter: a pool's queue and instances, looked up now.
        /// </summary>
        Task EnterStopAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, StopLedger ledger, CancellationToken ct);

        /// <summary>
        /// Get-FemagJob: settles the state of the listed jobs that run this way (<see cref="Claims"/>) from what the account
        /// holds, and adds jobs known only from the cloud (an instance or a queue whose buckets are gone).
        /// </summary>
        Task<List<FemagJob>> FindAsync(AwsTarget target, FemagConfig config, IReadOnlyList<FemagJob> listed, bool bucketsOnly, CancellationToken ct);

        /// <summary>
        /// Wait-FemagJob, at its end: every instance that billed for the jobs (all in <paramref name="target"/>), ended ones
        /// too: each attempt's instance of a job of its own, or every instance of the jobs' pools.
        /// </summary>
        Task<IReadOnlyList<InstanceStatus>> BilledInstancesAsync(AwsTarget target, IReadOnlyList<FemagJob> jobs, CancellationToken ct);

        /// <summary>True for a job that runs this way.</summary>
        bool Claims(FemagJob job);

        /// <summary>
        /// Get-FemagJobLog: the job's log as it stands now (an instance's console output, or the log a pool's worker keeps
        /// in the job's bucket) and the job's state, judged as <see cref="FindAsync"/> judges it on a copy of the job, so
        /// the caller's job is left as it was.
        /// </summary>
        Task<JobLogSnapshot> ReadLogAsync(FemagJob job, CancellationToken ct);
    }

    /// <summary>What Stop-FemagInstance did with one job.</summary>
    public sealed class JobStop
    {
        public JobStop(FemagJob job)
        {
            Job = job;
        }

        public FemagJob Job { get; }

        /// <summary>Why the job was left alone (what it runs on is not the module's, or unknown), or null.</summary>
        public FemagException? Refusal { get; set; }

        /// <summary>Something the user must know that did not stop the job from ending, or null.</summary>
        public string? Warning { get; set; }

        /// <summary>What was done, for -Verbose.</summary>
        public string? Note { get; set; }
    }

    /// <summary>How Wait-FemagJob waits.</summary>
    public sealed class WatchOptions
    {
        public WatchOptions(TimeSpan settleTime, bool keepInstances, int parallelism)
        {
            SettleTime = settleTime;
            KeepInstances = keepInstances;
            Parallelism = Math.Max(1, parallelism);
        }

        /// <summary>How long a bucket holds still, after the finish file appeared, before a job whose instance runs on is complete.</summary>
        public TimeSpan SettleTime { get; }

        /// <summary>Leaves finished instances running (-KeepInstance).</summary>
        public bool KeepInstances { get; }

        /// <summary>How many jobs are checked at once.</summary>
        public int Parallelism { get; }
    }

    /// <summary>Wait-FemagJob's view of the jobs one runner watches.</summary>
    public interface IJobWatch
    {
        /// <summary>The jobs not finished yet.</summary>
        IReadOnlyCollection<FemagJob> Pending { get; }

        /// <summary>How many of them wait to start (max_instances, capacity, a relaunch, or a pool's queue).</summary>
        int Queued { get; }

        /// <summary>Launches that asked for Spot and went On-Demand, over the whole wait.</summary>
        int FellBack { get; }

        /// <summary>Lost jobs started again, over the whole wait.</summary>
        int Relaunched { get; }

        /// <summary>Problems met in the last poll that did not end a job, for the cmdlet to show as warnings.</summary>
        List<string> Warnings { get; }

        /// <summary>What happened in the last poll, for -Verbose.</summary>
        List<string> Notes { get; }

        /// <summary>One poll; returns the jobs that reached an end state in it.</summary>
        Task<List<FemagJob>> PollAsync(CancellationToken ct);

        /// <summary>
        /// Marks the unfinished jobs as timed out, with the last lines of the logs of those that run, and hands them back;
        /// what they run on keeps running.
        /// </summary>
        Task<List<FemagJob>> TimeOutAsync(TimeSpan waited, CancellationToken ct);
    }
}

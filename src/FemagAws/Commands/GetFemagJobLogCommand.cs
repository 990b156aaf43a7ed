using System;
using System.Linq;
using System.Management.Automation;
using FemagAws.Insight;
using FemagAws.Internal;
using FemagAws.Runners;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets the log of FEMAG jobs: the console output of a job's instance, or the log a pool's worker keeps of it.</para>
    /// <para type="description">Get-FemagJobLog writes a job's log as lines of text (strings), so a job that hangs or fails can be looked into without logging in to its instance. For a job on an instance of its own, the log is the instance's console output (EC2 GetConsoleOutput), which holds what cloud-init and the job's cloud-init script printed; EC2 keeps its last 64 KB, updates it a few minutes behind on instances that cannot give the latest, and keeps it only for a while after the instance ended. For a job in a worker pool, the log is femag-aws/job.log in the job's bucket, the output of the job's script, which the worker writes every 30 seconds and when the job ends (Receive-FemagResult also brings it into the job's folder). Jobs come from the pipeline (from Start-FemagInstance, Wait-FemagJob, Get-FemagJob, or read back with Import-Clixml), or are rebuilt from their buckets, named with -BucketName, as Get-FemagJob rebuilds them. -Tail gives the last lines only. -Wait follows the job like Get-Content -Wait: it polls every -PollInterval seconds and writes each new line once, until the job has ended (its instance ended, or its pool's worker marked it ended); Ctrl+C stops following. The job's state is judged as Get-FemagJob judges it; the jobs given are not changed. A job that never ran, or whose log is gone (EC2 no longer has the instance's output), gives an error (FemagJobLogNotStarted, FemagJobLogGone) and the next job is read. Needs ec2:GetConsoleOutput for jobs on instances of their own.</para>
    /// </summary>
    /// <example>
    ///   <code>$jobs | Where-Object State -eq Failed | Get-FemagJobLog -Tail 20</code>
    ///   <para>Shows the last 20 lines of the log of every failed job.</para>
    /// </example>
    /// <example>
    ///   <code>Get-FemagJob -Region eu-central-1 -State Running | Select-Object -First 1 | Get-FemagJobLog -Wait</code>
    ///   <para>In a new session, follows a running job's log until the job ends.</para>
    /// </example>
    /// <example>
    ///   <code>Get-FemagJobLog -BucketName 5f0c2a4e-9c1b-4d5e-8f3a-2b7c6d1e0f9a-3 -Region eu-central-1 | Select-String error</code>
    ///   <para>Reads the log of the job of one bucket and picks out the lines that mention errors.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "FemagJobLog")]
    [OutputType(typeof(string))]
    public sealed class GetFemagJobLogCommand : FemagAwsCmdlet
    {
        private const string Activity = "Following FEMAG job logs";
        private JobRunners? _runners;

        /// <summary>
        /// <para type="description">The jobs whose logs to read, e.g. from Start-FemagInstance, Wait-FemagJob or Get-FemagJob, also read back with Import-Clixml.</para>
        /// </summary>
        [Parameter(Position = 0, ValueFromPipeline = true)]
        [Alias("InputObject")]
        public FemagJob[] Job { get; set; } = new FemagJob[0];

        /// <summary>
        /// <para type="description">Buckets of jobs whose logs to read, in -Region (else the region of AWS_REGION, AWS_DEFAULT_REGION or the AWS profile, else eu-central-1), also by property name from the pipeline; each job is rebuilt from its bucket as Get-FemagJob rebuilds it.</para>
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[]? BucketName { get; set; }

        /// <summary>
        /// <para type="description">Only the last this many lines of the log (with -Wait: of the log as it stands, then every new line).</para>
        /// </summary>
        [Parameter]
        [ValidateRange(0, int.MaxValue)]
        public int Tail { get; set; } = -1;

        /// <summary>
        /// <para type="description">Follows the log of a running or queued job until the job has ended, like Get-Content -Wait, writing each new line once. Ctrl+C stops following.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>
        /// <para type="description">Seconds between two reads with -Wait; the default is 5. Each read costs a GetConsoleOutput and a DescribeInstances, or a few S3 requests for a pool job.</para>
        /// </summary>
        [Parameter]
        [ValidateRange(0.1, 3600)]
        public double PollInterval { get; set; } = 5;

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            _runners = new JobRunners(Clients);
        }

        protected override void ProcessRecord()
        {
            // One parameter set, as in Stop-FemagInstance: PowerShell binds a deserialized job's BucketName by property
            // name before it converts the object to a job, which keeps its region and endpoint. An object that converts
            // to a job without a bucket is none: then -BucketName counts.
            var jobs = Job.Where(j => j.BucketName.Length > 0).ToList();
            if (jobs.Count > 0)
            {
                foreach (var job in jobs)
                {
                    var target = Retarget(job);
                    OrTerminate(() => ClientsFor(target), target);
                    Follow(job);
                }

                return;
            }

            if (BucketName == null || BucketName.Length == 0)
            {
                WriteError(ErrorRecords.Create("FemagNoJobLogAsked", FemagErrorKind.InvalidArgument,
                    "Pipe jobs into Get-FemagJobLog (e.g. from Get-FemagJob), or name their buckets with -BucketName.", null));
                return;
            }

            var where = TargetOf(FemagConfig.Defaults);
            OrTerminate(() => ClientsFor(where), where);
            foreach (var name in BucketName)
            {
                FemagJob? job;
                try
                {
                    job = Await(_runners!.RebuildAsync(where, name, FemagConfig.Defaults, Cancellation));
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, name);
                    continue;
                }

                if (job == null)
                {
                    WriteError(ErrorRecords.Create(ErrorIds.AwsNoSuchBucket, FemagErrorKind.ObjectNotFound, $"Bucket {name} was removed while its job was looked up; there is no job to read the log of.", name));
                    continue;
                }

                Follow(job);
            }
        }

        /// <summary>Writes the job's log; with -Wait, the new lines of each read until the job has ended.</summary>
        private void Follow(FemagJob job)
        {
            var reader = new JobLogReader(_runners!.For(job), job, Tail >= 0 ? Tail : (int?)null);
            while (true)
            {
                try
                {
                    WriteObject(Await(reader.ReadAsync(Wait, Cancellation)), enumerateCollection: true);
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, job);
                    break;
                }

                if (!Wait || reader.Ended)
                {
                    break;
                }

                Progress(Activity, $"Job {job.Index} (bucket {job.BucketName}) is {reader.State}; looking again every {PollInterval:0.#} s until it ends. Ctrl+C stops following.", 0, force: true);
                Sleep(TimeSpan.FromSeconds(PollInterval));
            }

            if (Wait)
            {
                CompleteProgress(Activity);
            }
        }
    }
}

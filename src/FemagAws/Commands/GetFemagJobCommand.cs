using System.Linq;
using System.Management.Automation;
using FemagAws.Internal;
using FemagAws.Jobs;
using FemagAws.Runners;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets the FEMAG jobs in a region from the module's buckets and instances, with no local state.</para>
    /// <para type="description">Get-FemagJob rebuilds the jobs of one region (-Region, else server_location where the config sets it, AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's region, else eu-central-1) from what is in the AWS account alone: the instances tagged femag-aws:bucket and the buckets named '&lt;uuid&gt;-&lt;index&gt;' with the femag-aws:index tag. So a new session, after a crash or a reboot, can stop, wait for, receive and clean up jobs another session started. A job is Running while its instance is pending or running; Succeeded or Failed, with its ExitCode, when the finish file is in the bucket; Failed with the reason when its instance ended without writing the finish file (stopped by the max_runtime watchdog, when it ran that long); and Uploaded when the bucket holds only the archive. An instance whose bucket is gone still gives a job, so it can be stopped. Each job carries its folder (recorded in the bucket's tags by New-FemagBucket, which an instance cannot change; a bucket made by an earlier version of the module gives no folder, so Receive-FemagResult asks for -Destination), instance, launch and bucket creation times, and its Attempt, Lifecycle and Losses, read from the tags of the bucket's instances (EC2 lists a terminated instance for about an hour, so older losses are not found). A lost job with launches left (max_attempts) is Running: Wait-FemagJob launches it again; one lost on its last launch is Failed with the reason of every attempt. Pass the config with -ConfigFile or -Config when later cmdlets need it (finish_task_filename, delete_buckets); without it the defaults are used. One DescribeInstances per 1,000 instances, one ListBuckets, one sts:GetCallerIdentity, and up to two S3 requests per bucket (three where the store does not name each bucket's region in the listing), 16 buckets at a time; and one GetConsoleOutput per job whose instance ended without the finish file, for the last lines of its output in its Reason.</para>
    /// </summary>
    /// <example>
    ///   <code>Get-FemagJob -ConfigFile config.ini | Wait-FemagJob | Receive-FemagResult</code>
    ///   <para>Resumes after a reboot: waits for the jobs still running and downloads every finished job's results into its folder.</para>
    /// </example>
    /// <example>
    ///   <code>Get-FemagJob -Region eu-central-1 | Where-Object State -eq Running | Stop-FemagInstance</code>
    ///   <para>Cleans up after a crash: terminates every instance of the module that still runs in the region.</para>
    /// </example>
    /// <example>
    ///   <code>Get-FemagJob -Region eu-central-1 -State Uploaded, Failed</code>
    ///   <para>Lists the jobs that never started or failed.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "FemagJob", DefaultParameterSetName = DefaultSet)]
    [OutputType(typeof(FemagJob))]
    public sealed class GetFemagJobCommand : FemagAwsCmdlet
    {
        private const string DefaultSet = "Default";
        private const string ConfigFileSet = "ConfigFile";
        private const string ConfigSet = "Config";
        private const string Activity = "Finding FEMAG jobs";

        /// <summary>
        /// <para type="description">The femagtools INI file with the [amazon] section; its server_location, where set, is the region, and the jobs carry it for Wait-FemagJob and Receive-FemagResult.</para>
        /// </summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConfigFileSet)]
        [ValidateNotNullOrEmpty]
        public string? ConfigFile { get; set; }

        /// <summary>
        /// <para type="description">A configuration read with Import-FemagConfig, also from the pipeline.</para>
        /// </summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ConfigSet)]
        public FemagConfig? Config { get; set; }

        /// <summary>
        /// <para type="description">Only jobs in these states (Uploaded, Running, Succeeded, Failed).</para>
        /// </summary>
        [Parameter]
        public FemagJobState[]? State { get; set; }

        protected override void ProcessRecord()
        {
            var config = ParameterSetName == DefaultSet ? FemagConfig.Defaults : OrTerminate(() => LoadConfig(ConfigFile, Config), ConfigFile);
            var target = TargetOf(config);
            OrTerminate(() => ClientsFor(target), target);
            Progress(Activity, $"Listing the module's instances and buckets in {target.Region}", 0, force: true);
            try
            {
                var jobs = Await(new JobRunners(Clients).FindAsync(target, config, Cancellation));
                CompleteProgress(Activity);
                WriteObject(jobs.Where(j => State == null || State.Contains(j.State)), enumerateCollection: true);
            }
            catch (FemagException ex)
            {
                WriteFailure(ex, target.Region);
            }
        }
    }
}

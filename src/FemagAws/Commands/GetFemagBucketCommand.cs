using System.Management.Automation;
using FemagAws.Internal;
using FemagAws.Jobs;
using FemagAws.Runners;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists the module's buckets in a region, or gets jobs for named buckets to start them again.</para>
    /// <para type="description">Get-FemagBucket turns existing buckets into FemagJobs. Without -Name it lists the module's buckets (named '&lt;uuid&gt;-&lt;index&gt;' and tagged femag-aws:index) in one region: -Region, else server_location where the config sets it, AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's region, else eu-central-1, each with the state Get-FemagJob gives it (Uploaded, Running, Succeeded or Failed, from the bucket's finish file and instances; an instance whose bucket is gone is listed by Get-FemagJob only). Listing needs no config; without one the jobs carry femagtools' defaults, enough for Receive-FemagResult and Remove-FemagBucket. With -Name (alias Id) and -Folder, also from objects such as the rows of Import-Csv, it makes jobs for buckets uploaded earlier, like the 'buckets' list of femagtools' Amazon engine, so that they can be started again; as Start-FemagInstance launches them with the config's image, instance profile and cloud-init script, names need -ConfigFile or -Config. Each job gets the bucket's own region. A finish file left in a reused bucket by an earlier run is removed when Start-FemagInstance starts the job, so it never makes the new run look finished.</para>
    /// </summary>
    /// <example>
    ///   <code>Import-Csv buckets.csv | Get-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult</code>
    ///   <para>Reruns calculations whose buckets are listed in a CSV file with the columns id and folder.</para>
    /// </example>
    /// <example>
    ///   <code>Get-FemagBucket -Region eu-central-1</code>
    ///   <para>Lists the module's buckets in eu-central-1, with the folder each was uploaded from; no config is needed.</para>
    /// </example>
    /// <example>
    ///   <code>Get-FemagBucket -ConfigFile config.ini</code>
    ///   <para>Lists the module's buckets in the config's region, as jobs that carry the config.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "FemagBucket", DefaultParameterSetName = DefaultSet)]
    [OutputType(typeof(FemagJob))]
    public sealed class GetFemagBucketCommand : FemagAwsCmdlet
    {
        private const string DefaultSet = "Default";
        private const string ConfigFileSet = "ConfigFile";
        private const string ConfigSet = "Config";
        private FemagConfig? _config;
        private bool _named;

        /// <summary>
        /// <para type="description">The bucket name, e.g. 926c39a7-db69-42f8-bf86-2fd1f8559188-0. Without it, the module's buckets in the region are listed.</para>
        /// </summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "BucketName")]
        [ValidateNotNullOrEmpty]
        public string[]? Name { get; set; }

        /// <summary>
        /// <para type="description">The local folder the bucket's results go to. Without it, the folder New-FemagBucket recorded in the bucket's tags is used; a bucket without one (made by an earlier version) gives a job without a folder.</para>
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? Folder { get; set; }

        /// <summary>
        /// <para type="description">The job index, where the bucket name does not end in '-&lt;index&gt;'.</para>
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateRange(0, int.MaxValue)]
        public int? Index { get; set; }

        /// <summary>
        /// <para type="description">The femagtools INI file with the [amazon] section, which the jobs carry to Start-FemagInstance; needed with -Name. Its server_location, where set, is the region.</para>
        /// </summary>
        [Parameter(Mandatory = true, ParameterSetName = ConfigFileSet)]
        [ValidateNotNullOrEmpty]
        public string? ConfigFile { get; set; }

        /// <summary>
        /// <para type="description">A configuration read with Import-FemagConfig.</para>
        /// </summary>
        [Parameter(Mandatory = true, ParameterSetName = ConfigSet)]
        public FemagConfig? Config { get; set; }

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            _config = ParameterSetName == DefaultSet ? null : OrTerminate(() => LoadConfig(ConfigFile, Config), ConfigFile);
        }

        protected override void ProcessRecord()
        {
            if (Name == null)
            {
                return;
            }

            // Named buckets are there to be started again, which a job without the config's settings cannot be.
            if (_config == null)
            {
                ThrowTerminatingError(ErrorRecords.Create("FemagConfigNeeded", FemagErrorKind.InvalidArgument,
                    "Get-FemagBucket -Name makes jobs to start again, and Start-FemagInstance launches them with the config's image, instance profile and cloud-init script: " +
                    "give -ConfigFile or -Config. Without -Name, Get-FemagBucket lists the module's buckets and needs no config.", Name));
            }

            _named = true;
            var target = TargetOf(_config!);
            OrTerminate(() => ClientsFor(target), target);
            var folder = Folder == null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Folder);
            foreach (var name in Name)
            {
                try
                {
                    WriteObject(Await(BucketFinder.FindAsync(Clients, target, name, folder, Index, _config!, Cancellation)));
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, name);
                }
            }
        }

        protected override void EndProcessing()
        {
            if (_named)
            {
                return;
            }

            var config = _config ?? FemagConfig.Defaults;
            var target = TargetOf(config);
            OrTerminate(() => ClientsFor(target), target);
            try
            {
                WriteObject(Await(new JobRunners(Clients).FindAsync(target, config, Cancellation, bucketsOnly: true)), enumerateCollection: true);
            }
            catch (FemagException ex)
            {
                WriteFailure(ex, target.Region);
            }
        }
    }
}

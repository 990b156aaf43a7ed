using System.Management.Automation;
using FemagAws.Jobs;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets jobs for buckets that already hold an uploaded calculation.</para>
    /// <para type="description">Get-FemagBucket turns existing buckets into FemagJobs, like the 'buckets' list of femagtools' Amazon engine, so that calculations uploaded earlier can be started again. Name the buckets with -Name (alias Id) and their local folders with -Folder, also from objects such as the rows of Import-Csv. Without -Name it lists the module's buckets in the region. Each job gets the bucket's own region. A finish file left in a reused bucket by an earlier run is removed when Start-FemagInstance starts the job, so it never makes the new run look finished.</para>
    /// </summary>
    /// <example>
    ///   <code>Import-Csv buckets.csv | Get-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult</code>
    ///   <para>Reruns calculations whose buckets are listed in a CSV file with the columns id and folder.</para>
    /// </example>
    /// <example>
    ///   <code>Get-FemagBucket -ConfigFile config.ini</code>
    ///   <para>Lists the module's buckets in the configured region.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "FemagBucket", DefaultParameterSetName = ConfigFileSet)]
    [OutputType(typeof(FemagJob))]
    public sealed class GetFemagBucketCommand : FemagAwsCmdlet
    {
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
        /// <para type="description">The local folder the bucket's results go to. Without it, the folder recorded when the bucket was created is used.</para>
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
        /// <para type="description">The femagtools INI file with the [amazon] section.</para>
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
            _config = OrTerminate(() => LoadConfig(ConfigFile, Config), ConfigFile);
        }

        protected override void ProcessRecord()
        {
            if (Name == null)
            {
                return;
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

            var target = TargetOf(_config!);
            OrTerminate(() => ClientsFor(target), target);
            try
            {
                WriteObject(Await(BucketFinder.ListAsync(Clients, target, _config!, Cancellation)), enumerateCollection: true);
            }
            catch (FemagException ex)
            {
                WriteFailure(ex, target.Region);
            }
        }
    }
}

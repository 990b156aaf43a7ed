using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using FemagAws.Internal;
using FemagAws.Jobs;
using FemagAws.Aws;
using FemagAws.Runners.InstancePerJob;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Creates one S3 bucket per calculation folder and uploads the folder into it as a tar.gz.</para>
    /// <para type="description">New-FemagBucket takes the folders of a parameter variation from the pipeline, each holding a femag.fsl and its model files. For each folder it creates a bucket named '&lt;uuid&gt;-&lt;index&gt;' (index 0, 1, 2… by position in the input, so a folder that fails keeps its number from the others) in the region given by -Region, else by server_location where the config sets it, AWS_REGION, AWS_DEFAULT_REGION or the AWS profile, else eu-central-1. It blocks public access, and uploads the folder's files, relative to the folder, as '&lt;index&gt;.tar.gz' at the bucket root. It emits one FemagJob per folder, ready for Start-FemagInstance. Folders are packed and uploaded in parallel, at most -ThrottleLimit at a time; each archive streams into S3 while it is packed (a multipart upload above 8 MiB), so it never exists whole in memory or on disk, and it appears in the bucket only once it is complete.</para>
    /// </summary>
    /// <example>
    ///   <code>Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult</code>
    ///   <para>Runs a whole parameter variation: one bucket and one instance per folder, results downloaded into each folder.</para>
    /// </example>
    /// <example>
    ///   <code>$jobs = 'parvar/0', 'parvar/1' | New-FemagBucket -ConfigFile config.ini -WhatIf</code>
    ///   <para>Shows which buckets would be created, creating nothing.</para>
    /// </example>
    [Cmdlet(VerbsCommon.New, "FemagBucket", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ConfigFileSet)]
    [OutputType(typeof(FemagJob))]
    public sealed class NewFemagBucketCommand : FemagAwsCmdlet
    {
        private const string ConfigFileSet = "ConfigFile";
        private const string ConfigSet = "Config";
        private const string Activity = "Uploading FEMAG jobs";
        private WorkQueue<FemagJob, FemagJob>? _queue;
        private FemagConfig? _config;
        private int _nextIndex;
        private readonly List<FemagJob> _emitted = new List<FemagJob>();

        /// <summary>
        /// <para type="description">A calculation folder. Accepts strings, DirectoryInfo objects (by FullName or PSPath) and objects with a LiteralPath property.</para>
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "PSPath", "LiteralPath")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = new string[0];

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

        /// <summary>
        /// <para type="description">How many folders are packed and uploaded at once. The default, 8, suits a laptop on office Wi-Fi talking to S3: enough requests in flight to fill the link while packing uses every core. Each folder streams into S3 as it is packed, in 8 MiB parts with at most two parts on their way, so memory stays near ThrottleLimit x 24 MiB whatever the size of the models.</para>
        /// </summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 8;

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            _config = OrTerminate(() => LoadConfig(ConfigFile, Config), ConfigFile);
            WarnAboutConfig(_config, always: true);

            // A bucket whose job could never be launched would only be left behind.
            OrTerminate(() => { InstanceStarter.CheckConfig(_config); return true; }, ConfigFile);
            _queue = new WorkQueue<FemagJob, FemagJob>(ThrottleLimit);
        }

        protected override void ProcessRecord()
        {
            foreach (var path in Path)
            {
                var index = _nextIndex++;
                var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
                var folder = new DirectoryInfo(full);
                if (!folder.Exists)
                {
                    WriteError(ErrorRecords.Create("FemagFolderNotFound", FemagErrorKind.ObjectNotFound,
                        $"Folder '{full}' does not exist. Pass the folders of a parameter variation, e.g. Get-ChildItem parvar -Directory.", path));
                    continue;
                }

                var target = TargetOf(_config!);
                if (!ShouldProcess($"folder {full} into {FemagJob.ArchiveKeyFor(index)} of a new bucket <uuid>-{index} in {target}", "Create bucket and upload"))
                {
                    continue;
                }

                var clients = OrTerminate(() => ClientsFor(target), target);
                var config = _config!;
                _queue!.Start(new FemagJob { Index = index, Folder = full, Region = target.Region }, _ => JobUploader.CreateAsync(clients, folder, index, config, Cancellation));
                Drain(_queue, false, Activity, Emit);
            }
        }

        protected override void EndProcessing()
        {
            Drain(_queue!, true, Activity, Emit);
            CompleteProgress(Activity);
        }

        protected override bool HasWorkInFlight => _queue?.Count > 0;

        /// <summary>
        /// Ctrl+C: uploads in flight remove their own buckets; one that finished but was never passed on is removed
        /// here, since nothing downstream knows it. Buckets already passed on are kept and entered in the ledger.
        /// </summary>
        protected override void OnStopped()
        {
            foreach (var item in _queue?.Settle(CleanupTime) ?? new List<WorkItem<FemagJob, FemagJob>>())
            {
                if (!item.IsFinished)
                {
                    Ledger.LeftBehind($"the upload of folder '{item.Input.Folder}' (index {item.Input.Index}) did not end in time, so its bucket may exist; " +
                                      $"'{PowerShellCommands.Instance.ListJobs(AwsTarget.Of(item.Input))}' lists the module's buckets and Remove-FemagBucket removes them.");
                }
                else if (item.Error == null)
                {
                    try
                    {
                        JobUploader.DiscardBucketAsync(Clients.Get(item.Result), item.Result, null).GetAwaiter().GetResult();
                        Ledger.UploadCutOff(item.Input);
                    }
                    catch (FemagException ex)
                    {
                        Ledger.LeftBehind(ex.Message);
                    }
                }
                else if (item.Error is FemagException f && f.ErrorId == ErrorIds.UploadFailedBucketLeft)
                {
                    Ledger.LeftBehind(f.Message);
                }
                else
                {
                    Ledger.UploadCutOff(item.Input);
                }
            }

            foreach (var job in _emitted)
            {
                Ledger.Uploaded(job);
            }
        }

        private void Emit(WorkItem<FemagJob, FemagJob> item)
        {
            // Listed before it is written: downstream may hold it even when WriteObject ends in a stop.
            _emitted.Add(item.Result);
            WarnedAbout(item.Result.Config);
            WriteObject(item.Result);
        }
    }
}

using System.Collections.Generic;
using System.Management.Automation;
using FemagAws.Internal;
using FemagAws.Jobs;
using FemagAws.Runners.InstancePerJob;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Downloads the objects of each job's bucket that are new or changed into the job's folder.</para>
    /// <para type="description">Receive-FemagResult downloads the objects of a finished job's bucket (any number of pages, creating subfolders for keys with '/') into the job's folder or -Destination. Each file is written beside its target and renamed when complete.</para>
    /// <para type="description">Two kinds of object are not downloaded, unless -IncludeUnchanged is given: the job's own input archive (&lt;index&gt;.tar.gz with the ETag New-FemagBucket got for it, which it also put in the bucket's tags for jobs rebuilt by Get-FemagJob; an archive the instance replaced is downloaded), and any object whose bytes equal the file already at its place in the destination. The latter is decided by size and the S3 ETag: the MD5 of the file for objects uploaded in one piece, and for multipart objects the MD5 of the parts' MD5s, with the part size read from the object's first part (one HEAD request). A file that differs, even with the same size, is downloaded; so is an object whose ETag is not of these forms (an SSE-KMS object, say). -Verbose says how many objects and bytes were skipped.</para>
    /// <para type="description">A key that would land outside the destination ('..', an absolute path) is refused with an error and never written. So is a key that cannot be a file of its own on the platform that receives it: on Windows a reserved device name (CON, NUL.txt, COM1), one of &lt;&gt;|?*" or a control character, or a name ending in a dot or a space; on Windows and macOS two keys that differ only in case (on macOS also in how an accented letter is encoded), which would be one file; anywhere a name longer than the file system allows, or a file where other keys need a folder. Each refused key gets its own error (FemagUnsafeResultKey or FemagResultKeyNotAllowed) naming it, the other keys are received, and the bucket is kept. When the config sets delete_buckets, or with -RemoveBucket, the bucket and its objects are deleted after everything arrived, unless an instance of the job is still pending, running, stopping or stopped: then the bucket is kept with an error naming the instance. Only the objects that were listed (downloaded or skipped as unchanged) are deleted: if the instance wrote more in the meantime, or an upload into the bucket is unfinished, the bucket is kept with a warning; receiving the job again fetches the rest and then removes the bucket, and Remove-FemagBucket removes it with whatever is left. Jobs are received in parallel, at most -ThrottleLimit at a time.</para>
    /// </summary>
    /// <example>
    ///   <code>$jobs | Wait-FemagJob | Receive-FemagResult</code>
    ///   <para>Downloads each job's results into its folder as soon as the job is done.</para>
    /// </example>
    /// <example>
    ///   <code>$jobs | Receive-FemagResult -Destination D:\results -RemoveBucket</code>
    ///   <para>Downloads into D:\results and deletes the buckets afterwards, including the objects that were skipped as unchanged.</para>
    /// </example>
    /// <example>
    ///   <code>$jobs | Receive-FemagResult -IncludeUnchanged -Verbose</code>
    ///   <para>Downloads every object, the input archive and unchanged files too, as femagtools does.</para>
    /// </example>
    [Cmdlet(VerbsCommunications.Receive, "FemagResult", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FemagJob))]
    public sealed class ReceiveFemagResultCommand : FemagAwsCmdlet
    {
        private const string Activity = "Receiving FEMAG results";
        private WorkQueue<FemagJob, ReceiveOutcome>? _queue;
        private readonly List<FemagJob> _received = new List<FemagJob>();

        /// <summary>
        /// <para type="description">The jobs whose results to download, usually from Wait-FemagJob.</para>
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [Alias("InputObject")]
        public FemagJob[] Job { get; set; } = new FemagJob[0];

        /// <summary>
        /// <para type="description">A folder for the results instead of the job's own folder; each job's results go into a subfolder named after its index.</para>
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Destination { get; set; }

        /// <summary>
        /// <para type="description">Deletes each bucket and its objects after the download, whatever delete_buckets says.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter RemoveBucket { get; set; }

        /// <summary>
        /// <para type="description">Downloads even from jobs that have not finished; their buckets are kept.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>
        /// <para type="description">Downloads every object of the bucket: also the job's input archive and the objects identical to the files already in the destination, which are otherwise skipped.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter IncludeUnchanged { get; set; }

        /// <summary>
        /// <para type="description">How many jobs are downloaded at once (default 4).</para>
        /// </summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            _queue = new WorkQueue<FemagJob, ReceiveOutcome>(ThrottleLimit);
        }

        protected override void ProcessRecord()
        {
            foreach (var job in Job)
            {
                if (!job.IsFinished && !Force)
                {
                    WriteError(ErrorRecords.Create("FemagJobNotFinished", FemagErrorKind.InvalidOperation,
                        $"Job {job.Index} (bucket {job.BucketName}) is {job.State}; its results may be incomplete. Wait for it with Wait-FemagJob, or use -Force to download anyway.", job));
                    continue;
                }

                // Nothing ran: there is nothing to receive, and the bucket keeps the upload to start the job again.
                if (InstanceStarter.NeverRan(job))
                {
                    WriteVerbose($"Job {job.Index} (bucket {job.BucketName}) never ran, as its launch failed: nothing to receive, and its bucket keeps the upload.");
                    WriteObject(job);
                    continue;
                }

                var destination = Destination != null
                    ? System.IO.Path.Combine(SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination), job.Index.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    : job.Folder;
                if (destination == null)
                {
                    WriteError(ErrorRecords.Create("FemagNoDestination", FemagErrorKind.InvalidArgument,
                        $"Job {job.Index} (bucket {job.BucketName}) has no folder. Pass -Destination.", job));
                    continue;
                }

                if (!ShouldProcess($"bucket {job.BucketName} into {destination}", "Download results"))
                {
                    continue;
                }

                // A bucket an instance may still write to is never deleted.
                var remove = (RemoveBucket || job.Config.DeleteBuckets) && job.IsFinished &&
                             ShouldProcess($"bucket {job.BucketName}", "Delete bucket and its objects after download");
                var target = Retarget(job);
                var clients = OrTerminate(() => ClientsFor(target), target);
                _queue!.Start(job, j => ResultReceiver.ReceiveAsync(clients, j, destination, remove, IncludeUnchanged, 8, Cancellation));
                Drain(_queue, false, Activity, Emit);
            }
        }

        protected override void EndProcessing()
        {
            Drain(_queue!, true, Activity, Emit);
            CompleteProgress(Activity);
        }

        protected override bool HasWorkInFlight => _queue?.Count > 0;

        /// <summary>Ctrl+C: downloads in flight delete their partial files; their jobs' results stay in their buckets.</summary>
        protected override void OnStopped()
        {
            foreach (var item in _queue?.Settle(CleanupTime) ?? new List<WorkItem<FemagJob, ReceiveOutcome>>())
            {
                if (!item.IsFinished || item.Error != null)
                {
                    Ledger.ResultsInBucket(item.Input);
                }
            }

            foreach (var job in _received)
            {
                Ledger.Received(job);
            }
        }

        private void Emit(WorkItem<FemagJob, ReceiveOutcome> item)
        {
            foreach (var refused in item.Result.Refused)
            {
                WriteFailure(refused, item.Input);
            }

            if (item.Result.BucketInUse != null)
            {
                WriteFailure(item.Result.BucketInUse, item.Input);
            }

            if (item.Result.BucketKept != null)
            {
                WriteWarning(item.Result.BucketKept);
            }

            var outcome = item.Result;
            WriteVerbose($"Job {item.Input.Index}: {outcome.Files} file(s), {outcome.Bytes} bytes received; {outcome.Skipped} unchanged object(s), {outcome.SkippedBytes} bytes skipped{(outcome.BucketRemoved ? "; bucket removed" : string.Empty)}.");
            _received.Add(item.Input);
            WriteObject(item.Input);
        }
    }
}

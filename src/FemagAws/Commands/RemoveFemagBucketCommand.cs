using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using FemagAws.Aws;
using FemagAws.Aws.S3;
using FemagAws.Internal;
using FemagAws.Jobs;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Deletes the S3 buckets of FEMAG jobs with every object in them.</para>
    /// <para type="description">Remove-FemagBucket deletes the buckets of the jobs piped in, or the buckets named with -Name, together with all their objects (any number of pages) and any unfinished uploads. It only ever deletes buckets FemagAws created: the name must be '&lt;uuid&gt;-&lt;index&gt;' and the bucket must carry the femag-aws:index tag; other buckets are refused with an error and kept. A bucket whose instance is still pending, running, stopping or stopped is refused too, because the instance may still write results into it or bill: stop the instance with Stop-FemagInstance or wait for the job with Wait-FemagJob first. Deleting is permanent, so the cmdlet asks for confirmation (ConfirmImpact High); -Force or -Confirm:$false deletes without asking, and -WhatIf, which wins over -Force, deletes nothing. Each bucket is looked up in its own region.</para>
    /// </summary>
    /// <example>
    ///   <code>Get-FemagJob -ConfigFile config.ini | Where-Object State -in Succeeded, Failed | Remove-FemagBucket -Force</code>
    ///   <para>Deletes the buckets of all finished jobs in the configured region without asking, for example once their results were received.</para>
    /// </example>
    /// <example>
    ///   <code>Remove-FemagBucket -Name 926c39a7-db69-42f8-bf86-2fd1f8559188-0 -WhatIf</code>
    ///   <para>Checks that the bucket is the module's and idle, and shows that it would be deleted, deleting nothing.</para>
    /// </example>
    /// <example>
    ///   <code>Import-Csv buckets.csv | Remove-FemagBucket -Confirm:$false</code>
    ///   <para>Deletes the buckets listed in the id column of a CSV file (femagtools' 'buckets' list).</para>
    /// </example>
    [Cmdlet(VerbsCommon.Remove, "FemagBucket", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(FemagJob), typeof(string))]
    public sealed class RemoveFemagBucketCommand : FemagAwsCmdlet
    {
        private const string Activity = "Removing FEMAG buckets";

        // The input object (a job or a name) with its bucket and where to start looking for it.
        private string? _removing;
        private AwsTarget? _removingFrom;
        private readonly List<KeyValuePair<object, AwsTarget>> _buckets = new List<KeyValuePair<object, AwsTarget>>();

        /// <summary>
        /// <para type="description">The jobs whose buckets to delete, e.g. from Get-FemagJob or Receive-FemagResult.</para>
        /// </summary>
        [Parameter(ValueFromPipeline = true)]
        [Alias("InputObject")]
        public FemagJob[] Job { get; set; } = new FemagJob[0];

        /// <summary>
        /// <para type="description">Names of buckets to delete, e.g. 926c39a7-db69-42f8-bf86-2fd1f8559188-0. Each is found in its own region.</para>
        /// </summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("BucketName", "Id")]
        public string[]? Name { get; set; }

        /// <summary>
        /// <para type="description">Deletes without asking for confirmation. -WhatIf still deletes nothing.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>
        /// <para type="description">Emits each job (or name) whose bucket was deleted.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            // One parameter set: PowerShell binds a deserialized job's BucketName by property name before it converts
            // the object to a job, and a separate set would lose the job's endpoint and profile. Any object with a name
            // also converts to a job, but one without a bucket is none: then -Name counts.
            var jobs = Job.Where(j => j.BucketName.Length > 0).ToList();
            if (jobs.Count > 0)
            {
                _buckets.AddRange(jobs.Select(job => new KeyValuePair<object, AwsTarget>(job, Retarget(job))));
            }
            else if (Name != null && Name.Length > 0 && Name.All(n => !string.IsNullOrEmpty(n)))
            {
                _buckets.AddRange(Name.Select(name => new KeyValuePair<object, AwsTarget>(name, TargetOf(FemagConfig.Defaults))));
            }
            else
            {
                WriteError(ErrorRecords.Create("FemagNothingToRemove", FemagErrorKind.InvalidArgument,
                    "Pipe jobs into Remove-FemagBucket (e.g. from Get-FemagJob), or name buckets with -Name.", null));
            }
        }

        /// <summary>Ctrl+C while a bucket was being emptied: it may be left with part of its objects.</summary>
        protected override void OnStopped()
        {
            if (_removing != null)
            {
                Ledger.LeftBehind($"bucket {_removing} was being removed and may still hold part of its objects; run '{PowerShellCommands.Instance.RemoveBucket(_removingFrom!, _removing)}' again to finish.");
            }
        }

        protected override void EndProcessing()
        {
            for (var i = 0; i < _buckets.Count; i++)
            {
                var input = _buckets[i].Key;
                var name = input is FemagJob job ? job.BucketName : (string)input;
                Progress(Activity, $"Bucket {name} ({i + 1} of {_buckets.Count})", 100 * i / _buckets.Count, force: true);
                try
                {
                    OrTerminate(() => ClientsFor(_buckets[i].Value), _buckets[i].Value);
                    var clients = Await(BucketRemover.CheckAsync(Clients, _buckets[i].Value, name, Cancellation));
                    if (!ShouldProcess($"bucket {name} in {clients.Target.Region} and every object in it", "Remove bucket", Force))
                    {
                        continue;
                    }

                    _removing = name;
                    _removingFrom = clients.Target;
                    var objects = Await(BucketRemover.RemoveAsync(clients, name, Cancellation));
                    _removing = null;
                    WriteVerbose($"Removed bucket {name} and its {objects} object(s).");
                }
                catch (FemagException ex) when (JobBuckets.IsGone(ex))
                {
                    // Already gone, as asked: another session or delete_buckets removed it. Not a failure.
                    _removing = null;
                    WriteWarning($"Bucket {name} no longer exists; nothing to remove.");
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, input);
                    continue;
                }

                if (PassThru)
                {
                    WriteObject(input);
                }
            }

            CompleteProgress(Activity);
        }
    }
}

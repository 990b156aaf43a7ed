using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using FemagAws.Insight;
using FemagAws.Internal;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes a run's jobs to one self-contained HTML report: a timeline, the job table and the totals.</para>
    /// <para type="description">Export-FemagReport takes the jobs piped in, from Wait-FemagJob, Receive-FemagResult, Get-FemagJob or Import-Clixml of saved jobs, and writes one HTML file that opens in any browser with no network: its styles and its small script are inside the file. The timeline has one row per instance and one bar per run of a job on it, from its start to its end, coloured by how the run ended (Succeeded, Failed, Lost, Stopped, TimedOut, or Running); a pool instance's row holds the bars of all the jobs it ran, in lanes where its slots overlap, and a relaunch after a lost instance is a bar of its own with a dark left edge. A run that had not ended reaches to the report's end, striped. Hover over a bar for the job, its bucket, attempt, times and outcome. The job table lists each job's index, bucket, state, exit code, attempts, instances, instance type, Spot or On-Demand, runtime, billed seconds, cost, reason and a link to its folder; it filters by state or text and sorts by any column. Like Export-Csv, an existing file is replaced unless -NoClobber is given, and a read-only one only with -Force; the file is written beside its place first and swapped in, so a failure keeps the old one. -Path is taken relative to the current PowerShell location.</para>
    /// </summary>
    /// <example>
    ///   <code>Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob | Receive-FemagResult | Export-FemagReport -Path run.html</code>
    ///   <para>Runs a parameter variation and writes its report to run.html in the current folder once every job is done.</para>
    /// </example>
    /// <example>
    ///   <code>Import-Clixml jobs.xml | Export-FemagReport -Path reports/w6.html -Title 'W6, 200 jobs' -PassThru | Invoke-Item</code>
    ///   <para>Writes the report of jobs saved earlier with Export-Clixml under a title of its own, and opens it in the default browser.</para>
    /// </example>
    /// <example>
    ///   <code>$jobs | Export-FemagReport -Path run.html -NoClobber -WhatIf</code>
    ///   <para>Shows where the report would go and writes nothing; without -WhatIf, -NoClobber refuses to replace an existing run.html.</para>
    /// </example>
    [Cmdlet(VerbsData.Export, "FemagReport", SupportsShouldProcess = true)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportFemagReportCommand : FemagCmdlet
    {
        private readonly List<FemagJob> _jobs = new List<FemagJob>();
        private readonly HashSet<string> _buckets = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>
        /// <para type="description">The jobs to report on, e.g. from Wait-FemagJob, Get-FemagJob or Import-Clixml.</para>
        /// </summary>
        [Parameter(ValueFromPipeline = true)]
        [Alias("InputObject")]
        public FemagJob[] Job { get; set; } = new FemagJob[0];

        /// <summary>
        /// <para type="description">The HTML file to write, e.g. run.html; relative to the current location. Its folder must exist.</para>
        /// </summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("FilePath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = string.Empty;

        /// <summary>
        /// <para type="description">The heading and window title of the report; 'FEMAG run' when left out.</para>
        /// </summary>
        [Parameter]
        public string? Title { get; set; }

        /// <summary>
        /// <para type="description">Replaces the file even when it is read-only.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>
        /// <para type="description">Keeps an existing file: the report is not written and an error says so.</para>
        /// </summary>
        [Parameter]
        [Alias("NoOverwrite")]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>
        /// <para type="description">Emits the report's file (a FileInfo) once it is written.</para>
        /// </summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            // A job piped in twice (or read back twice) is one row: jobs are told apart by their buckets.
            _jobs.AddRange(Job.Where(job => _buckets.Add(job.BucketName)));
        }

        protected override void EndProcessing()
        {
            var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            if (_jobs.Count == 0)
            {
                WriteError(ErrorRecords.Create("FemagReportNoJobs", FemagErrorKind.InvalidArgument,
                    $"No jobs came in, so no report was written to '{path}'. Pipe jobs into Export-FemagReport, e.g. 'Import-Clixml jobs.xml | Export-FemagReport -Path run.html'.", path));
                return;
            }

            if (!ShouldProcess(path, $"Write the report of {_jobs.Count} job(s)"))
            {
                return;
            }

            try
            {
                var file = ReportFile.Write(path, RunReport.Html(_jobs, Title, DateTime.UtcNow), NoClobber, Force);
                WriteVerbose($"Wrote the report of {_jobs.Count} job(s) to {file.FullName} ({file.Length} bytes).");
                if (PassThru)
                {
                    WriteObject(file);
                }
            }
            catch (FemagException ex)
            {
                WriteFailure(ex, path);
            }
        }
    }
}

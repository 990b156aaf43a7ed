using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace FemagAws.Insight
{
    /// <summary>
    /// What a set of jobs came to: how many succeeded and failed, instance-hours by instance type and Spot or On-Demand,
    /// and their cost where a price is known. Built from each job's <see cref="FemagJob.BilledSeconds"/> and
    /// <see cref="FemagJob.Cost"/>; a job counts under the instance type and lifecycle of its last launch.
    /// </summary>
    public sealed class RunTotals
    {
        private RunTotals(int jobs, int succeeded, int failed, IReadOnlyList<InstanceHours> byKind)
        {
            Jobs = jobs;
            Succeeded = succeeded;
            Failed = failed;
            ByKind = byKind;
        }

        public static RunTotals Of(IEnumerable<FemagJob> jobs)
        {
            if (jobs is null) throw new ArgumentNullException(nameof(jobs));
            var all = jobs.ToList();
            var byKind = all
                .Where(j => j.BilledSeconds is double s && s > 0)
                .GroupBy(j => (Type: j.InstanceType ?? "unknown type", Lifecycle: LifecycleName(j.Lifecycle)))
                .Select(g => new InstanceHours(
                    g.Key.Type,
                    g.Key.Lifecycle,
                    g.Sum(j => j.BilledSeconds!.Value) / 3600,
                    g.Any(j => j.Cost != null) ? g.Sum(j => j.Cost ?? 0m) : (decimal?)null,
                    g.Count(),
                    g.Count(j => j.Cost == null)))
                .OrderByDescending(k => k.Hours)
                .ThenBy(k => k.InstanceType, StringComparer.Ordinal)
                .ThenBy(k => k.Lifecycle, StringComparer.Ordinal)
                .ToList();
            return new RunTotals(
                all.Count,
                all.Count(j => j.State == FemagJobState.Succeeded),
                all.Count(j => j.State == FemagJobState.Failed),
                byKind);
        }

        public int Jobs { get; }

        public int Succeeded { get; }

        public int Failed { get; }

        /// <summary>Jobs in any other state: timed out, still running, queued or never launched.</summary>
        public int Unfinished => Jobs - Succeeded - Failed;

        /// <summary>One entry per instance type and lifecycle that billed, most hours first.</summary>
        public IReadOnlyList<InstanceHours> ByKind { get; }

        /// <summary>The jobs' <see cref="FemagJob.BilledSeconds"/> in hours.</summary>
        public double InstanceHours => ByKind.Sum(k => k.Hours);

        /// <summary>The sum of the jobs' costs in US dollars; null when no job has a price.</summary>
        public decimal? Cost => ByKind.Any(k => k.Cost != null) ? ByKind.Sum(k => k.Cost ?? 0m) : (decimal?)null;

        /// <summary>Billed jobs whose cost is unknown (no price for their instance type).</summary>
        public int Unpriced => ByKind.Sum(k => k.Unpriced);

        /// <summary>One line for the end of Wait-FemagJob, e.g. "12 jobs: 11 succeeded, 1 failed; 0.42 instance-hours: c5.large Spot 0.30 ($0.011); cost $0.011".</summary>
        public string Summary
        {
            get
            {
                var line = $"{Jobs} {(Jobs == 1 ? "job" : "jobs")}: {Succeeded} succeeded, {Failed} failed";
                if (Unfinished > 0) line += $", {Unfinished} unfinished";
                line += $"; {Hours(InstanceHours)} instance-hours";
                if (ByKind.Count > 0) line += ": " + string.Join(", ", ByKind.Select(k => k.ToString()));
                var unpriced = ByKind.Where(k => k.Unpriced > 0).Select(k => $"{k.InstanceType} {k.Lifecycle}").ToList();
                if (Cost is decimal cost)
                {
                    line += $"; cost {Dollars(cost)}";
                    if (unpriced.Count > 0) line += $" without {Unpriced} {(Unpriced == 1 ? "job" : "jobs")} that have no price ({string.Join(", ", unpriced)})";
                }
                else if (unpriced.Count > 0)
                {
                    line += $"; no price for {string.Join(", ", unpriced)}";
                }
                return line;
            }
        }

        public override string ToString() => Summary;

        /// <summary>"Spot" or "On-Demand" for a job's "spot" or "on-demand".</summary>
        public static string LifecycleName(string? lifecycle) =>
            string.Equals(lifecycle, FemagJob.Spot, StringComparison.OrdinalIgnoreCase) ? "Spot"
            : string.Equals(lifecycle, FemagJob.OnDemand, StringComparison.OrdinalIgnoreCase) ? "On-Demand"
            : "unknown lifecycle";

        internal static string Hours(double hours) => hours.ToString("0.00", CultureInfo.InvariantCulture);

        internal static string Dollars(decimal usd) => "$" + usd.ToString("0.000", CultureInfo.InvariantCulture);
    }

    /// <summary>The instance-hours one instance type bought one way (Spot or On-Demand) billed, and what they cost.</summary>
    public sealed class InstanceHours
    {
        public InstanceHours(string instanceType, string lifecycle, double hours, decimal? cost, int jobs, int unpriced)
        {
            InstanceType = instanceType;
            Lifecycle = lifecycle;
            Hours = hours;
            Cost = cost;
            Jobs = jobs;
            Unpriced = unpriced;
        }

        public string InstanceType { get; }

        /// <summary>"Spot" or "On-Demand".</summary>
        public string Lifecycle { get; }

        public double Hours { get; }

        /// <summary>US dollars for the jobs that have a price; null when none has.</summary>
        public decimal? Cost { get; }

        public int Jobs { get; }

        /// <summary>How many of <see cref="Jobs"/> have no price.</summary>
        public int Unpriced { get; }

        public override string ToString()
        {
            var text = $"{InstanceType} {Lifecycle} {RunTotals.Hours(Hours)}";
            if (Cost is decimal cost) text += Unpriced > 0 ? $" ({RunTotals.Dollars(cost)}, {Unpriced} without a price)" : $" ({RunTotals.Dollars(cost)})";
            else text += " (no price)";
            return text;
        }
    }
}

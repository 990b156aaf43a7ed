using System;
using System.Collections.Generic;
using System.Linq;
using FemagAws.Aws.Ec2;

namespace FemagAws.Insight
{
    /// <summary>What one instance billed: from its launch to its end, at least a minute, and what that cost where known.</summary>
    public sealed class InstanceBill
    {
        public InstanceBill(InstanceStatus instance, DateTime start, DateTime end, double seconds, JobRun? run = null)
        {
            Instance = instance;
            Start = start;
            End = end;
            Seconds = seconds;
            InstanceType = instance.InstanceType ?? run?.InstanceType;
            Lifecycle = instance.InstanceType != null ? instance.Lifecycle : run?.Lifecycle;
            AvailabilityZone = instance.AvailabilityZone;
        }

        public InstanceStatus Instance { get; }

        /// <summary>True when EC2 no longer lists the instance, so its times, type and lifecycle come from the runs on it.</summary>
        public bool FromRuns => Instance.IsForgotten;

        /// <summary>The instance's type, or that of a run on it when EC2 no longer lists it.</summary>
        public string? InstanceType { get; }

        /// <summary>"spot" or "on-demand", from the instance or else from a run on it.</summary>
        public string? Lifecycle { get; }

        /// <summary>The instance's zone; unknown when EC2 no longer lists it.</summary>
        public string? AvailabilityZone { get; }

        public DateTime Start { get; }

        /// <summary>When it stopped billing, or now while it still runs.</summary>
        public DateTime End { get; }

        /// <summary>Billed seconds: its lifetime, at least <see cref="Billing.MinimumSeconds"/>.</summary>
        public double Seconds { get; }

        /// <summary>US dollars, or null when the price is unknown.</summary>
        public decimal? Cost { get; set; }
    }

    /// <summary>
    /// The arithmetic of what jobs billed: an instance bills per second from launch to end with a 60-second minimum
    /// (Linux on EC2); a job on instances of its own bills their sum over every attempt, and a pool job its share of the
    /// pool's instances, so the jobs of a pool add up to what the pool billed.
    /// </summary>
    public static class Billing
    {
        /// <summary>EC2 bills a Linux instance at least this long.</summary>
        public const double MinimumSeconds = 60;

        /// <summary>
        /// The instance's bill: from its launch to its end as EC2's state transition tells; for one that ended without a
        /// time, the end of the last run on it; for one that may still bill, until <paramref name="now"/>.
        /// </summary>
        public static InstanceBill Bill(InstanceStatus instance, IEnumerable<JobRun> runsOnIt, DateTime now)
        {
            var runs = runsOnIt.ToList();
            var start = instance.LaunchTime ?? (runs.Count > 0 ? runs.Min(r => r.Start) : now);
            var end = instance.EndTime
                ?? (instance.MayStillBill ? now : runs.Where(r => r.End != null).Select(r => r.End!.Value).DefaultIfEmpty(now).Max());
            if (end < start)
            {
                end = start;
            }

            return new InstanceBill(instance, start, end, Math.Max(MinimumSeconds, (end - start).TotalSeconds), runs.FirstOrDefault());
        }

        /// <summary>
        /// A Spot instance's cost over its billed time from <paramref name="start"/>: each price holds from its timestamp
        /// until the next record, the record in effect at the start counts, and the time before the first record known
        /// takes that record's price. Null without any record.
        /// </summary>
        public static decimal? SpotCost(IEnumerable<SpotPricePoint> history, DateTime start, double seconds)
        {
            var points = history.OrderBy(p => p.Timestamp).ToList();
            if (points.Count == 0)
            {
                return null;
            }

            var end = start.AddSeconds(seconds);
            var cost = 0m;
            for (var i = 0; i < points.Count; i++)
            {
                var from = i == 0 ? start : Max(start, points[i].Timestamp);
                var to = i + 1 < points.Count ? Min(end, points[i + 1].Timestamp) : end;
                if (to > from)
                {
                    cost += points[i].PricePerHour * (decimal)(to - from).TotalSeconds / 3600m;
                }
            }

            return cost;
        }

        /// <summary>An On-Demand instance's cost from the user's price per hour of its type, or null when none is given.</summary>
        public static decimal? OnDemandCost(IReadOnlyDictionary<string, decimal> pricePerHour, string? instanceType, double seconds) =>
            instanceType != null && pricePerHour.TryGetValue(instanceType, out var usd) ? usd * (decimal)seconds / 3600m : (decimal?)null;

        /// <summary>
        /// Sets each job's <see cref="FemagJob.BilledSeconds"/> and <see cref="FemagJob.Cost"/> from the bills of the
        /// instances it ran on. A job's own instance bills to the job whose runs name it. A pool instance's bill is split
        /// among the pool's jobs by their time on it; one that ran no job of them (it idled, or lost the job before taking
        /// it) is split evenly over the pool's jobs given that ran somewhere (else over all of them). Shares are rounded so that they add up to the bill. A job
        /// with any share of unknown price gets no cost; one that ran nowhere billed 0.
        /// </summary>
        public static void Split(IReadOnlyList<FemagJob> jobs, IEnumerable<InstanceBill> bills)
        {
            var seconds = jobs.ToDictionary(j => j, _ => 0d);
            var cost = jobs.ToDictionary(j => j, _ => (decimal?)0m);
            foreach (var bill in bills)
            {
                var id = bill.Instance.InstanceId;
                var weights = jobs
                    .Select(j => (Job: j, Weight: j.Runs.Where(r => r.InstanceId == id).Sum(r => Math.Max(0, ((r.End ?? bill.End) - r.Start).TotalSeconds)), Ran: j.Runs.Any(r => r.InstanceId == id) || (j.Runs.Count == 0 && j.InstanceId == id)))
                    .Where(w => w.Ran)
                    .ToList();
                if (weights.Count == 0 && bill.Instance.PoolId != null)
                {
                    // Shared by the pool's jobs that ran somewhere (their instance type and lifecycle are known), else by all.
                    var ofPool = jobs.Where(j => j.PoolId == bill.Instance.PoolId).ToList();
                    var ran = ofPool.Where(j => j.Runs.Count > 0).ToList();
                    weights = (ran.Count > 0 ? ran : ofPool).Select(j => (Job: j, Weight: 1d, Ran: true)).ToList();
                }

                if (weights.Count == 0)
                {
                    continue;
                }

                // Jobs that ran on it but for no measurable time share it evenly.
                if (weights.Sum(w => w.Weight) <= 0)
                {
                    weights = weights.Select(w => (w.Job, Weight: 1d, w.Ran)).ToList();
                }

                var total = weights.Sum(w => w.Weight);
                double secondsGiven = 0;
                decimal costGiven = 0;
                for (var i = 0; i < weights.Count; i++)
                {
                    var job = weights[i].Job;
                    var last = i == weights.Count - 1;
                    var share = last ? bill.Seconds - secondsGiven : bill.Seconds * weights[i].Weight / total;
                    secondsGiven += share;
                    seconds[job] += share;
                    if (bill.Cost is decimal usd)
                    {
                        var costShare = last ? usd - costGiven : usd * (decimal)weights[i].Weight / (decimal)total;
                        costGiven += costShare;
                        cost[job] += costShare;
                    }
                    else
                    {
                        cost[job] = null;
                    }
                }
            }

            foreach (var job in jobs)
            {
                job.BilledSeconds = seconds[job];
                job.Cost = cost[job];
            }
        }

        private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

        private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Runners;

namespace FemagAws.Insight
{
    /// <summary>
    /// Wait-FemagJob's last step: what the jobs' instances billed (<see cref="IJobRunner.BilledInstancesAsync"/>), priced
    /// from EC2's Spot price history or the user's On-Demand prices, and shared out to the jobs (<see cref="Billing"/>).
    /// </summary>
    public sealed class JobBilling
    {
        private readonly Func<FemagJob, IJobRunner> _runnerOf;
        private readonly Func<AwsTarget, ISpotPriceHistory> _spotPrices;
        private readonly IReadOnlyDictionary<string, decimal> _pricePerHour;
        private readonly Func<DateTime> _clock;

        public JobBilling(Func<FemagJob, IJobRunner> runnerOf, Func<AwsTarget, ISpotPriceHistory> spotPrices, IReadOnlyDictionary<string, decimal> pricePerHour, Func<DateTime>? clock = null)
        {
            _runnerOf = runnerOf;
            _spotPrices = spotPrices;
            _pricePerHour = pricePerHour;
            _clock = clock ?? (() => DateTime.UtcNow);
        }

        /// <summary>Billing on the clients of a cmdlet call: its runners' lookups, and EC2's Spot price history of each target.</summary>
        public static JobBilling Of(AwsClientCache clients, JobRunners runners, IReadOnlyDictionary<string, decimal> pricePerHour) =>
            new JobBilling(runners.For, target => new SpotPriceHistory(clients.Get(target).Ec2), pricePerHour);

        /// <summary>
        /// Sets each job's BilledSeconds and Cost; a job whose instances could not be looked up keeps null. Returns why
        /// some jobs have no bill or no price (a lookup failed), for the cmdlet to show as warnings.
        /// </summary>
        public async Task<List<string>> BillAsync(IReadOnlyList<FemagJob> jobs, CancellationToken ct)
        {
            var warnings = new List<string>();
            foreach (var group in jobs.GroupBy(j => (Runner: _runnerOf(j), Target: AwsTarget.Of(j))))
            {
                var groupJobs = group.ToList();
                IReadOnlyList<InstanceStatus> instances;
                try
                {
                    instances = await group.Key.Runner.BilledInstancesAsync(group.Key.Target, groupJobs, ct).ConfigureAwait(false);
                }
                catch (FemagException ex) when (!ct.IsCancellationRequested)
                {
                    warnings.Add($"What {groupJobs.Count} job(s) in {group.Key.Target} billed is unknown: {ex.Message}");
                    continue;
                }

                var now = _clock();
                var bills = instances.Select(i => Billing.Bill(i, groupJobs.SelectMany(j => j.Runs).Where(r => r.InstanceId == i.InstanceId), now)).ToList();
                foreach (var bill in bills)
                {
                    if (bill.FromRuns)
                    {
                        warnings.Add($"EC2 no longer lists instance {bill.Instance.InstanceId} (it ended over an hour ago): its bill is taken from the job runs on it, {bill.Seconds:0} s.");
                    }

                    bill.Cost = await PriceAsync(group.Key.Target, bill, warnings, ct).ConfigureAwait(false);
                }

                Billing.Split(groupJobs, bills);
            }

            return warnings;
        }

        private async Task<decimal?> PriceAsync(AwsTarget target, InstanceBill bill, List<string> warnings, CancellationToken ct)
        {
            var instance = bill.Instance;
            if (bill.Lifecycle != FemagJob.Spot)
            {
                return Billing.OnDemandCost(_pricePerHour, bill.InstanceType, bill.Seconds);
            }

            if (bill.InstanceType == null || bill.AvailabilityZone == null)
            {
                return null;
            }

            try
            {
                var history = await _spotPrices(target).ForAsync(bill.InstanceType, bill.AvailabilityZone, bill.Start, bill.Start.AddSeconds(bill.Seconds), ct).ConfigureAwait(false);
                return Billing.SpotCost(history, bill.Start, bill.Seconds);
            }
            catch (FemagException ex) when (!ct.IsCancellationRequested)
            {
                warnings.Add($"The Spot price of instance {instance.InstanceId} ({bill.InstanceType} in {bill.AvailabilityZone}) is unknown: {ex.Message}");
                return null;
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;

namespace FemagAws.Jobs
{
    /// <summary>
    /// The launch policy, for Start-FemagInstance and Wait-FemagJob's launches alike: what to ask EC2 for, in which
    /// order (<see cref="Options"/>); which of EC2's refusals mean "try the next option" or "wait for capacity"; and
    /// when a job must wait (<see cref="HoldReason"/>): max_instances of the jobs run, or EC2 turned a launch away for
    /// capacity a moment ago. One object serves one cmdlet call.
    /// </summary>
    public sealed class LaunchPolicy
    {
        // EC2's last refusal for capacity holds back every job (not only the refused one) until this time, unless a
        // job finished since and freed capacity.
        private DateTime _nextCapacityTry;
        private int _capacityRefusals;
        private bool _capacityFreed;

        /// <summary>How the reason of a job queued for lack of EC2 capacity begins.</summary>
        public const string CapacityReason = "Waiting for EC2 capacity:";

        /// <summary>
        /// Null when a job may launch now, with <paramref name="running"/> jobs of the call already running or launching;
        /// else why it waits: its max_instances are reached, or EC2 is being given a pause after a capacity refusal.
        /// </summary>
        public string? HoldReason(FemagJob job, int running, DateTime now)
        {
            if (running >= (job.Config.MaxInstances ?? int.MaxValue))
            {
                return $"Queued: max_instances = {job.Config.MaxInstances} jobs of this pipeline already run.";
            }

            if (now < _nextCapacityTry && !_capacityFreed)
            {
                return $"{CapacityReason} an earlier launch of this pipeline was turned away.";
            }

            return null;
        }

        /// <summary>A launch succeeded: EC2 has capacity again.</summary>
        public void Launched()
        {
            _capacityRefusals = 0;
            _capacityFreed = false;
        }

        /// <summary>EC2 turned a launch away for capacity: the others would only be refused too, each after the SDK's retries, so all pause.</summary>
        public void TurnedAway(DateTime now)
        {
            _capacityRefusals++;
            _nextCapacityTry = now + CapacityPause(_capacityRefusals);
            _capacityFreed = false;
        }

        /// <summary>A job finished: its capacity may go to a waiting job at once.</summary>
        public void CapacityFreed() => _capacityFreed = true;

        /// <summary>How long jobs wait after EC2's n-th capacity refusal in a row: 10 s, doubling, at most 5 min.</summary>
        internal static TimeSpan CapacityPause(int refusals) =>
            TimeSpan.FromSeconds(Math.Min(300, 10 * Math.Pow(2, refusals - 1)));

        /// <summary>
        /// What to ask EC2 for, in order: each instance_type on Spot (with spot = 1), then each on On-Demand, unless
        /// spot_fallback = 0 keeps the job on Spot.
        /// </summary>
        public static IReadOnlyList<LaunchOption> Options(FemagConfig config)
        {
            var types = config.InstanceTypes;
            var options = new List<LaunchOption>();
            if (config.Spot)
            {
                options.AddRange(types.Select(t => new LaunchOption(t, true)));
            }

            if (!config.Spot || config.SpotFallback)
            {
                options.AddRange(types.Select(t => new LaunchOption(t, false)));
            }

            return options;
        }

        /// <summary>
        /// Launches with the first of <paramref name="options"/> EC2 has capacity for: a capacity refusal tries the next
        /// option; any other error, a quota error among them (no other option would fare better), and the last option's
        /// refusal are thrown. For a single job's instance and a pool's alike.
        /// </summary>
        public static async Task<(T Result, LaunchOption Option)> LaunchFirstAvailableAsync<T>(IReadOnlyList<LaunchOption> options, Func<LaunchOption, Task<T>> launch)
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    return (await launch(options[i]).ConfigureAwait(false), options[i]);
                }
                catch (FemagException ex) when (IsCapacityRefusal(ex.ErrorId) && i + 1 < options.Count)
                {
                    // This type (or Spot) has no capacity in the zone now; the next option may.
                }
            }
        }

        /// <summary>EC2's answers that say "not this type or market now", for which the next launch option is tried.</summary>
        public static bool IsCapacityRefusal(string errorId) => CapacityRefusals.Contains(errorId);

        /// <summary>EC2's answers that say "not now": no capacity for any option, or the account's instance or vCPU quota is used up.</summary>
        public static bool IsCapacityError(string errorId) => CapacityRefusals.Contains(errorId) || QuotaErrors.Contains(errorId);

        private static readonly string[] CapacityRefusals =
        {
            ErrorIds.AwsInsufficientInstanceCapacity, ErrorIds.AwsMaxSpotInstanceCountExceeded, ErrorIds.AwsSpotMaxPriceTooLow, ErrorIds.AwsInsufficientCapacity,
            ErrorIds.AwsUnfulfillableCapacity, ErrorIds.AwsUnsupported,
        };

        private static readonly string[] QuotaErrors = { ErrorIds.AwsInstanceLimitExceeded, ErrorIds.AwsVcpuLimitExceeded };
    }

    /// <summary>One way to launch: an instance type, on Spot or On-Demand.</summary>
    public sealed class LaunchOption
    {
        public LaunchOption(string instanceType, bool spot)
        {
            InstanceType = instanceType;
            Spot = spot;
        }

        public string InstanceType { get; }

        public bool Spot { get; }

        public override string ToString() => $"{InstanceType} {(Spot ? FemagJob.Spot : FemagJob.OnDemand)}";
    }
}

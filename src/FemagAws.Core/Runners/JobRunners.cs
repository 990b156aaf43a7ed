using System.Collections.Generic;
using System.Linq;
using FemagAws.Aws;
using FemagAws.Runners.InstancePerJob;

namespace FemagAws.Runners
{
    /// <summary>
    /// Chooses where each job runs from its config, and holds the runners of one cmdlet call: each keeps what it
    /// learns over the call (how many jobs it launched, which pools it made).
    /// </summary>
    public sealed class JobRunners
    {
        private readonly IJobRunner _instancePerJob;

        public JobRunners(AwsClientCache clients)
        {
            _instancePerJob = new InstancePerJobRunner(clients);
        }

        /// <summary>Every way to run jobs, for Get-FemagJob, which asks each for its jobs.</summary>
        public IReadOnlyList<IJobRunner> All => new[] { _instancePerJob };

        /// <summary>The runner of a job.</summary>
        public IJobRunner For(FemagJob job) => All.First(r => r.Claims(job));
    }
}

using System.Collections.Generic;
using System.Linq;
using FemagAws.Aws;
using FemagAws.Runners.InstancePerJob;
using FemagAws.Runners.Pool;

namespace FemagAws.Runners
{
    /// <summary>
    /// Chooses where each job runs from its config, and holds the runners of one cmdlet call: each keeps what it
    /// learns over the call (how many jobs it launched, which pools it made).
    /// </summary>
    public sealed class JobRunners
    {
        private readonly IJobRunner _instancePerJob;
        private readonly IJobRunner _pool;

        public JobRunners(AwsClientCache clients)
        {
            _instancePerJob = new InstancePerJobRunner(clients);
            _pool = new PoolRunner(clients);
        }

        /// <summary>Every way to run jobs, for Get-FemagJob, which asks each for its jobs.</summary>
        public IReadOnlyList<IJobRunner> All => new[] { _pool, _instancePerJob };

        /// <summary>The runner of a started job: the pool it was sent to, else its own instance.</summary>
        public IJobRunner For(FemagJob job) => All.First(r => r.Claims(job));

        /// <summary>Where Start-FemagInstance runs a job: in a pool when its config sets pool_size, else on an instance of its own.</summary>
        public IJobRunner ForStart(FemagJob job) => job.Config.IsPool ? _pool : _instancePerJob;
    }
}

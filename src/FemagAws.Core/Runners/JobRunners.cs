using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Aws;
using FemagAws.Jobs;
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
        private readonly AwsClientCache _clients;
        private readonly IJobRunner _instancePerJob;
        private readonly IJobRunner _pool;

        public JobRunners(AwsClientCache clients)
        {
            _clients = clients;
            _instancePerJob = new InstancePerJobRunner(clients);
            _pool = new PoolRunner(clients);
        }

        /// <summary>Every way to run jobs, for Get-FemagJob, which asks each for its jobs.</summary>
        public IReadOnlyList<IJobRunner> All => new[] { _pool, _instancePerJob };

        /// <summary>The runner of a started job: the pool it was sent to, else its own instance.</summary>
        public IJobRunner For(FemagJob job) => All.First(r => r.Claims(job));

        /// <summary>Where Start-FemagInstance runs a job: in a pool when its config sets pool_size, else on an instance of its own.</summary>
        public IJobRunner ForStart(FemagJob job) => job.Config.IsPool ? _pool : _instancePerJob;

        /// <summary>
        /// A job rebuilt from its bucket alone, as Get-FemagJob rebuilds it: the bucket's tags give its index, folder and
        /// pool, and its runner settles its state (Get-FemagJobLog -BucketName).
        /// </summary>
        public async Task<FemagJob?> RebuildAsync(AwsTarget target, string bucketName, FemagConfig config, CancellationToken ct)
        {
            var job = await BucketFinder.FindAsync(_clients, target, bucketName, null, null, config, ct).ConfigureAwait(false);
            return (await For(job).FindAsync(AwsTarget.Of(job), job.Config, new[] { job }, true, ct).ConfigureAwait(false)).FirstOrDefault();
        }

        /// <summary>
        /// Get-FemagJob: lists the module's buckets in the target once, and has each runner settle the jobs that run its
        /// way and add those it knows only from the cloud.
        /// </summary>
        public async Task<List<FemagJob>> FindAsync(AwsTarget target, FemagConfig config, CancellationToken ct, bool bucketsOnly = false)
        {
            var listed = await BucketFinder.ListAsync(_clients, target, config, ct).ConfigureAwait(false);
            var jobs = new List<FemagJob>();
            foreach (var runner in All)
            {
                jobs.AddRange(await runner.FindAsync(target, config, listed.Where(runner.Claims).ToList(), bucketsOnly, ct).ConfigureAwait(false));
            }

            // In the listing's order, then the jobs known only from the cloud, as each runner gave them.
            var position = listed.Select((job, i) => (job, i)).ToDictionary(p => p.job, p => p.i);
            return jobs.Select((job, i) => (job, i)).OrderBy(p => position.TryGetValue(p.job, out var at) ? at : listed.Count + p.i).Select(p => p.job).ToList();
        }
    }
}

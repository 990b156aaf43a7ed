using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Runners;

namespace FemagAws.Jobs
{
    /// <summary>
    /// Wait-FemagJob's engine: hands each job to the watch of the runner it runs on (<see cref="JobRunners.For"/>) and
    /// polls them all, so jobs on instances of their own and pool jobs are waited for in one call.
    /// </summary>
    public sealed class JobWaiter
    {
        private readonly List<IJobWatch> _watches;

        public JobWaiter(IEnumerable<FemagJob> jobs, JobRunners runners, WatchOptions options)
        {
            _watches = jobs.GroupBy(runners.For).Select(g => g.Key.Watch(g.ToList(), options)).ToList();
        }

        public IReadOnlyCollection<FemagJob> Pending => _watches.SelectMany(w => w.Pending).ToList();

        /// <summary>Jobs waiting to start: for a launch, or in a pool's queue.</summary>
        public int Queued => _watches.Sum(w => w.Queued);

        /// <summary>Launches that asked for Spot and went On-Demand, over the whole wait.</summary>
        public int FellBack => _watches.Sum(w => w.FellBack);

        /// <summary>Lost jobs started again, over the whole wait.</summary>
        public int Relaunched => _watches.Sum(w => w.Relaunched);

        /// <summary>Problems met in the last poll that did not end a job, for the cmdlet to show as warnings.</summary>
        public IEnumerable<string> Warnings => _watches.SelectMany(w => w.Warnings);

        /// <summary>What happened in the last poll, for -Verbose.</summary>
        public IEnumerable<string> Notes => _watches.SelectMany(w => w.Notes);

        /// <summary>One poll of every watch that has jobs left; returns the jobs that reached an end state.</summary>
        public async Task<List<FemagJob>> PollAsync(CancellationToken ct)
        {
            var finished = new List<FemagJob>();
            foreach (var watch in _watches)
            {
                if (watch.Pending.Count > 0)
                {
                    finished.AddRange(await watch.PollAsync(ct).ConfigureAwait(false));
                }
                else
                {
                    // A watch with nothing left has nothing new to say.
                    watch.Warnings.Clear();
                    watch.Notes.Clear();
                }
            }

            return finished;
        }

        /// <summary>Marks every unfinished job as timed out, with its log's last lines, and hands them back; what they run on keeps running.</summary>
        public async Task<List<FemagJob>> TimeOutAsync(TimeSpan waited, CancellationToken ct)
        {
            var left = new List<FemagJob>();
            foreach (var watch in _watches)
            {
                left.AddRange(await watch.TimeOutAsync(waited, ct).ConfigureAwait(false));
            }

            return left;
        }
    }
}

using System.Collections.Generic;
using System.Linq;
using System.Text;
using FemagAws.Jobs;

namespace FemagAws.Internal
{
    /// <summary>
    /// The stop's account as the user reads it: what is left in the cloud, then one command per kind of job and place to
    /// find them, to go on or to clean up, copied as is into any later session.
    /// </summary>
    internal static class StopAccountText
    {
        public static string Of(StopAccount account, PowerShellCommands commands)
        {
            var text = new StringBuilder("Stopped. What is left in the cloud:");
            List(text, "Running and billing", account.Running.Select(i => $"{i.InstanceId} (job {i.Job.Index})"), "instance(s)");
            List(text, "Terminated by the stop, no longer billing", account.Terminated.Select(i => $"{i.InstanceId} (job {i.Job.Index})"), "instance(s)");
            foreach (var pool in account.Pools)
            {
                text.Append("\n  ").Append(Pool(pool));
            }

            List(text, "Uploaded, no instance", account.Uploaded.Select(j => $"{j.BucketName} (job {j.Index})"), "bucket(s)");
            List(text, "Instance lost, waiting to be launched again", account.AwaitingRelaunch.Select(j => $"{j.BucketName} (job {j.Index}, attempt {j.Attempt} of {j.Config.MaxAttempts})"), "bucket(s)");
            List(text, "Finished, results not received", account.Finished.Select(j => $"{j.BucketName} (job {j.Index})"), "bucket(s)");
            List(text, "Upload cut off, nothing left (run New-FemagBucket for them again)", account.CutOff.Select(j => $"'{j.Folder}' (job {j.Index})"), "folder(s)");
            foreach (var what in account.LeftBehind)
            {
                text.Append("\n  Check by hand: ").Append(what);
            }

            if (account.GoOn.Count == 0)
            {
                return text.ToString();
            }

            text.Append("\nGo on:");
            Lines(text, commands.GoOn(account.GoOn));
            text.Append(account.CleanUpStopsInstances
                ? $"\nOr clean up ({(account.Pools.Any(p => p.QueueLeft) ? "withdraws the pool jobs and removes their pools, " : string.Empty)}terminates the instances, deletes the buckets with their results):"
                : "\nOr clean up (deletes the buckets with their results):");
            Lines(text, commands.CleanUp(account.CleanUp, account.CleanUpStopsInstances));
            if (account.GivenCredentialSources.Count > 0)
            {
                text.Append("\nGive Get-FemagJob the credentials given before with ").Append(string.Join("; ", account.GivenCredentialSources)).Append(": they were kept in memory only.");
            }

            return text.ToString();
        }

        /// <summary>A pool with its queue, its instances (running and billing, or none yet) and the jobs in it.</summary>
        private static string Pool(StoppedPool pool)
        {
            var jobs = pool.Jobs.Count == 0 ? string.Empty : $"; {pool.Jobs.Count} job(s) in it: {string.Join(", ", pool.Jobs.Select(j => $"{j.BucketName} (job {j.Index})"))}";
            if (!pool.Seen)
            {
                return $"Pool {pool.PoolId}, queue {pool.QueueName}: its instances could not be looked up{jobs}";
            }

            if (!pool.QueueLeft)
            {
                return $"Pool {pool.PoolId} removed: queue {pool.QueueName} deleted, " +
                       (pool.Running.Count > 0 ? $"{pool.Running.Count} instance(s) still running and billing: {string.Join(", ", pool.Running)}" : "no instance of it running") + jobs;
            }

            var instances = pool.Running.Count > 0
                ? $"{pool.Running.Count} instance(s) running and billing: {string.Join(", ", pool.Running)}"
                : pool.Ended.Count == 0 ? "no instance launched yet (Wait-FemagJob launches them)" : "no instance running (Wait-FemagJob launches new ones)";
            return $"Pool {pool.PoolId}, queue {pool.QueueName}: {instances}{jobs}";
        }

        private static void List(StringBuilder text, string what, IEnumerable<string> items, string unit)
        {
            var list = items.ToList();
            if (list.Count > 0)
            {
                text.Append("\n  ").Append(what).Append(", ").Append(list.Count).Append(' ').Append(unit).Append(": ").Append(string.Join(", ", list));
            }
        }

        private static void Lines(StringBuilder text, IEnumerable<string> lines)
        {
            foreach (var line in lines)
            {
                text.Append("\n  ").Append(line);
            }
        }
    }
}

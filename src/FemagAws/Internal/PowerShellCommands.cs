using System.Collections.Generic;
using System.Linq;
using System.Text;
using FemagAws.Aws;
using FemagAws.Jobs;

namespace FemagAws.Internal
{
    /// <summary>
    /// The command lines the module tells a user to type, for Core (through <see cref="ICommandLines"/>, handed to it
    /// with the AWS clients), for the stop's account (<see cref="StopAccountText"/>) and for the cmdlets: each names what finds its job or bucket again
    /// (config file, region, endpoint, profile), so it runs as printed in this or any later session.
    /// </summary>
    internal sealed class PowerShellCommands : ICommandLines
    {
        public static readonly PowerShellCommands Instance = new PowerShellCommands();

        private PowerShellCommands()
        {
        }

        /// <summary>
        /// Get-FemagBucket makes the job a fresh one with the config's settings, whatever an earlier instance of the
        /// bucket left; without a config file, Get-FemagJob finds it with the defaults it had.
        /// </summary>
        public string Restart(FemagJob job) => job.Config.SourcePath != null
            ? Where($"Get-FemagBucket -Name {Quote(job.BucketName)}", job) + " | Start-FemagInstance"
            : FindThen(Find(job), new[] { job }, "Start-FemagInstance");

        public string RemoveBucket(AwsTarget target, string bucketName) =>
            Target($"Remove-FemagBucket -Name {Quote(bucketName)}", target, null) + " -Force";

        public string DeleteOtherBucket(AwsTarget target, string bucketName) => AwsCli(target, $"s3 rb s3://{bucketName} --force");

        public string TerminateInstances(AwsTarget target, IEnumerable<string> instanceIds) =>
            AwsCli(target, "ec2 terminate-instances --instance-ids " + string.Join(" ", instanceIds));

        /// <summary>
        /// Lines that take stopped jobs on from where they are, each job with its next step; as few lines as find them:
        /// per place that finds the jobs, in the order the jobs are given, those to wait for, to start, to receive.
        /// </summary>
        public IEnumerable<string> GoOn(IReadOnlyList<KeyValuePair<FemagJob, GoOnStep>> jobs)
        {
            foreach (var place in jobs.GroupBy(j => Find(j.Key)))
            {
                foreach (var step in new[] { GoOnStep.Wait, GoOnStep.Start, GoOnStep.Receive })
                {
                    var here = place.Where(j => j.Value == step).Select(j => j.Key).ToList();
                    if (here.Count > 0)
                    {
                        yield return FindThen(place.Key, here, step switch
                        {
                            GoOnStep.Wait => "Wait-FemagJob | Receive-FemagResult",
                            GoOnStep.Start => "Start-FemagInstance | Wait-FemagJob | Receive-FemagResult",
                            _ => "Receive-FemagResult",
                        });
                    }
                }
            }
        }

        /// <summary>Lines that remove stopped jobs' buckets, terminating their instances first when <paramref name="stopInstances"/>.</summary>
        public IEnumerable<string> CleanUp(IReadOnlyList<FemagJob> jobs, bool stopInstances) =>
            jobs.GroupBy(Find).Select(place => FindThen(place.Key, place, stopInstances ? "Stop-FemagInstance -PassThru | Remove-FemagBucket -Force" : "Remove-FemagBucket -Force"));

        public string RemovePool(AwsTarget target, string poolId) =>
            $"{Target("Get-FemagJob", target, null)} | Where-Object PoolId -EQ {Quote(poolId)} | Stop-FemagInstance";

        /// <summary>Get-FemagJob listing the module's buckets and instances where <paramref name="target"/> points.</summary>
        public string ListJobs(AwsTarget target) => Target("Get-FemagJob", target, null);

        /// <summary>
        /// Get-FemagJob with what finds the job again and gives it back its settings: the config file (image, cloud-init,
        /// delete_buckets), the job's region, and the endpoint and profile where the config does not name them.
        /// </summary>
        private static string Find(FemagJob job) => Where("Get-FemagJob", job);

        /// <summary>Get-FemagJob finding exactly these jobs (all of one <see cref="Find"/>), piped into <paramref name="then"/>.</summary>
        private static string FindThen(string find, IEnumerable<FemagJob> jobs, string then) =>
            $"{find} | Where-Object BucketName -in {string.Join(", ", jobs.Select(j => Quote(j.BucketName)).Distinct())} | {then}";

        /// <summary>An AWS CLI command with the region, endpoint and profile of <paramref name="target"/>.</summary>
        private static string AwsCli(AwsTarget target, string command)
        {
            var text = new StringBuilder("aws ").Append(command).Append(" --region ").Append(target.Region);
            if (target.EndpointUrl != null)
            {
                text.Append(" --endpoint-url ").Append(target.EndpointUrl);
            }

            if (target.ProfileName != null)
            {
                text.Append(" --profile ").Append(target.ProfileName);
            }

            return text.ToString();
        }

        private static string Where(string command, FemagJob job)
        {
            var text = new StringBuilder(command);
            if (job.Config.SourcePath != null)
            {
                text.Append(" -ConfigFile ").Append(Quote(job.Config.SourcePath));
            }

            return Target(text.ToString(), AwsTarget.Of(job), job.Config);
        }

        /// <summary>The command with -Region and, where <paramref name="config"/> (if any) does not name them, the endpoint and profile.</summary>
        private static string Target(string command, AwsTarget target, FemagConfig? config)
        {
            var text = new StringBuilder(command).Append(" -Region ").Append(target.Region);
            if (target.EndpointUrl != null && target.EndpointUrl != config?.EndpointUrl)
            {
                text.Append(" -EndpointUrl ").Append(Quote(target.EndpointUrl));
            }

            if (target.ProfileName != null && target.ProfileName != config?.Profile)
            {
                text.Append(" -ProfileName ").Append(Quote(target.ProfileName));
            }

            if (target.ProfileLocation != null)
            {
                text.Append(" -ProfileLocation ").Append(Quote(target.ProfileLocation));
            }

            return text.ToString();
        }

        private static string Quote(string value) => "'" + value.Replace("'", "''") + "'";
    }
}

using System.Collections.Generic;
using System.Linq;
using System.Text;
using FemagAws.Aws;

namespace FemagAws.Jobs
{
    /// <summary>
    /// The command lines the module tells a user to type: each names what finds its job or bucket again (config file,
    /// region, endpoint, profile), so it runs as printed in this or any later session.
    /// </summary>
    public static class JobCommands
    {
        /// <summary>
        /// Get-FemagJob with what finds the job again and gives it back its settings: the config file (image, cloud-init,
        /// delete_buckets), the job's region, and the endpoint and profile where the config does not name them.
        /// </summary>
        public static string Find(FemagJob job) => Where("Get-FemagJob", job);

        /// <summary>Get-FemagJob finding exactly these jobs (all of one <see cref="Find"/>), piped into <paramref name="then"/>.</summary>
        public static string FindThen(string find, IEnumerable<FemagJob> jobs, string then) =>
            $"{find} | Where-Object BucketName -in {string.Join(", ", jobs.Select(j => Quote(j.BucketName)).Distinct())} | {then}";

        /// <summary>
        /// Starts a job whose launch failed again: Get-FemagBucket makes it a fresh job with the config's settings, whatever
        /// an earlier instance of the bucket left; without a config file, Get-FemagJob finds it with the defaults it had.
        /// </summary>
        public static string Restart(FemagJob job) => job.Config.SourcePath != null
            ? Where($"Get-FemagBucket -Name {Quote(job.BucketName)}", job) + " | Start-FemagInstance"
            : FindThen(Find(job), new[] { job }, "Start-FemagInstance");

        /// <summary>Remove-FemagBucket for one bucket, with the region, endpoint and profile that reach it.</summary>
        public static string RemoveBucket(AwsTarget target, string bucketName) =>
            Target($"Remove-FemagBucket -Name {Quote(bucketName)}", target, null) + " -Force";

        /// <summary>Get-FemagJob listing the module's buckets and instances where <paramref name="target"/> points.</summary>
        public static string ListJobs(AwsTarget target) => Target("Get-FemagJob", target, null);

        /// <summary>An AWS CLI command with the region, endpoint and profile of <paramref name="target"/>.</summary>
        public static string AwsCli(AwsTarget target, string command)
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

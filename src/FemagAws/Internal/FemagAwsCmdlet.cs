using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using FemagAws.Aws;
using FemagAws.Jobs;

namespace FemagAws.Commands
{
    /// <summary>Base of the cmdlets that talk to AWS: the common -Region, -ProfileName and -EndpointUrl, and the clients.</summary>
    public abstract class FemagAwsCmdlet : FemagCmdlet
    {
        private readonly HashSet<AwsTarget> _announced = new HashSet<AwsTarget>();
        private readonly HashSet<string> _warnedSecrets = new HashSet<string>();
        private AwsClientCache? _clients;

        /// <summary>
        /// <para type="description">The AWS region, e.g. eu-central-1. For new jobs it overrides server_location; a job keeps its own region afterwards.</para>
        /// </summary>
        [Parameter]
        [Alias("RegionToCall")]
        [ValidateNotNullOrEmpty]
        public string? Region { get; set; }

        /// <summary>
        /// <para type="description">A profile in ~/.aws/credentials or ~/.aws/config. A name that does not exist is an error. Without it, the SDK's default chain is used.</para>
        /// </summary>
        [Parameter]
        [Alias("StoredCredentials", "AWSProfileName")]
        [ValidateNotNullOrEmpty]
        public string? ProfileName { get; set; }

        /// <summary>
        /// <para type="description">An S3/EC2-compatible endpoint URL, such as a local test cloud. Overrides endpoint_url from the config.</para>
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? EndpointUrl { get; set; }

        protected AwsClientCache Clients => _clients ??= new AwsClientCache();

        /// <summary>Where a job's requests go: the job's own region, and this call's endpoint and profile where given.</summary>
        protected AwsTarget TargetOf(FemagJob job) =>
            new AwsTarget(job.Region, EndpointUrl ?? job.EndpointUrl, ProfileName ?? job.ProfileName);

        /// <summary>Where new jobs go: parameters first, then the config file.</summary>
        protected AwsTarget TargetOf(FemagConfig config) =>
            new AwsTarget(Region ?? config.ServerLocation, EndpointUrl ?? config.EndpointUrl, ProfileName ?? config.Profile);

        /// <summary>The clients for a target; says once, with -Debug, where credentials came from.</summary>
        protected AwsClients ClientsFor(AwsTarget target)
        {
            var clients = Clients.Get(target);
            if (_announced.Add(target))
            {
                WriteDebug($"FemagAws: {target}: credentials from {clients.CredentialSource}; region {target.Region} from {(Region != null ? "-Region" : "the job or config")}.");
            }

            return clients;
        }

        /// <summary>The config from -Config, or read from -ConfigFile (a PowerShell path).</summary>
        protected FemagConfig LoadConfig(string? configFile, FemagConfig? config)
        {
            if (config != null)
            {
                return config;
            }

            var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(configFile);
            return FemagConfig.Load(path);
        }

        /// <summary>
        /// After a stop: terminates the jobs' instances, within <see cref="FemagCmdlet.CleanupTime"/>. Returns, per job
        /// whose instance may still run, why it could not be terminated.
        /// </summary>
        protected Dictionary<FemagJob, string> TerminateAfterStop(IEnumerable<FemagJob> jobs)
        {
            var failed = new Dictionary<FemagJob, string>();
            foreach (var group in jobs.Where(j => j.InstanceId != null).GroupBy(TargetOf))
            {
                try
                {
                    using (var cleanup = new CancellationTokenSource(CleanupTime))
                    {
                        InstanceStopper.TerminateAsync(Clients.Get(group.Key), group.Select(j => j.InstanceId!).ToList(), cleanup.Token).GetAwaiter().GetResult();
                    }
                }
                catch (Exception ex)
                {
                    foreach (var job in group)
                    {
                        failed[job] = ex.Message;
                    }
                }
            }

            return failed;
        }

        /// <summary>Warns, once per config, about keys that {{ENV}} would export although they look like secrets.</summary>
        protected void WarnIfSecrets(FemagConfig config)
        {
            var keys = config.KeysLookingLikeSecrets();
            if (keys.Count > 0 && _warnedSecrets.Add(config + "|" + string.Join(",", keys)))
            {
                WriteWarning($"{config}: {string.Join(", ", keys)} look(s) like a credential or secret. The cloud-init {{{{ENV}}}} line exports every key into the instance's user data, which anyone who may describe the instance can read. " +
                             "Remove it from the [amazon] section: instances get AWS access from iam_instance_profile, and the module never puts your own credentials into user data.");
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _clients?.Dispose();
                _clients = null;
            }

            base.Dispose(disposing);
        }
    }
}

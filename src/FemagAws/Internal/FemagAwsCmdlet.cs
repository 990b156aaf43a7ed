using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Threading;
using FemagAws.Aws;
using FemagAws.Aws.Credentials;
using FemagAws.CloudInit;
using FemagAws.Jobs;
using FemagAws.Runners;

namespace FemagAws.Internal
{
    /// <summary>
    /// Base of the cmdlets that talk to AWS: AWS Tools' credential and region parameters (-Region, -ProfileName,
    /// -ProfileLocation, -AccessKey/-SecretKey/-SessionToken, -Credential, -EndpointUrl) and the clients.
    /// </summary>
    public abstract class FemagAwsCmdlet : FemagCmdlet
    {
        private readonly HashSet<AwsTarget> _announced = new HashSet<AwsTarget>();
        private readonly Dictionary<AwsTarget, string> _regionSources = new Dictionary<AwsTarget, string>();
        private readonly Dictionary<FemagConfig, AwsRegion> _regions = new Dictionary<FemagConfig, AwsRegion>();
        private readonly HashSet<string> _warnings = new HashSet<string>();
        private AwsClientCache? _clients;
        private GivenCredentials? _given;
        private string? _profileLocation;

        /// <summary>
        /// <para type="description">The AWS region, e.g. eu-central-1, of new buckets, of what Get-FemagJob and Get-FemagBucket list, and of instances and buckets named by id. Without it: server_location where the config file sets it, then the environment variables AWS_REGION and AWS_DEFAULT_REGION, then the region of the AWS profile (-ProfileName, the config key 'profile', AWS_PROFILE or default), then eu-central-1, femagtools' default. A job keeps the region it was created in, for its bucket and its instance alike. Tab completes the regions the AWS SDK knows.</para>
        /// </summary>
        [Parameter]
        [Alias("RegionToCall")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RegionCompleter))]
        public string? Region { get; set; }

        /// <summary>
        /// <para type="description">A profile in ~/.aws/credentials or ~/.aws/config (or in the file -ProfileLocation names): static keys, a role to assume (role_arn with source_profile) or AWS IAM Identity Center (SSO, after 'aws sso login'). A name that does not exist is an error, never a fall-back to another profile. Without it, the config key 'profile', then the SDK's default chain. Tab completes the profiles in those files.</para>
        /// </summary>
        [Parameter]
        [Alias("StoredCredentials", "AWSProfileName")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProfileNameCompleter))]
        public string? ProfileName { get; set; }

        /// <summary>
        /// <para type="description">The shared credentials file that holds -ProfileName, instead of ~/.aws/credentials; a config file in the same folder is read too. Without -ProfileName, the profile of the config key 'profile' (or of the job) is taken from that file, else its default profile. As the current folder can differ in a scheduled task, give a full path; a relative one is resolved against the current PowerShell location.</para>
        /// </summary>
        [Parameter]
        [Alias("AWSProfilesLocation", "ProfilesLocation")]
        [ValidateNotNullOrEmpty]
        public string? ProfileLocation { get; set; }

        /// <summary>
        /// <para type="description">An AWS access key id, with -SecretKey (and -SessionToken for temporary keys). Keys given here win over every profile. Jobs carry them down the pipeline in memory only; a later session or saved job needs them again.</para>
        /// </summary>
        [Parameter]
        [Alias("AK")]
        [ValidateNotNullOrEmpty]
        public string? AccessKey { get; set; }

        /// <summary>
        /// <para type="description">The secret access key that belongs to -AccessKey.</para>
        /// </summary>
        [Parameter]
        [Alias("SK", "SecretAccessKey")]
        [ValidateNotNullOrEmpty]
        public string? SecretKey { get; set; }

        /// <summary>
        /// <para type="description">The session token of temporary keys given with -AccessKey and -SecretKey.</para>
        /// </summary>
        [Parameter]
        [Alias("ST")]
        [ValidateNotNullOrEmpty]
        public string? SessionToken { get; set; }

        /// <summary>
        /// <para type="description">Credentials as an object: a PSCredential whose user name is the access key id and whose password is the secret access key (Get-Credential), or an AWS credentials object such as AWS Tools' Get-AWSCredential returns, which is asked for fresh keys as they expire. They win over every profile and are kept in memory only.</para>
        /// </summary>
        [Parameter]
        [AwsCredentialTransformation]
        public object? Credential { get; set; }

        /// <summary>
        /// <para type="description">An S3/EC2-compatible endpoint URL, such as a local test cloud. Overrides endpoint_url from the config.</para>
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? EndpointUrl { get; set; }

        protected AwsClientCache Clients => _clients ??= new AwsClientCache(PowerShellCommands.Instance);

        /// <summary>Checks the credential parameters once, before any input: a half-given key pair is an error, not a fall-back.</summary>
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            _given = OrTerminate(GivenCredentialsFromParameters, null);
            _profileLocation = ProfileLocation == null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ProfileLocation);
        }

        /// <summary>
        /// Points a job at this call's endpoint and credentials where given, so the commands after this one use them
        /// too, and returns where its requests go. The region stays the job's own.
        /// </summary>
        protected AwsTarget Retarget(FemagJob job)
        {
            var own = AwsTarget.Of(job);
            var profileGiven = ProfileName != null || _profileLocation != null;
            var target = new AwsTarget(
                job.Region,
                EndpointUrl ?? own.EndpointUrl,
                profileGiven ? ProfileName ?? own.ProfileName : own.ProfileName,
                profileGiven ? _profileLocation : own.ProfileLocation,
                _given ?? (profileGiven ? null : own.Credentials));
            target.ApplyTo(job);
            _regionSources[target] = "the job";
            return target;
        }

        /// <summary>
        /// Where work that no job decides goes (new jobs, listings, ids): parameters first, then the config file; the
        /// region then from the environment and the profile (see <see cref="AwsRegion"/>), found once per config.
        /// </summary>
        protected AwsTarget TargetOf(FemagConfig config)
        {
            var profileName = ProfileName ?? config.Profile;
            if (!_regions.TryGetValue(config, out var region))
            {
                region = OrTerminate(() => AwsRegion.Resolve(Region, config, profileName, _profileLocation, Environment.GetEnvironmentVariable), config);
                _regions[config] = region;
            }

            var target = new AwsTarget(region.Name, EndpointUrl ?? config.EndpointUrl, profileName, _profileLocation, _given);
            _regionSources[target] = region.Source;
            return target;
        }

        /// <summary>The clients for a target; says once, with -Debug, where credentials and region came from.</summary>
        protected AwsClients ClientsFor(AwsTarget target)
        {
            var clients = Clients.Get(target);
            if (_announced.Add(target))
            {
                var region = _regionSources.TryGetValue(target, out var source) ? source : "the bucket's location";
                WriteDebug($"FemagAws: {target}: credentials from {clients.CredentialSource}; region {target.Region} from {region}.");
            }

            return clients;
        }

        private GivenCredentials? GivenCredentialsFromParameters()
        {
            var keys = AccessKey != null || SecretKey != null || SessionToken != null;
            if (keys && (AccessKey == null || SecretKey == null))
            {
                throw new FemagException("FemagCredentialIncomplete", FemagErrorKind.InvalidArgument,
                    "-AccessKey and -SecretKey go together (with -SessionToken for temporary keys). Give both, or use -ProfileName or -Credential instead.");
            }

            if ((keys ? 1 : 0) + (Credential != null ? 1 : 0) + (ProfileName != null || ProfileLocation != null ? 1 : 0) > 1)
            {
                throw new FemagException("FemagCredentialAmbiguous", FemagErrorKind.InvalidArgument,
                    "Give credentials one way: -AccessKey/-SecretKey, -Credential, or -ProfileName (with -ProfileLocation).");
            }

            return keys
                ? GivenCredentials.FromKeys(AccessKey!, SecretKey!, SessionToken, "-AccessKey and -SecretKey" + (SessionToken != null ? " with -SessionToken" : string.Empty))
                : Credential as GivenCredentials;
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
        /// After a stop: ends what runs the jobs (terminates their instances, or withdraws them from their pool, which is
        /// removed once none of its jobs is left), within <see cref="FemagCmdlet.CleanupTime"/>. Returns, per job that may
        /// still run, why it could not be ended; <paramref name="ended"/> gets the jobs it ended.
        /// </summary>
        protected Dictionary<FemagJob, string> TerminateAfterStop(IEnumerable<FemagJob> jobs, ISet<FemagJob> ended)
        {
            var failed = new Dictionary<FemagJob, string>();
            var runners = new JobRunners(Clients);
            foreach (var group in jobs.GroupBy(j => (Runner: runners.For(j), Target: Retarget(j))))
            {
                try
                {
                    using (var cleanup = new CancellationTokenSource(CleanupTime))
                    {
                        ended.UnionWith(group.Key.Runner.EndAfterStopAsync(group.Key.Target, group.ToList(), cleanup.Token).GetAwaiter().GetResult());
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

        /// <summary>
        /// After a stop: enters in the ledger what runs the jobs besides the jobs themselves (a pool's queue and instances),
        /// looked up within <see cref="FemagCmdlet.CleanupTime"/>; what cannot be looked up is told to be checked by hand.
        /// <paramref name="runners"/> are the cmdlet's own where it has them: they know what it made for jobs not passed on.
        /// </summary>
        protected void EnterRunnersAfterStop(JobRunners runners, IEnumerable<FemagJob> jobs)
        {
            foreach (var group in jobs.GroupBy(j => (Runner: runners.For(j), Target: Retarget(j))))
            {
                try
                {
                    using (var cleanup = new CancellationTokenSource(CleanupTime))
                    {
                        group.Key.Runner.EnterStopAsync(group.Key.Target, group.ToList(), Ledger, cleanup.Token).GetAwaiter().GetResult();
                    }
                }
                catch (Exception ex)
                {
                    Ledger.LeftBehind($"what runs job(s) {string.Join(", ", group.Select(j => j.Index))} could not be looked up ({ex.Message}); " +
                                      $"'{PowerShellCommands.Instance.ListJobs(group.Key.Target)}' lists the module's instances and pools, and Stop-FemagInstance stops them.");
                }
            }
        }

        /// <summary>Says with -Verbose, while the work still runs, which requests went quiet and are sent again.</summary>
        protected override void WhileWaiting()
        {
            if (_clients == null || Cancellation.IsCancellationRequested)
            {
                return;
            }

            foreach (var notice in _clients.TakeNotices())
            {
                WriteVerbose(notice);
            }
        }

        /// <summary>
        /// Warns about a config (see <see cref="WarnAboutConfig"/>): the cmdlet that reads the config file warns, and a
        /// later cmdlet of the pipeline stays quiet about the jobs it passed on, whose configs are entered here.
        /// </summary>
        private static readonly ConditionalWeakTable<FemagConfig, object> Warned = new ConditionalWeakTable<FemagConfig, object>();

        /// <summary>Enters a job's config as warned about, so the next cmdlet of the pipeline does not warn again.</summary>
        protected static void WarnedAbout(FemagConfig config) => Warned.GetValue(config, _ => Warned);

        /// <summary>
        /// Warns, once per pipeline, about what in a config would go wrong only on the instance, or quietly: keys that
        /// {{ENV}} would export although they look like secrets, keys nothing reads (a misspelt instance_typ), and a
        /// cloud-init script without {{ENV}}. <paramref name="always"/> is for the cmdlet that reads the config file;
        /// others warn only about configs no cmdlet warned about before.
        /// </summary>
        protected void WarnAboutConfig(FemagConfig config, bool always)
        {
            if (!always && Warned.TryGetValue(config, out _))
            {
                return;
            }

            WarnedAbout(config);
            var secrets = config.KeysLookingLikeSecrets();
            if (secrets.Count > 0)
            {
                WarnOnce($"{config}: {string.Join(", ", secrets)} look(s) like a credential or secret. The cloud-init {{{{ENV}}}} line exports every key into the instance's user data, which anyone who may describe the instance can read. " +
                         "Remove it from the [amazon] section: instances get AWS access from iam_instance_profile, and the module never puts your own credentials into user data.");
            }

            var advice = UserData.Advise(config);
            // A secret's key was named just above; once is enough.
            var unknown = advice.UnknownKeys.Where(pair => !secrets.Contains(pair.Key)).ToList();
            if (unknown.Count > 0)
            {
                var keys = unknown.Select(pair => pair.Value != null ? $"{pair.Key} (did you mean {pair.Value}?)" : pair.Key);
                WarnOnce($"{config}: neither femagtools nor FemagAws knows the key(s) {string.Join(", ", keys)}, and the cloud-init script does not read them: " +
                         "their settings have no effect. Correct the spelling, or remove them from the [amazon] section.");
            }

            if (advice.LacksEnv)
            {
                WarnOnce($"{config}: the cloud-init script '{config.CloudInit}' has no line starting with {UserData.EnvMarker}, so the instances never learn BUCKET_NAME and cannot fetch their job or upload results. " +
                         $"Put a line {UserData.EnvMarker} near its top, as in examples/cloud_init.txt.");
            }
        }

        private void WarnOnce(string warning)
        {
            if (_warnings.Add(warning))
            {
                WriteWarning(warning);
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

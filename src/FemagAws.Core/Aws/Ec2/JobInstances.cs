using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Aws.S3;

namespace FemagAws.Aws.Ec2
{
    /// <summary>What one DescribeInstances row says about a job's instance.</summary>
    public sealed class InstanceStatus
    {
        private static readonly Regex TransitionTime = new Regex(@"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (GMT|UTC)\)", RegexOptions.CultureInvariant);

        public InstanceStatus(string instanceId, string state, string? reason, string? reasonCode = null)
        {
            InstanceId = instanceId;
            State = state;
            Reason = reason;
            ReasonCode = reasonCode;
        }

        public string InstanceId { get; }

        /// <summary>pending, running, shutting-down, terminated, stopping, stopped, or "missing".</summary>
        public string State { get; }

        public string? Reason { get; }

        /// <summary>EC2's state reason code, e.g. Client.UserInitiatedShutdown or Server.SpotInstanceTermination.</summary>
        public string? ReasonCode { get; }

        /// <summary>"spot" or "on-demand".</summary>
        public string Lifecycle { get; private set; } = FemagJob.OnDemand;

        /// <summary>The launch number from the module's tag, or null for instances launched before attempts were tagged.</summary>
        public int? Attempt { get; private set; }

        public string? InstanceType { get; private set; }

        /// <summary>Where EC2 placed the instance, e.g. eu-central-1a: a Spot price holds per instance type and zone.</summary>
        public string? AvailabilityZone { get; private set; }

        /// <summary>Who ended the instance on purpose (the module's stop tag), or null: then its end was not asked for.</summary>
        public string? StoppedBy { get; private set; }

        /// <summary>The job bucket named by the module's tag, or null for an instance the module did not launch.</summary>
        public string? BucketName { get; private set; }

        /// <summary>The job index from the module's tag.</summary>
        public int? Index { get; private set; }

        public DateTime? LaunchTime { get; private set; }

        /// <summary>When the instance stopped or terminated, where EC2's transition reason tells (UTC).</summary>
        public DateTime? EndTime { get; private set; }

        /// <summary>The max_runtime watchdog's minutes from the module's tag, or null without a watchdog.</summary>
        public double? MaxRuntime { get; private set; }

        /// <summary>The worker pool the instance belongs to, from the module's tag, or null for a job's own instance.</summary>
        public string? PoolId { get; private set; }

        /// <summary>The client token of the launch that started the instance, from the module's tag.</summary>
        public string? LaunchToken { get; private set; }

        /// <summary>An instance EC2 no longer lists: it ended a while ago (EC2 lists an ended instance for about an hour), or never was.</summary>
        public static InstanceStatus Forgotten(string instanceId) => new InstanceStatus(instanceId, "missing", "EC2 no longer knows the instance");

        /// <summary>True for an instance EC2 no longer lists (<see cref="Forgotten"/>).</summary>
        public bool IsForgotten => State == "missing";

        /// <summary>True once the instance can no longer write to the bucket.</summary>
        public bool HasEnded => State != "pending" && State != "running";

        /// <summary>
        /// States of an instance that may still write to its bucket or bill: a stopped one keeps its volume and can be
        /// started again. One shutting down is not billed and never comes back.
        /// </summary>
        public static readonly IReadOnlyList<string> MayStillBillStates = new[] { "pending", "running", "stopping", "stopped" };

        /// <summary>True while the instance may still write to its bucket or bill (<see cref="MayStillBillStates"/>).</summary>
        public bool MayStillBill => MayStillBillStates.Contains(State);

        public static InstanceStatus From(Instance instance)
        {
            string? Tag(string key) => instance.Tags?.FirstOrDefault(t => t.Key == key)?.Value;
            var invariant = System.Globalization.CultureInfo.InvariantCulture;
            var ended = TransitionTime.Match(instance.StateTransitionReason ?? string.Empty);
            return new InstanceStatus(instance.InstanceId, instance.State?.Name?.Value ?? "unknown", instance.StateReason?.Message, instance.StateReason?.Code)
            {
                Lifecycle = instance.InstanceLifecycle?.Value == "spot" || Tag(JobInstances.LifecycleTag) == FemagJob.Spot ? FemagJob.Spot : FemagJob.OnDemand,
                Attempt = int.TryParse(Tag(JobInstances.AttemptTag), System.Globalization.NumberStyles.Integer, invariant, out var attempt) ? attempt : (int?)null,
                InstanceType = instance.InstanceType?.Value,
                AvailabilityZone = instance.Placement?.AvailabilityZone,
                StoppedBy = Tag(JobInstances.StoppedByTag),
                BucketName = Tag(JobInstances.BucketTag),
                Index = int.TryParse(Tag(JobBuckets.IndexTag), System.Globalization.NumberStyles.Integer, invariant, out var index) ? index : (int?)null,
                LaunchTime = instance.LaunchTime?.ToUniversalTime(),

                // EC2 writes e.g. "User initiated (2026-11-24 08:00:00 GMT)" when an instance stops or terminates (moto: UTC).
                EndTime = ended.Success ? DateTime.SpecifyKind(DateTime.ParseExact(ended.Groups[1].Value, "yyyy-MM-dd HH:mm:ss", invariant), DateTimeKind.Utc) : (DateTime?)null,
                MaxRuntime = double.TryParse(Tag(JobInstances.MaxRuntimeTag), System.Globalization.NumberStyles.Float, invariant, out var minutes) ? minutes : (double?)null,
                LaunchToken = Tag(JobInstances.LaunchTag),
                PoolId = Tag(FemagAws.Aws.Sqs.PoolQueues.PoolTag),
            };
        }
    }

    /// <summary>The EC2 side of a job: launch, batched status polls and termination.</summary>
    public static class JobInstances
    {
        /// <summary>Tag that names the job's bucket on its instance and volume.</summary>
        public const string BucketTag = "femag-aws:bucket";

        /// <summary>Tag with the launch's client token, to find an instance whose RunInstances answer was lost (Ctrl+C, timeouts).</summary>
        public const string LaunchTag = "femag-aws:launch";

        /// <summary>Tag with the instance's max_runtime in minutes, when the watchdog is on.</summary>
        public const string MaxRuntimeTag = "femag-aws:max-runtime";

        /// <summary>Tag with "spot" or "on-demand".</summary>
        public const string LifecycleTag = "femag-aws:lifecycle";

        /// <summary>Tag with the launch number of the job (1-based), so any session counts a job's attempts.</summary>
        public const string AttemptTag = "femag-aws:attempt";

        /// <summary>
        /// Put on an instance before the module terminates it (Stop-FemagInstance, -StopOnCancel, Ctrl+C, finished jobs),
        /// so its end is never taken for a loss and retried.
        /// </summary>
        public const string StoppedByTag = "femag-aws:stopped-by";

        /// <summary>DescribeInstances takes this many ids per call, so a poll costs ceil(N/1000) calls.</summary>
        public const int DescribeBatch = 1000;

        private static readonly Regex InstanceIdPattern = new Regex("i-[0-9a-f]+", RegexOptions.CultureInvariant);

        /// <summary>
        /// How many client tokens one launch of an attempt may go through: each one EC2 already spent on an instance that
        /// has ended (an earlier run of the same bucket) moves the launch on to the next.
        /// </summary>
        private const int TokenRounds = 8;

        /// <summary>An instance EC2 returns that was launched this long before the request is an earlier launch's (clocks may differ a little).</summary>
        private static readonly TimeSpan ReplayAge = TimeSpan.FromMinutes(2);

        /// <summary>
        /// The client token of one launch: the same bucket, attempt, instance type, market and round always give the same
        /// token, so a retried or concurrent RunInstances for that launch gets the same instance back from EC2. Spot and
        /// On-Demand, and each instance type, are different requests and get different tokens (EC2 refuses a token reused
        /// with other parameters). 46 ASCII characters; EC2 allows 64.
        /// </summary>
        public static string ClientToken(string bucketName, int attempt, string instanceType, bool spot, int round)
        {
            var key = string.Join("\n", bucketName, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture), instanceType,
                spot ? FemagJob.Spot : FemagJob.OnDemand, round.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using (var sha = System.Security.Cryptography.SHA256.Create())
            {
                var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(key));
                return "femag-" + string.Concat(hash.Take(20).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        /// <summary>
        /// One launch for the job's attempt with <paramref name="instanceType"/>; on Spot as a one-time request that
        /// terminates on interruption, with no maximum price (EC2 then caps it at the On-Demand price). The client token is
        /// derived from the launch (<see cref="ClientToken"/>): an instance another session launched with it is returned
        /// (adopted) rather than a second one. A launch whose answer was lost is looked up by its token; Ctrl+C terminates
        /// what it finds, any other failure adopts it. <paramref name="launches"/> are the bucket's instances EC2 lists:
        /// the tokens of the ended ones are spent and skipped.
        /// </summary>
        public static async Task<string> LaunchAsync(IAmazonEC2 ec2, FemagJob job, string userData, string instanceType, bool spot, IReadOnlyCollection<InstanceStatus> launches, CancellationToken ct)
        {
            var attempt = Math.Max(1, job.Attempt);
            var spent = new HashSet<string>(launches.Where(i => i.HasEnded && i.LaunchToken != null).Select(i => i.LaunchToken!), StringComparer.Ordinal);
            var ended = new HashSet<string>(launches.Where(i => i.HasEnded).Select(i => i.InstanceId), StringComparer.Ordinal);
            var mappings = await ImageVolumesAsync(ec2, job.Config.ImageId, ct).ConfigureAwait(false);
            for (var round = 0; round < TokenRounds; round++)
            {
                var clientToken = ClientToken(job.BucketName, attempt, instanceType, spot, round);
                if (spent.Contains(clientToken))
                {
                    continue;
                }

                var request = LaunchRequest(job, userData, instanceType, spot, attempt, clientToken, mappings);
                try
                {
                    var asked = DateTime.UtcNow;
                    var response = await AwsErrors.Call(() => ec2.RunInstancesAsync(request, ct), $"Launching the instance for bucket {job.BucketName}").ConfigureAwait(false);
                    var instance = response.Reservation.Instances[0];

                    // EC2 answers a token it has seen with that launch's instance, as it was then. One that has ended (an
                    // earlier run of the bucket spent the token, and EC2 lists it no more or did not a moment ago) means
                    // the next token; one launched well before this request is checked.
                    if (ended.Contains(instance.InstanceId))
                    {
                        continue;
                    }

                    if (!(instance.LaunchTime?.ToUniversalTime() < asked - ReplayAge) ||
                        !(await DescribeAsync(ec2, new[] { instance.InstanceId }, ct).ConfigureAwait(false))[instance.InstanceId].HasEnded)
                    {
                        return instance.InstanceId;
                    }
                }
                catch (FemagException ex) when (ex.ErrorId == ErrorIds.AwsIdempotentParameterMismatch)
                {
                    // The token was used with other parameters (an earlier run with another config, or a session starting
                    // the job with another one right now): a live instance of it runs the job; an ended one spent it.
                    var live = await LiveWithTagAsync(ec2, LaunchTag, clientToken, $"Looking for the launch of bucket {job.BucketName}", ct).ConfigureAwait(false);
                    if (live.Count > 0)
                    {
                        return live[0].InstanceId;
                    }
                }
                catch (Exception ex) when (ct.IsCancellationRequested || !IsRefusal(ex))
                {
                    // No answer came (Ctrl+C, a timeout, a dropped connection, a server error after the SDK's retries): EC2
                    // may have launched it anyway, and nobody would know the instance.
                    var found = await FindLaunchAsync(ec2, job, clientToken, terminate: ct.IsCancellationRequested).ConfigureAwait(false);
                    if (found != null && !ct.IsCancellationRequested)
                    {
                        return found;
                    }

                    if (found != null)
                    {
                        Jobs.JobStates.LaunchCutOff(job, found);
                    }

                    throw;
                }
            }

            throw new FemagException("FemagLaunchTokensSpent", FemagErrorKind.InvalidOperation,
                $"EC2 answered every launch of bucket {job.BucketName} (attempt {attempt}, {instanceType}) with an instance of an earlier run that has ended. " +
                "Wait a day for EC2 to forget those launches, or put the folder into a new bucket with New-FemagBucket.");
        }

        /// <summary>
        /// True for an answer by which EC2 refused the request, so it launched nothing: an error with its own code
        /// (capacity, quota, a bad parameter, throttling), not a server failure that may have come after the launch.
        /// </summary>
        private static bool IsRefusal(Exception ex) =>
            ex is FemagException { InnerException: Amazon.Runtime.AmazonServiceException service } &&
            !string.IsNullOrEmpty(service.ErrorCode) && !ServerFailures.Contains(service.ErrorCode);

        private static readonly string[] ServerFailures = { "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable" };

        // DescribeImages once per image and EC2 client, not once per job.
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IAmazonEC2, System.Collections.Concurrent.ConcurrentDictionary<string, List<BlockDeviceMapping>>> ImageVolumes =
            new System.Runtime.CompilerServices.ConditionalWeakTable<IAmazonEC2, System.Collections.Concurrent.ConcurrentDictionary<string, List<BlockDeviceMapping>>>();

        private static RunInstancesRequest LaunchRequest(FemagJob job, string userData, string instanceType, bool spot, int attempt, string clientToken, List<BlockDeviceMapping> mappings)
        {
            var config = job.Config;
            var tags = new List<Tag>
            {
                new Tag("Name", job.BucketName + "-" + config.CompanyName),
                new Tag(BucketTag, job.BucketName),
                new Tag(JobBuckets.IndexTag, job.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Tag(LaunchTag, clientToken),
                new Tag(LifecycleTag, spot ? FemagJob.Spot : FemagJob.OnDemand),
                new Tag(AttemptTag, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            };
            if (config.MaxRuntime is double minutes)
            {
                tags.Add(new Tag(MaxRuntimeTag, minutes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            return LaunchRequest(config, userData, instanceType, spot, clientToken, tags, mappings);
        }

        /// <summary>
        /// The launch settings every instance of the module gets, a job's own or a pool's: the config's image, key, profile
        /// and security groups, <paramref name="tags"/> on the instance and its volumes, terminate on shutdown, IMDSv2.
        /// </summary>
        internal static RunInstancesRequest LaunchRequest(FemagConfig config, string userData, string instanceType, bool spot, string clientToken, List<Tag> tags, List<BlockDeviceMapping> mappings)
        {
            var request = new RunInstancesRequest
            {
                ImageId = config.ImageId,
                InstanceType = InstanceType.FindValue(instanceType),
                MinCount = 1,
                MaxCount = 1,
                UserData = Convert.ToBase64String(Encoding.UTF8.GetBytes(userData)),
                InstanceInitiatedShutdownBehavior = ShutdownBehavior.Terminate,

                // IMDSv2 only: a script on the instance cannot be tricked into leaking the role's credentials by a plain GET.
                MetadataOptions = new InstanceMetadataOptionsRequest { HttpTokens = HttpTokensState.Required, HttpEndpoint = InstanceMetadataEndpointState.Enabled },
                TagSpecifications = new List<TagSpecification>
                {
                    new TagSpecification { ResourceType = ResourceType.Instance, Tags = tags },
                    new TagSpecification { ResourceType = ResourceType.Volume, Tags = tags },
                },

                // The SDK retries with the same token, and so does every session launching this attempt of the job.
                ClientToken = clientToken,
                DryRun = config.DryRun,
            };
            if (mappings.Count > 0)
            {
                request.BlockDeviceMappings = mappings;
            }

            if (spot)
            {
                request.InstanceMarketOptions = new InstanceMarketOptionsRequest
                {
                    MarketType = MarketType.Spot,
                    SpotOptions = new SpotMarketOptions { SpotInstanceType = SpotInstanceType.OneTime, InstanceInterruptionBehavior = InstanceInterruptionBehavior.Terminate },
                };
            }

            if (config.KeyName != null)
            {
                request.KeyName = config.KeyName;
            }

            if (config.IamInstanceProfile != null)
            {
                request.IamInstanceProfile = config.IamInstanceProfile.StartsWith("arn:", StringComparison.Ordinal)
                    ? new IamInstanceProfileSpecification { Arn = config.IamInstanceProfile }
                    : new IamInstanceProfileSpecification { Name = config.IamInstanceProfile };
            }

            if (config.SecurityGroupIds.Count > 0)
            {
                request.SecurityGroupIds = config.SecurityGroupIds.ToList();
            }

            return request;
        }

        /// <summary>
        /// The image's EBS volumes, each set to be deleted when the instance terminates (an image may map volumes that
        /// outlive it and go on billing). The image's own size is kept.
        /// </summary>
        internal static async Task<List<BlockDeviceMapping>> ImageVolumesAsync(IAmazonEC2 ec2, string imageId, CancellationToken ct)
        {
            var known = ImageVolumes.GetOrCreateValue(ec2);
            if (known.TryGetValue(imageId, out var cached))
            {
                return cached;
            }

            var response = await AwsErrors.Call(() => ec2.DescribeImagesAsync(new DescribeImagesRequest { ImageIds = new List<string> { imageId } }, ct),
                $"Describing image {imageId}").ConfigureAwait(false);
            var image = response.Images?.FirstOrDefault() ?? throw new FemagException("FemagImageNotFound", FemagErrorKind.ObjectNotFound,
                $"EC2 does not know image {imageId} in this region. Check image_id in the config and the region (server_location).");
            var mappings = (image.BlockDeviceMappings ?? new List<BlockDeviceMapping>())
                .Where(m => m.Ebs != null)
                .Select(m => new BlockDeviceMapping { DeviceName = m.DeviceName, Ebs = new EbsBlockDevice { DeleteOnTermination = true, VolumeSize = m.Ebs.VolumeSize } })
                .ToList();
            known[imageId] = mappings;
            return mappings;
        }

        /// <summary>
        /// Looks for what one launch (found by its client token tag) started, within a bounded time, and terminates it
        /// when <paramref name="terminate"/>; returns the instance's id, or null when the launch started none.
        /// </summary>
        private static async Task<string?> FindLaunchAsync(IAmazonEC2 ec2, FemagJob job, string clientToken, bool terminate)
        {
            try
            {
                using (var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
                {
                    // EC2 lists a new instance a moment after launching it: look twice before concluding there is none.
                    for (var look = 0; look < 2; look++)
                    {
                        var live = await LiveWithTagAsync(ec2, LaunchTag, clientToken, $"Looking for the launch of bucket {job.BucketName}", cleanup.Token).ConfigureAwait(false);
                        if (live.Count > 0)
                        {
                            if (terminate)
                            {
                                await TerminateAsync(ec2, live.Select(i => i.InstanceId).ToList(), cleanup.Token).ConfigureAwait(false);
                            }

                            return live[0].InstanceId;
                        }

                        if (look == 0)
                        {
                            await Task.Delay(TimeSpan.FromSeconds(2), cleanup.Token).ConfigureAwait(false);
                        }
                    }
                }

                return null;
            }
            catch (Exception ex)
            {
                throw new FemagException(ErrorIds.LaunchMayBeLeft, FemagErrorKind.InvalidOperation,
                    $"The launch for bucket {job.BucketName} got no answer, and whether it started an instance could not be checked ({ex.Message}). " +
                    $"Look for an instance tagged {BucketTag} = {job.BucketName} (Get-FemagJob) and stop it with Stop-FemagInstance.", ex);
            }
        }

        /// <summary>The status of each id, in batches; ids EC2 no longer knows come back as "missing".</summary>
        public static async Task<Dictionary<string, InstanceStatus>> DescribeAsync(IAmazonEC2 ec2, IReadOnlyCollection<string> instanceIds, CancellationToken ct)
        {
            var result = new Dictionary<string, InstanceStatus>(StringComparer.Ordinal);
            foreach (var batch in Batches(instanceIds.Distinct().ToList(), DescribeBatch))
            {
                var remaining = batch;
                while (remaining.Count > 0)
                {
                    try
                    {
                        var pages = ec2.Paginators.DescribeInstances(new DescribeInstancesRequest { InstanceIds = remaining }).Responses;
                        await foreach (var response in pages.WithCancellation(ct).ConfigureAwait(false))
                        {
                            foreach (var instance in Instances(response))
                            {
                                result[instance.InstanceId] = InstanceStatus.From(instance);
                            }
                        }

                        foreach (var id in remaining.Where(id => !result.ContainsKey(id)))
                        {
                            result[id] = InstanceStatus.Forgotten(id);
                        }

                        remaining = new List<string>();
                    }
                    catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidInstanceID.NotFound")
                    {
                        // One unknown id fails the whole call: note those and ask again for the rest.
                        var missing = InstanceIdPattern.Matches(ex.Message).Cast<Match>().Select(m => m.Value).Where(remaining.Contains).ToList();
                        if (missing.Count == 0)
                        {
                            throw AwsErrors.Explain(ex, "Describing instances");
                        }

                        foreach (var id in missing)
                        {
                            result[id] = InstanceStatus.Forgotten(id);
                        }

                        remaining = remaining.Except(missing).ToList();
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested)
                    {
                        throw AwsErrors.Explain(ex, "Describing instances");
                    }
                }
            }

            return result;
        }

        /// <summary>
        /// Marks the instances as ended by the module, then terminates them. A mark that fails (an id EC2 does not list
        /// yet, a policy that allows CreateTags only at launch) never keeps an instance running: it is terminated anyway,
        /// and the mark is tried again instance by instance; the instances still unmarked then are named in the error.
        /// </summary>
        public static async Task TerminateAsync(IAmazonEC2 ec2, IReadOnlyCollection<string> instanceIds, CancellationToken ct)
        {
            var unmarked = new List<string>();
            Exception? markFailure = null;
            foreach (var batch in Batches(instanceIds.Distinct().ToList(), DescribeBatch))
            {
                // The mark goes first: an instance terminated without it would look lost and be launched again.
                var marked = true;
                try
                {
                    await MarkStoppedAsync(ec2, batch, ct).ConfigureAwait(false);
                }
                catch (FemagException)
                {
                    marked = false;
                }

                await AwsErrors.Call(() => ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = batch }, ct),
                    "Terminating " + string.Join(", ", batch)).ConfigureAwait(false);
                if (marked)
                {
                    continue;
                }

                // One id EC2 refuses fails the whole batch: each instance on its own.
                foreach (var id in batch)
                {
                    try
                    {
                        await MarkStoppedAsync(ec2, new[] { id }, ct).ConfigureAwait(false);
                    }
                    catch (FemagException ex)
                    {
                        unmarked.Add(id);
                        markFailure = ex;
                    }
                }
            }

            if (unmarked.Count > 0)
            {
                throw new FemagException(ErrorIds.StopNotMarked, FemagErrorKind.InvalidOperation,
                    $"Terminated {string.Join(", ", unmarked)}, but could not tag them {StoppedByTag} ({markFailure!.Message}). " +
                    "Another session's Wait-FemagJob may take their end for a loss and launch the job again; allow ec2:CreateTags on the module's instances.", markFailure);
            }
        }

        /// <summary>Tags the instances as ended by the module, so no session takes their end for a loss; 1,000 per request.</summary>
        public static async Task MarkStoppedAsync(IAmazonEC2 ec2, IReadOnlyCollection<string> instanceIds, CancellationToken ct)
        {
            foreach (var batch in Batches(instanceIds.Distinct().ToList(), DescribeBatch))
            {
                await AwsErrors.Call(() => ec2.CreateTagsAsync(new CreateTagsRequest { Resources = batch, Tags = new List<Tag> { new Tag(StoppedByTag, "module") } }, ct),
                    "Marking " + string.Join(", ", batch) + " as stopped by the module").ConfigureAwait(false);
            }
        }

        /// <summary>Every instance the module launched in the region (tagged with a bucket), across all pages.</summary>
        public static Task<List<InstanceStatus>> ListTaggedAsync(IAmazonEC2 ec2, CancellationToken ct) =>
            FilterAsync(ec2, new List<Filter> { new Filter("tag-key", new List<string> { BucketTag }) }, "Listing the module's instances", ct);

        /// <summary>Every instance tagged with a bucket that EC2 still lists, ended ones too: the job's launches.</summary>
        public static Task<List<InstanceStatus>> ForBucketAsync(IAmazonEC2 ec2, string bucketName, CancellationToken ct) =>
            FilterAsync(ec2, new List<Filter> { new Filter("tag:" + BucketTag, new List<string> { bucketName }) }, $"Looking for the launches of bucket {bucketName}", ct);

        /// <summary>The instances tagged with a bucket that may still write to it or bill (<see cref="InstanceStatus.MayStillBillStates"/>).</summary>
        public static Task<List<InstanceStatus>> LiveForBucketAsync(IAmazonEC2 ec2, string bucketName, CancellationToken ct) =>
            FilterAsync(ec2, new List<Filter>
            {
                new Filter("tag:" + BucketTag, new List<string> { bucketName }),
                new Filter("instance-state-name", InstanceStatus.MayStillBillStates.ToList()),
            }, $"Looking for instances of bucket {bucketName}", ct);

        private static Task<List<InstanceStatus>> LiveWithTagAsync(IAmazonEC2 ec2, string tag, string value, string doing, CancellationToken ct) =>
            FilterAsync(ec2, new List<Filter>
            {
                new Filter("tag:" + tag, new List<string> { value }),
                new Filter("instance-state-name", new List<string> { "pending", "running" }),
            }, doing, ct);

        internal static async Task<List<InstanceStatus>> FilterAsync(IAmazonEC2 ec2, List<Filter> filters, string doing, CancellationToken ct)
        {
            var pages = await AwsErrors.CollectAsync(ec2.Paginators.DescribeInstances(new DescribeInstancesRequest { Filters = filters, MaxResults = DescribeBatch }).Responses, doing, ct).ConfigureAwait(false);
            return pages.SelectMany(Instances).Select(InstanceStatus.From).ToList();
        }

        private static IEnumerable<Instance> Instances(DescribeInstancesResponse response) =>
            (response.Reservations ?? new List<Reservation>()).SelectMany(r => r.Instances ?? new List<Instance>());

        private static IEnumerable<List<string>> Batches(List<string> ids, int size)
        {
            for (var i = 0; i < ids.Count; i += size)
            {
                yield return ids.GetRange(i, Math.Min(size, ids.Count - i));
            }
        }
    }
}

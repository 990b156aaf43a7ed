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

        /// <summary>True once the instance can no longer write to the bucket.</summary>
        public bool HasEnded => State != "pending" && State != "running";

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
                StoppedBy = Tag(JobInstances.StoppedByTag),
                BucketName = Tag(JobInstances.BucketTag),
                Index = int.TryParse(Tag(JobBuckets.IndexTag), System.Globalization.NumberStyles.Integer, invariant, out var index) ? index : (int?)null,
                LaunchTime = instance.LaunchTime?.ToUniversalTime(),

                // EC2 writes e.g. "User initiated (2026-11-24 08:00:00 GMT)" when an instance stops or terminates (moto: UTC).
                EndTime = ended.Success ? DateTime.SpecifyKind(DateTime.ParseExact(ended.Groups[1].Value, "yyyy-MM-dd HH:mm:ss", invariant), DateTimeKind.Utc) : (DateTime?)null,
                MaxRuntime = double.TryParse(Tag(JobInstances.MaxRuntimeTag), System.Globalization.NumberStyles.Float, invariant, out var minutes) ? minutes : (double?)null,
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
        /// One RunInstances for the job's attempt with <paramref name="instanceType"/>; on Spot as a one-time request that
        /// terminates on interruption, with no maximum price (EC2 then caps it at the On-Demand price).
        /// </summary>
        public static async Task<string> LaunchAsync(IAmazonEC2 ec2, FemagJob job, string userData, string instanceType, bool spot, CancellationToken ct)
        {
            var config = job.Config;
            var clientToken = Guid.NewGuid().ToString("N");
            var tags = new List<Tag>
            {
                new Tag("Name", job.BucketName + "-" + config.CompanyName),
                new Tag(BucketTag, job.BucketName),
                new Tag(JobBuckets.IndexTag, job.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Tag(LaunchTag, clientToken),
                new Tag(LifecycleTag, spot ? FemagJob.Spot : FemagJob.OnDemand),
                new Tag(AttemptTag, Math.Max(1, job.Attempt).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            };
            if (config.MaxRuntime is double minutes)
            {
                tags.Add(new Tag(MaxRuntimeTag, minutes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

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

                // The SDK retries with the same token, so a retried launch never starts a second instance.
                ClientToken = clientToken,
                DryRun = config.DryRun,
            };
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

            try
            {
                var response = await AwsErrors.Call(() => ec2.RunInstancesAsync(request, ct), $"Launching the instance for bucket {job.BucketName}").ConfigureAwait(false);
                return response.Reservation.Instances[0].InstanceId;
            }
            catch (Exception ex) when (ct.IsCancellationRequested || (ex is FemagException f && f.Kind == FemagErrorKind.OperationTimeout))
            {
                // Ctrl+C during RunInstances, or no attempt was answered: EC2 may have launched it anyway, and nobody
                // would know the instance. The job names the one terminated here, so the stop's account can tell of it.
                var terminated = await TerminateLaunchAsync(ec2, job, clientToken).ConfigureAwait(false);
                if (terminated != null)
                {
                    job.InstanceId = terminated;
                }

                throw;
            }
        }

        /// <summary>
        /// Terminates whatever one launch (found by its client token tag) started, within a bounded time; returns the
        /// instance's id, or null when the launch started none.
        /// </summary>
        private static async Task<string?> TerminateLaunchAsync(IAmazonEC2 ec2, FemagJob job, string clientToken)
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
                            await TerminateAsync(ec2, live.Select(i => i.InstanceId).ToList(), cleanup.Token).ConfigureAwait(false);
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
                throw new FemagException("FemagLaunchMayBeLeft", FemagErrorKind.InvalidOperation,
                    $"The launch for bucket {job.BucketName} was cut off, and whether it started an instance could not be checked ({ex.Message}). " +
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
                            result[id] = new InstanceStatus(id, "missing", "EC2 no longer knows the instance");
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
                            result[id] = new InstanceStatus(id, "missing", "EC2 no longer knows the instance");
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

        /// <summary>Marks the instances as ended by the module, then terminates them.</summary>
        public static async Task TerminateAsync(IAmazonEC2 ec2, IReadOnlyCollection<string> instanceIds, CancellationToken ct)
        {
            foreach (var batch in Batches(instanceIds.Distinct().ToList(), DescribeBatch))
            {
                // The mark goes first: an instance terminated without it would look lost and be launched again.
                await MarkStoppedAsync(ec2, batch, ct).ConfigureAwait(false);
                await AwsErrors.Call(() => ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = batch }, ct),
                    "Terminating " + string.Join(", ", batch)).ConfigureAwait(false);
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

        /// <summary>
        /// The instances tagged with a bucket that may still write to it or bill: pending, running, stopping or stopped
        /// (a stopped one keeps its volume and can be started again). One shutting down is not billed and never comes back.
        /// </summary>
        public static Task<List<InstanceStatus>> LiveForBucketAsync(IAmazonEC2 ec2, string bucketName, CancellationToken ct) =>
            FilterAsync(ec2, new List<Filter>
            {
                new Filter("tag:" + BucketTag, new List<string> { bucketName }),
                new Filter("instance-state-name", new List<string> { "pending", "running", "stopping", "stopped" }),
            }, $"Looking for instances of bucket {bucketName}", ct);

        private static Task<List<InstanceStatus>> LiveWithTagAsync(IAmazonEC2 ec2, string tag, string value, string doing, CancellationToken ct) =>
            FilterAsync(ec2, new List<Filter>
            {
                new Filter("tag:" + tag, new List<string> { value }),
                new Filter("instance-state-name", new List<string> { "pending", "running" }),
            }, doing, ct);

        private static async Task<List<InstanceStatus>> FilterAsync(IAmazonEC2 ec2, List<Filter> filters, string doing, CancellationToken ct)
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

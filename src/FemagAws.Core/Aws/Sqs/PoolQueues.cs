using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace FemagAws.Aws.Sqs
{
    /// <summary>How many messages a pool's queue holds, by SQS's approximate counts.</summary>
    public sealed class PoolQueueCounts
    {
        public PoolQueueCounts(int visible, int notVisible, int delayed, int deadLetter)
        {
            Visible = visible;
            NotVisible = notVisible;
            Delayed = delayed;
            DeadLetter = deadLetter;
        }

        /// <summary>Waiting for a worker.</summary>
        public int Visible { get; }

        /// <summary>Taken by a worker and hidden while its job runs.</summary>
        public int NotVisible { get; }

        public int Delayed { get; }

        /// <summary>In the job queue, waiting or taken.</summary>
        public int Total => Visible + NotVisible + Delayed;

        /// <summary>In the dead-letter queue: messages SQS gave up on after max_attempts receives.</summary>
        public int DeadLetter { get; }
    }

    /// <summary>One queue of the module found in the account: a pool's job queue or its dead-letter queue.</summary>
    public sealed class PoolQueueInfo
    {
        public PoolQueueInfo(string poolId, string url, bool deadLetter)
        {
            PoolId = poolId;
            Url = url;
            DeadLetter = deadLetter;
        }

        public string PoolId { get; }

        public string Url { get; }

        public bool DeadLetter { get; }
    }

    /// <summary>The SQS side of a pool, as the pool's logic sees it (faked in the unit tests).</summary>
    public interface IPoolQueues
    {
        /// <summary>Creates (or finds: CreateQueue with the same attributes returns the existing one) the pool's queues; returns the job queue's URL.</summary>
        Task<string> CreateAsync(string poolId, int maxAttempts, CancellationToken ct);

        /// <summary>Sends one message per body.</summary>
        Task SendAsync(string queueUrl, IReadOnlyList<string> bodies, CancellationToken ct);

        /// <summary>The pool's job queue URL, or null when the queue is gone.</summary>
        Task<string?> UrlAsync(string poolId, CancellationToken ct);

        /// <summary>The job queue's counts and the dead-letter queue's, or null when the job queue is gone.</summary>
        Task<PoolQueueCounts?> CountsAsync(string poolId, CancellationToken ct);

        /// <summary>Every queue of the module in the region.</summary>
        Task<List<PoolQueueInfo>> ListAsync(CancellationToken ct);

        /// <summary>Deletes the pool's job queue and dead-letter queue; a queue already gone is fine.</summary>
        Task DeleteAsync(string poolId, CancellationToken ct);
    }

    /// <summary>A pool's job queue and dead-letter queue on SQS (see README, Pools).</summary>
    public sealed class PoolQueues : IPoolQueues
    {
        /// <summary>Every queue of the module is named so: ListQueues finds them by this prefix.</summary>
        public const string NamePrefix = "femag-aws-pool-";

        public const string DeadLetterSuffix = "-dead";

        /// <summary>Tag with the pool id, on the queues, the pool's instances and its jobs' buckets.</summary>
        public const string PoolTag = "femag-aws:pool";

        /// <summary>Tag with "queue" or "dead-letter".</summary>
        public const string RoleTag = "femag-aws:role";

        /// <summary>A job's message is hidden this long after a worker takes it; the worker's heartbeat extends it.</summary>
        public const int VisibilitySeconds = 30;

        /// <summary>Long polling: a worker's receive waits up to this long for a message instead of spinning.</summary>
        private const int ReceiveWaitSeconds = 10;

        /// <summary>SQS's longest retention, 14 days: a job waits in the queue as long as SQS allows.</summary>
        private const int RetentionSeconds = 1209600;

        /// <summary>SendMessageBatch takes at most 10 messages.</summary>
        private const int SendBatch = 10;

        private static readonly string[] CountAttributes =
        {
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
        };

        private readonly IAmazonSQS _sqs;

        public PoolQueues(IAmazonSQS sqs)
        {
            _sqs = sqs;
        }

        public static string QueueName(string poolId) => NamePrefix + poolId;

        public static string DeadLetterQueueName(string poolId) => NamePrefix + poolId + DeadLetterSuffix;

        public async Task<string> CreateAsync(string poolId, int maxAttempts, CancellationToken ct)
        {
            var deadLetter = await CreateOneAsync(DeadLetterQueueName(poolId), poolId, "dead-letter", new Dictionary<string, string>(), ct).ConfigureAwait(false);
            try
            {
                var arn = (await AwsErrors.Call(() => _sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = deadLetter, AttributeNames = new List<string> { "QueueArn" } }, ct),
                    $"Reading the dead-letter queue of pool {poolId}").ConfigureAwait(false)).Attributes["QueueArn"];

                // After max_attempts receives a message goes to the dead-letter queue: SQS itself bounds a job's attempts.
                var redrive = "{\"deadLetterTargetArn\":\"" + arn + "\",\"maxReceiveCount\":" + maxAttempts.ToString(CultureInfo.InvariantCulture) + "}";
                return await CreateOneAsync(QueueName(poolId), poolId, "queue", new Dictionary<string, string>
                {
                    ["VisibilityTimeout"] = VisibilitySeconds.ToString(CultureInfo.InvariantCulture),
                    ["ReceiveMessageWaitTimeSeconds"] = ReceiveWaitSeconds.ToString(CultureInfo.InvariantCulture),
                    ["RedrivePolicy"] = redrive,
                }, ct).ConfigureAwait(false);
            }
            catch
            {
                // A pool without its job queue is no pool: its dead-letter queue would be left behind, found by no job.
                try
                {
                    await _sqs.DeleteQueueAsync(new DeleteQueueRequest { QueueUrl = deadLetter }, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Get-FemagJob still lists it (a pool whose jobs are gone), and Stop-FemagInstance removes it.
                }

                throw;
            }
        }

        private async Task<string> CreateOneAsync(string name, string poolId, string role, Dictionary<string, string> attributes, CancellationToken ct)
        {
            // Encrypted at rest with SQS's own keys: a message carries the job's script, which may hold settings.
            attributes["SqsManagedSseEnabled"] = "true";
            attributes["MessageRetentionPeriod"] = RetentionSeconds.ToString(CultureInfo.InvariantCulture);
            var response = await AwsErrors.Call(() => _sqs.CreateQueueAsync(new CreateQueueRequest
            {
                QueueName = name,
                Attributes = attributes,
                Tags = new Dictionary<string, string> { [PoolTag] = poolId, [RoleTag] = role },
            }, ct), $"Creating queue {name}").ConfigureAwait(false);
            return response.QueueUrl;
        }

        public async Task SendAsync(string queueUrl, IReadOnlyList<string> bodies, CancellationToken ct)
        {
            for (var start = 0; start < bodies.Count; start += SendBatch)
            {
                var entries = bodies.Skip(start).Take(SendBatch)
                    .Select((body, i) => new SendMessageBatchRequestEntry { Id = (start + i).ToString(CultureInfo.InvariantCulture), MessageBody = body })
                    .ToList();
                var response = await AwsErrors.Call(() => _sqs.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = queueUrl, Entries = entries }, ct),
                    $"Sending jobs to queue {queueUrl}").ConfigureAwait(false);

                // A batch succeeds entry by entry: one refused message is a job that would never run.
                var failed = response.Failed ?? new List<BatchResultErrorEntry>();
                if (failed.Count > 0)
                {
                    var first = failed[0];
                    throw new FemagException("FemagPoolSendFailed", first.SenderFault == true ? FemagErrorKind.InvalidArgument : FemagErrorKind.InvalidOperation,
                        $"Sending jobs to queue {queueUrl} failed for {failed.Count} of {entries.Count} message(s): {first.Code}: {first.Message}. Start the jobs again with Start-FemagInstance; jobs already sent are not sent twice.");
                }
            }
        }

        public Task<string?> UrlAsync(string poolId, CancellationToken ct) => TryUrlAsync(QueueName(poolId), ct);

        public async Task<PoolQueueCounts?> CountsAsync(string poolId, CancellationToken ct)
        {
            var counts = await AttributesAsync(QueueName(poolId), CountAttributes, ct).ConfigureAwait(false);
            if (counts == null)
            {
                return null;
            }

            var deadLetter = await AttributesAsync(DeadLetterQueueName(poolId), CountAttributes.Take(1), ct).ConfigureAwait(false);
            return new PoolQueueCounts(counts[0], counts[1], counts[2], deadLetter?[0] ?? 0);
        }

        /// <summary>A queue's count attributes in the order asked, or null when the queue is gone.</summary>
        private async Task<int[]?> AttributesAsync(string name, IEnumerable<string> names, CancellationToken ct)
        {
            var url = await TryUrlAsync(name, ct).ConfigureAwait(false);
            if (url == null)
            {
                return null;
            }

            try
            {
                var response = await _sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = names.ToList() }, ct).ConfigureAwait(false);
                var attributes = response.Attributes ?? new Dictionary<string, string>();
                return names.Select(n => attributes.TryGetValue(n, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : 0).ToArray();
            }
            catch (QueueDoesNotExistException)
            {
                return null;
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, $"Reading the counts of queue {name}");
            }
        }

        public async Task<List<PoolQueueInfo>> ListAsync(CancellationToken ct)
        {
            var pages = await AwsErrors.CollectAsync(_sqs.Paginators.ListQueues(new ListQueuesRequest { QueueNamePrefix = NamePrefix }).Responses,
                "Listing the module's queues", ct).ConfigureAwait(false);
            var found = new List<PoolQueueInfo>();
            foreach (var url in pages.SelectMany(p => p.QueueUrls ?? new List<string>()))
            {
                var name = url.Substring(url.LastIndexOf('/') + 1);
                var deadLetter = name.EndsWith(DeadLetterSuffix, StringComparison.Ordinal);

                // Only queues the module tagged: a queue of someone else's that happens to share the prefix is left alone.
                Dictionary<string, string> tags;
                try
                {
                    tags = (await _sqs.ListQueueTagsAsync(new ListQueueTagsRequest { QueueUrl = url }, ct).ConfigureAwait(false)).Tags ?? new Dictionary<string, string>();
                }
                catch (QueueDoesNotExistException)
                {
                    continue;
                }
                catch (Exception ex)
                {
                    throw AwsErrors.Explain(ex, $"Reading the tags of queue {name}");
                }

                if (tags.TryGetValue(PoolTag, out var poolId) && (deadLetter ? DeadLetterQueueName(poolId) : QueueName(poolId)) == name)
                {
                    found.Add(new PoolQueueInfo(poolId, url, deadLetter));
                }
            }

            return found;
        }

        public async Task DeleteAsync(string poolId, CancellationToken ct)
        {
            // The job queue first: its redrive policy names the dead-letter queue.
            foreach (var name in new[] { QueueName(poolId), DeadLetterQueueName(poolId) })
            {
                var url = await TryUrlAsync(name, ct).ConfigureAwait(false);
                if (url == null)
                {
                    continue;
                }

                try
                {
                    await _sqs.DeleteQueueAsync(new DeleteQueueRequest { QueueUrl = url }, ct).ConfigureAwait(false);
                }
                catch (QueueDoesNotExistException)
                {
                    // Deleted meanwhile, by another session's clean-up.
                }
                catch (Exception ex)
                {
                    throw AwsErrors.Explain(ex, $"Deleting queue {name}");
                }
            }
        }

        private async Task<string?> TryUrlAsync(string name, CancellationToken ct)
        {
            try
            {
                return (await _sqs.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = name }, ct).ConfigureAwait(false)).QueueUrl;
            }
            catch (QueueDoesNotExistException)
            {
                return null;
            }
            catch (Exception ex)
            {
                throw AwsErrors.Explain(ex, $"Looking for queue {name}");
            }
        }
    }
}

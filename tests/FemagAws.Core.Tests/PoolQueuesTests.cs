using Amazon.SQS;
using Amazon.SQS.Model;
using FemagAws.Aws.S3;
using FemagAws.Aws.Sqs;

namespace FemagAws.Core.Tests;

/// <summary>The SQS gateway of pools, against a fake IAmazonSQS, and the pool's config keys and bucket tag.</summary>
public sealed class PoolQueuesTests
{
    private const string PoolId = "p20261206043000-1a2b3c4d";
    private const string Url = "https://sqs.eu-central-1.amazonaws.com/123456789012/femag-aws-pool-" + PoolId;

    [Fact]
    public async Task The_dead_letter_queue_comes_first_and_the_queue_redrives_to_it_after_max_attempts()
    {
        var (sqs, fake) = FakeAws.Of<IAmazonSQS>();
        fake.On("CreateQueueAsync", a => new CreateQueueResponse { QueueUrl = "https://sqs.local/123/" + ((CreateQueueRequest)a[0]!).QueueName })
            .On("GetQueueAttributesAsync", _ => new GetQueueAttributesResponse { Attributes = new Dictionary<string, string> { ["QueueArn"] = "arn:aws:sqs:eu-central-1:123:dead" } });

        var url = await new PoolQueues(sqs).CreateAsync(PoolId, 4, CancellationToken.None);

        Assert.Equal("https://sqs.local/123/femag-aws-pool-" + PoolId, url);
        var created = fake.Requests<CreateQueueRequest>().ToList();
        Assert.Equal(new[] { "femag-aws-pool-" + PoolId + "-dead", "femag-aws-pool-" + PoolId }, created.Select(r => r.QueueName));
        Assert.Equal(new Dictionary<string, string> { ["femag-aws:pool"] = PoolId, ["femag-aws:role"] = "dead-letter" }, created[0].Tags);
        Assert.Equal(new Dictionary<string, string> { ["femag-aws:pool"] = PoolId, ["femag-aws:role"] = "queue" }, created[1].Tags);
        Assert.Equal(new Dictionary<string, string> { ["SqsManagedSseEnabled"] = "true", ["MessageRetentionPeriod"] = "1209600" }, created[0].Attributes);
        Assert.Equal(new Dictionary<string, string>
        {
            ["VisibilityTimeout"] = "30",
            ["ReceiveMessageWaitTimeSeconds"] = "10",
            ["RedrivePolicy"] = "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-central-1:123:dead\",\"maxReceiveCount\":4}",
            ["SqsManagedSseEnabled"] = "true",
            ["MessageRetentionPeriod"] = "1209600",
        }, created[1].Attributes);
    }

    [Fact]
    public async Task Messages_go_ten_per_request()
    {
        var (sqs, fake) = FakeAws.Of<IAmazonSQS>();
        fake.On("SendMessageBatchAsync", _ => new SendMessageBatchResponse());

        await new PoolQueues(sqs).SendAsync(Url, Enumerable.Range(0, 25).Select(i => "m" + i).ToList(), CancellationToken.None);

        var batches = fake.Requests<SendMessageBatchRequest>().ToList();
        Assert.Equal(new[] { 10, 10, 5 }, batches.Select(b => b.Entries.Count));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => "m" + i), batches.SelectMany(b => b.Entries).Select(e => e.MessageBody));
        Assert.Equal(25, batches.SelectMany(b => b.Entries).Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public async Task A_message_SQS_refused_fails_the_send()
    {
        var (sqs, fake) = FakeAws.Of<IAmazonSQS>();
        fake.On("SendMessageBatchAsync", _ => new SendMessageBatchResponse
        {
            Failed = new List<BatchResultErrorEntry> { new() { Id = "1", Code = "InvalidMessageContents", Message = "bad", SenderFault = true } },
        });

        var ex = await Assert.ThrowsAsync<FemagException>(() => new PoolQueues(sqs).SendAsync(Url, new[] { "a", "b" }, CancellationToken.None));

        Assert.Equal("FemagPoolSendFailed", ex.ErrorId);
        Assert.Contains("1 of 2 message(s): InvalidMessageContents: bad", ex.Message);
    }

    [Fact]
    public async Task The_dead_letter_queue_is_deleted_when_the_job_queue_cannot_be_made()
    {
        var (sqs, fake) = FakeAws.Of<IAmazonSQS>();
        fake.On("CreateQueueAsync", a => ((CreateQueueRequest)a[0]!).QueueName.EndsWith("-dead", StringComparison.Ordinal)
                ? new CreateQueueResponse { QueueUrl = Url + "-dead" }
                : throw new AmazonSQSException("no") { ErrorCode = "AccessDenied" })
            .On("GetQueueAttributesAsync", _ => new GetQueueAttributesResponse { Attributes = new Dictionary<string, string> { ["QueueArn"] = "arn:aws:sqs:eu-central-1:123:dead" } })
            .On("DeleteQueueAsync", _ => new DeleteQueueResponse());

        await Assert.ThrowsAsync<FemagException>(() => new PoolQueues(sqs).CreateAsync(PoolId, 3, CancellationToken.None));

        Assert.Equal(Url + "-dead", Assert.Single(fake.Requests<DeleteQueueRequest>()).QueueUrl);
    }

    [Fact]
    public async Task Counts_are_read_from_the_queue_and_a_queue_that_is_gone_has_none()
    {
        var (sqs, fake) = FakeAws.Of<IAmazonSQS>();
        fake.On("GetQueueUrlAsync", _ => new GetQueueUrlResponse { QueueUrl = Url })
            .On("GetQueueAttributesAsync", _ => new GetQueueAttributesResponse
            {
                Attributes = new Dictionary<string, string> { ["ApproximateNumberOfMessages"] = "3", ["ApproximateNumberOfMessagesNotVisible"] = "2", ["ApproximateNumberOfMessagesDelayed"] = "0" },
            });

        var counts = await new PoolQueues(sqs).CountsAsync(PoolId, CancellationToken.None);

        Assert.Equal((3, 2, 0, 5, 3), (counts!.Visible, counts.NotVisible, counts.Delayed, counts.Total, counts.DeadLetter));
        fake.On("GetQueueUrlAsync", a => ((GetQueueUrlRequest)a[0]!).QueueName.EndsWith("-dead", StringComparison.Ordinal) ? throw new QueueDoesNotExistException("gone") : new GetQueueUrlResponse { QueueUrl = Url });
        var withoutDeadLetter = await new PoolQueues(sqs).CountsAsync(PoolId, CancellationToken.None);
        Assert.Equal((5, 0), (withoutDeadLetter!.Total, withoutDeadLetter.DeadLetter));
        fake.On("GetQueueUrlAsync", _ => throw new QueueDoesNotExistException("gone"));
        Assert.Null(await new PoolQueues(sqs).CountsAsync(PoolId, CancellationToken.None));
    }

    [Fact]
    public async Task Only_queues_tagged_with_their_own_pool_are_the_modules()
    {
        var (sqs, fake) = FakeAws.Of<IAmazonSQS>();
        var urls = new[] { Url, Url + "-dead", "https://sqs.local/123/femag-aws-pool-someone-elses" };
        fake.On("ListQueuesAsync", _ => new ListQueuesResponse { QueueUrls = urls.ToList() })
            .On("ListQueueTagsAsync", a => new ListQueueTagsResponse
            {
                Tags = ((ListQueueTagsRequest)a[0]!).QueueUrl.Contains(PoolId) ? new Dictionary<string, string> { ["femag-aws:pool"] = PoolId } : new Dictionary<string, string>(),
            });

        var found = await new PoolQueues(sqs).ListAsync(CancellationToken.None);

        Assert.Equal(new[] { (PoolId, Url, false), (PoolId, Url + "-dead", true) }, found.Select(q => (q.PoolId, q.Url, q.DeadLetter)));
        Assert.Equal("femag-aws-pool-", fake.Requests<ListQueuesRequest>().Single().QueueNamePrefix);
    }

    [Fact]
    public async Task Deleting_a_pool_deletes_both_queues_and_skips_one_already_gone()
    {
        var (sqs, fake) = FakeAws.Of<IAmazonSQS>();
        fake.On("GetQueueUrlAsync", a => ((GetQueueUrlRequest)a[0]!).QueueName.EndsWith("-dead") ? throw new QueueDoesNotExistException("gone") : new GetQueueUrlResponse { QueueUrl = Url })
            .On("DeleteQueueAsync", _ => new DeleteQueueResponse());

        await new PoolQueues(sqs).DeleteAsync(PoolId, CancellationToken.None);

        Assert.Equal(new[] { Url }, fake.Requests<DeleteQueueRequest>().Select(r => r.QueueUrl));
    }

    [Theory]
    [InlineData("pool_size", "x", "pool_size = 'x' is not a whole number of instances")]
    [InlineData("pool_size", "-1", "pool_size = '-1' is not a whole number of instances")]
    [InlineData("slots_per_instance", "0", "slots_per_instance = '0' is not a whole number of jobs per instance above 0")]
    [InlineData("slots_per_instance", "1.5", "slots_per_instance = '1.5' is not a whole number")]
    public void Pool_keys_that_are_not_counts_are_refused(string key, string value, string message)
    {
        var ex = Assert.Throws<FemagConfigException>(() => FemagConfig.FromSettings(new Dictionary<string, string> { [key] = value }));

        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Without_pool_keys_each_job_has_its_own_instance()
    {
        Assert.Equal((0, 1, false), (FemagConfig.Defaults.PoolSize, FemagConfig.Defaults.SlotsPerInstance, FemagConfig.Defaults.IsPool));
        var pool = FemagConfig.FromSettings(new Dictionary<string, string> { ["pool_size"] = "5", ["slots_per_instance"] = "2" });
        Assert.Equal((5, 2, true), (pool.PoolSize, pool.SlotsPerInstance, pool.IsPool));
        Assert.Empty(pool.UnknownKeys());
    }

    [Fact]
    public void The_pool_tag_travels_with_the_job_tags()
    {
        var tags = new JobTags(3, "/work/parvar/3", "abc").WithPool(PoolId);

        var read = JobTags.From(tags.ToTagSet())!;

        Assert.Equal((3, "/work/parvar/3", "abc", PoolId), (read.Index, read.Folder, read.ArchiveETag, read.PoolId));
        Assert.Contains(tags.ToTagSet(), t => t.Key == "femag-aws:pool" && t.Value == PoolId);
        Assert.Null(JobTags.From(new JobTags(3, null, null).ToTagSet())!.PoolId);
    }

    [Fact]
    public void The_pools_markers_stay_out_of_archives()
    {
        Assert.True(Jobs.JobUploader.IsBookkeeping("femag-aws/job.log", FemagConfig.Defaults));
        Assert.True(Jobs.JobUploader.IsBookkeeping("femag-aws/withdrawn", FemagConfig.Defaults));
        Assert.False(Jobs.JobUploader.IsBookkeeping("femag-aws.fsl", FemagConfig.Defaults));
    }
}

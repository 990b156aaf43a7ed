using System.Management.Automation;
using Amazon.S3.Model;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Pipeline;

/// <summary>Remove-FemagBucket: every object of the module's idle buckets, nothing of anyone else's.</summary>
public sealed class RemoveBucketTests : CloudTest
{
    public RemoveBucketTests(LocalCloudFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task A_bucket_with_more_than_a_thousand_objects_and_an_unfinished_upload_is_removed_with_Force()
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        var job = Assert.Single(NewBuckets(ps, ws, ws.AddJob("0", "-- job\n")));
        using (var s3 = Cloud.S3())
        {
            using var slots = new SemaphoreSlim(16);
            await Task.WhenAll(Enumerable.Range(0, 1100).Select(async i =>
            {
                await slots.WaitAsync();
                try
                {
                    await s3.PutObjectAsync(new PutObjectRequest { BucketName = job.Bucket(), Key = $"results/{i:D4}.dat", ContentBody = "x" });
                }
                finally
                {
                    slots.Release();
                }
            }));
            await s3.InitiateMultipartUploadAsync(job.Bucket(), "result.bin");
        }

        var result = ps.Run("$args[0] | Remove-FemagBucket -Force -Verbose", job);

        Assert.True(result.Errors.Count == 0 && result.Terminating == null, result.Describe());
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
        Assert.Contains(result.Verbose, v => v.Contains("1101 object(s)"));
        Assert.NotEmpty(result.Progress);
    }

    [Fact]
    public async Task WhatIf_wins_over_Force_and_without_Force_a_non_interactive_host_removes_nothing()
    {
        using var ws = new Workspace(Cloud);
        using var ps = new PsSession();
        var job = Assert.Single(NewBuckets(ps, ws, ws.AddJob("0", "-- job\n")));

        var whatIf = ps.Run("$args[0] | Remove-FemagBucket -Force -WhatIf -PassThru", job);
        var unconfirmed = ps.Run("$args[0] | Remove-FemagBucket", job);

        Assert.True(whatIf.Errors.Count == 0 && whatIf.Terminating == null, whatIf.Describe());
        Assert.Empty(whatIf.Output);
        Assert.Contains("non-interactive", unconfirmed.Describe());
        Assert.Contains(job.Bucket(), await Cloud.BucketNamesAsync());

        // By name, from the pipeline, confirmed in the script.
        var confirmed = ps.Run("$args[0] | Remove-FemagBucket -Confirm:$false -EndpointUrl $args[1] -PassThru", job.Bucket(), Cloud.Endpoint);

        Assert.True(confirmed.Errors.Count == 0 && confirmed.Terminating == null, confirmed.Describe());
        Assert.Equal(job.Bucket(), Assert.Single(confirmed.Output).BaseObject);
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
    }

    [Fact]
    public async Task Buckets_the_module_did_not_create_are_refused_and_kept()
    {
        var untagged = Guid.NewGuid().ToString("D") + "-0";
        const string Foreign = "someone-elses-data";
        using (var s3 = Cloud.S3())
        {
            foreach (var name in new[] { untagged, Foreign })
            {
                await s3.PutBucketAsync(new PutBucketRequest { BucketName = name, BucketRegionName = "eu-central-1" });
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = name, Key = "keep.txt", ContentBody = "mine" });
            }
        }

        using var ps = new PsSession();

        var result = ps.Run("Remove-FemagBucket -Name $args[0], $args[1] -Force -EndpointUrl $args[2]", untagged, Foreign, Cloud.Endpoint);

        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e =>
        {
            Assert.Equal("FemagBucketNotModule,FemagAws.Commands.RemoveFemagBucketCommand", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.PermissionDenied, e.CategoryInfo.Category);
        });
        Assert.Contains("femag-aws:index", result.Errors[0].Exception.Message);
        Assert.Contains("<uuid>-<index>", result.Errors[1].Exception.Message);
        var buckets = await Cloud.BucketNamesAsync();
        Assert.Contains(untagged, buckets);
        Assert.Contains(Foreign, buckets);

        // The aws command each error names deletes the bucket as printed: it names the region and the endpoint.
        foreach (var message in result.Errors.Select(e => e.Exception.Message))
        {
            var command = message.Substring(message.IndexOf("'aws ", StringComparison.Ordinal) + 1);
            var run = ScriptProcess.Run(command.Substring(0, command.IndexOf('\'')) + "; exit $LASTEXITCODE");
            Assert.True(run.ExitCode == 0, run.Output);
        }

        buckets = await Cloud.BucketNamesAsync();
        Assert.DoesNotContain(untagged, buckets);
        Assert.DoesNotContain(Foreign, buckets);
    }

    [Fact]
    public async Task A_bucket_whose_instance_still_runs_is_refused_until_the_instance_is_stopped()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- fake-femag: sleep 600\n");
        using var ps = new PsSession();
        var job = Assert.Single(ps.Run("[IO.DirectoryInfo[]]$args[0] | New-FemagBucket -ConfigFile $args[1] | Start-FemagInstance", new[] { folder.FullName }, ws.ConfigFile).Output);

        var refused = ps.Run("$args[0] | Remove-FemagBucket -Force", job);
        var whatIf = ps.Run("$args[0] | Remove-FemagBucket -WhatIf", job);

        foreach (var error in new[] { Assert.Single(refused.Errors), Assert.Single(whatIf.Errors) })
        {
            Assert.Equal("FemagBucketInUse,FemagAws.Commands.RemoveFemagBucketCommand", error.FullyQualifiedErrorId);
            Assert.Contains(job.InstanceId()!, error.Exception.Message);
            Assert.Contains("Stop-FemagInstance", error.Exception.Message);

            // -WhatIf keeps every bucket: no word of a bucket "kept" as if it had been decided.
            Assert.DoesNotContain("kept", error.Exception.Message);
        }

        Assert.Contains(job.Bucket(), await Cloud.BucketNamesAsync());

        var removed = ps.Run("$args[0] | Stop-FemagInstance -PassThru | Remove-FemagBucket -Force", job);

        Assert.True(removed.Errors.Count == 0 && removed.Terminating == null, removed.Describe());
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());

        // Removing it again: it is gone, as asked; a warning says so, no error, and -PassThru still passes the job on.
        var again = ps.Run("$args[0] | Remove-FemagBucket -Force -PassThru", job);

        Assert.True(again.Errors.Count == 0 && again.Terminating == null, again.Describe());
        Assert.Contains(job.Bucket(), Assert.Single(again.Warnings));
        Assert.Equal(job.Bucket(), Assert.Single(again.Output).Bucket());
    }

    [Fact]
    public async Task Receive_with_RemoveBucket_keeps_the_bucket_of_a_finished_job_whose_instance_is_still_live()
    {
        using var ws = new Workspace(Cloud);
        var folder = ws.AddJob("0", "-- job\n");
        using var ps = new PsSession();
        // Finished, while its instance (the seed script never shuts down) runs on and bills.
        var job = Assert.Single(ps.Run(UntilFinished + " -KeepInstance", new[] { folder.FullName }, ws.ConfigFile).Output);

        var kept = ps.Run("$args[0] | Receive-FemagResult -RemoveBucket", job);

        var error = Assert.Single(kept.Errors);
        Assert.Equal("FemagBucketInUse,FemagAws.Commands.ReceiveFemagResultCommand", error.FullyQualifiedErrorId);
        Assert.Contains(job.InstanceId()!, error.Exception.Message);
        Assert.Equal("Succeeded", Assert.Single(kept.Output).State());
        Assert.True(File.Exists(Path.Combine(folder.FullName, "exit_code")));
        Assert.Contains(job.Bucket(), await Cloud.BucketNamesAsync());
        Assert.Equal(Amazon.EC2.InstanceStateName.Running, await Cloud.InstanceStateAsync(job.InstanceId()));

        var removed = ps.Run("$args[0] | Stop-FemagInstance -PassThru | Receive-FemagResult -RemoveBucket", job);

        Assert.True(removed.Errors.Count == 0 && removed.Terminating == null, removed.Describe());
        Assert.DoesNotContain(job.Bucket(), await Cloud.BucketNamesAsync());
    }
}

using System.Diagnostics;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Amazon.S3;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// A local AWS for one test class: moto on a free loopback port plus the instance runner that plays EC2
/// (tools/localcloud/localcloud.py). It dies with its stdin, so nothing outlives the test process.
/// </summary>
public sealed class LocalCloud : IDisposable
{
    public const string KeyPair = "test-key-pair-eucentral-1";
    public const string InstanceProfile = "ecsInstanceRole";
    public const string SecurityGroup = "sg-8475b5dd";

    /// <summary>The regions the local cloud provisions and runs instances in (localcloud.py's default).</summary>
    public static readonly string[] Regions = { "eu-central-1", "us-east-1" };

    private readonly Process _process;

    static LocalCloud()
    {
        // The module finds these through the SDK's own credential chain, like real users' environment.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "testing");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "testing");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");

        // The region follows these where no job decides it; the developer's shell must not choose it for the tests.
        foreach (var name in new[] { "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL" })
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    public LocalCloud()
    {
        Sandbox = Directory.CreateTempSubdirectory("femag-cloud-").FullName;
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     Repo.LocalCloudScript, "--sandbox", Sandbox, "--port", "0", "--key-pair", KeyPair,
                     "--instance-profile", InstanceProfile, "--security-group", SecurityGroup,
                 })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start)!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) { lock (_stderr) { _stderr.AppendLine(e.Data); } } };
        _process.BeginErrorReadLine();
        var ready = _process.StandardOutput.ReadLineAsync();
        if (!ready.Wait(TimeSpan.FromSeconds(60)) || ready.Result == null || !ready.Result.StartsWith("READY ", StringComparison.Ordinal))
        {
            Dispose();
            throw new InvalidOperationException("The local cloud did not start: " + ready.Result + "\n" + StdErr);
        }

        Endpoint = ready.Result.Substring("READY ".Length).Trim();
    }

    private readonly System.Text.StringBuilder _stderr = new();

    public string Endpoint { get; }

    public string Sandbox { get; }

    public string StdErr { get { lock (_stderr) { return _stderr.ToString(); } } }

    public string RunnerLog => File.Exists(Path.Combine(Sandbox, "runner.log")) ? File.ReadAllText(Path.Combine(Sandbox, "runner.log")) : string.Empty;

    public AmazonS3Client S3(string region = "eu-central-1") =>
        new(new BasicAWSCredentials("testing", "testing"),
            new AmazonS3Config { ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = region });

    /// <summary>
    /// An S3 client of another account (<paramref name="accountId"/>): moto's STS AssumeRole into a role of that account
    /// gives keys that moto counts as that account's, as it does for a real cross-account role.
    /// </summary>
    public async Task<AmazonS3Client> S3OfAccountAsync(string accountId, string region = "eu-central-1")
    {
        using var sts = new Amazon.SecurityToken.AmazonSecurityTokenServiceClient(new BasicAWSCredentials("testing", "testing"),
            new Amazon.SecurityToken.AmazonSecurityTokenServiceConfig { ServiceURL = Endpoint, AuthenticationRegion = region });
        var keys = (await sts.AssumeRoleAsync(new Amazon.SecurityToken.Model.AssumeRoleRequest { RoleArn = $"arn:aws:iam::{accountId}:role/other", RoleSessionName = "other-account" })).Credentials;
        return new AmazonS3Client(new SessionAWSCredentials(keys.AccessKeyId, keys.SecretAccessKey, keys.SessionToken),
            new AmazonS3Config { ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = region });
    }

    public AmazonEC2Client Ec2(string region = "eu-central-1") =>
        new(new BasicAWSCredentials("testing", "testing"),
            new AmazonEC2Config { ServiceURL = Endpoint, AuthenticationRegion = region });

    /// <summary>Every instance in the region with its state name.</summary>
    public async Task<List<Instance>> InstancesAsync(string region = "eu-central-1")
    {
        using var ec2 = Ec2(region);
        var response = await ec2.DescribeInstancesAsync(new DescribeInstancesRequest());
        return (response.Reservations ?? new()).SelectMany(r => r.Instances ?? new()).ToList();
    }

    public async Task<InstanceStateName> InstanceStateAsync(string? instanceId) =>
        (await InstancesAsync()).Single(i => i.InstanceId == instanceId).State.Name;

    public async Task<List<string>> BucketNamesAsync()
    {
        using var s3 = S3();
        var response = await s3.ListBucketsAsync();
        return (response.Buckets ?? new()).Select(b => b.BucketName).ToList();
    }

    /// <summary>Launches an instance directly with the SDK, as someone else in the account would; returns its id.</summary>
    public async Task<string> LaunchAsync(params Amazon.EC2.Model.Tag[] tags)
    {
        using var ec2 = Ec2();
        var request = new RunInstancesRequest { ImageId = "ami-6d4ceb03", InstanceType = InstanceType.T2Small, MinCount = 1, MaxCount = 1 };
        if (tags.Length > 0)
        {
            request.TagSpecifications = new() { new TagSpecification { ResourceType = ResourceType.Instance, Tags = tags.ToList() } };
        }

        return (await ec2.RunInstancesAsync(request)).Reservation.Instances[0].InstanceId;
    }

    /// <summary>The region a bucket was created in.</summary>
    public async Task<string> BucketRegionAsync(string bucketName)
    {
        using var s3 = S3();
        var location = (await s3.GetBucketLocationAsync(bucketName)).Location?.Value;
        return string.IsNullOrEmpty(location) ? "us-east-1" : location;
    }

    /// <summary>Terminates whatever a test left running, in every region, so the runner stops its scripts.</summary>
    public async Task TerminateAllAsync()
    {
        foreach (var region in Regions)
        {
            var live = (await InstancesAsync(region)).Where(i => i.State.Name != InstanceStateName.Terminated).Select(i => i.InstanceId).ToList();
            if (live.Count > 0)
            {
                using var ec2 = Ec2(region);
                await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = live });
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(10_000))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit();
                }
            }
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete(Sandbox, recursive: true);
            }
            catch (IOException)
            {
                // A script the runner just killed may still be releasing a file; the OS temp cleaner gets the rest.
            }
        }
    }
}

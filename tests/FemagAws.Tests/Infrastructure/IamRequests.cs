using System.Collections.Specialized;
using System.Web;
using System.Xml.Linq;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// The IAM authorizations AWS makes for a request the proxy recorded (<see cref="ProxiedRequest"/>), after the AWS
/// service authorization references (S3: "Required permissions" of each API; EC2: the resource types and condition
/// keys of RunInstances, CreateTags and TerminateInstances, and tag-on-create's extra ec2:CreateTags). A request this
/// class does not know, or one with a setting that asks for more permissions (ACLs, object tags, copies, KMS, …), throws
/// rather than being judged by a guess.
/// </summary>
public sealed class IamRequests
{
    /// <summary>moto's account id.</summary>
    public const string Account = "123456789012";

    /// <summary>S3 APIs: the IAM action, the subresource in the query that names the API, and whether it acts on an object.</summary>
    private static readonly Dictionary<string, (string Action, string? Subresource, bool OnObject)> S3Apis = new(StringComparer.Ordinal)
    {
        ["ListBuckets"] = ("s3:ListAllMyBuckets", null, false),
        ["CreateBucket"] = ("s3:CreateBucket", null, false),
        ["HeadBucket"] = ("s3:ListBucket", null, false),
        ["ListObjects"] = ("s3:ListBucket", null, false),
        ["GetBucketLocation"] = ("s3:GetBucketLocation", "location", false),
        ["GetBucketTagging"] = ("s3:GetBucketTagging", "tagging", false),
        ["PutBucketTagging"] = ("s3:PutBucketTagging", "tagging", false),
        ["PutPublicAccessBlock"] = ("s3:PutBucketPublicAccessBlock", "publicAccessBlock", false),
        ["PutBucketEncryption"] = ("s3:PutEncryptionConfiguration", "encryption", false),
        ["ListMultipartUploads"] = ("s3:ListBucketMultipartUploads", "uploads", false),
        ["DeleteBucket"] = ("s3:DeleteBucket", null, false),

        // DeleteObjects is authorized as s3:DeleteObject on each key in its body.
        ["DeleteObjects"] = ("s3:DeleteObject", "delete", false),
        ["GetObject"] = ("s3:GetObject", null, true),
        ["HeadObject"] = ("s3:GetObject", null, true),
        ["PutObject"] = ("s3:PutObject", null, true),
        ["CreateMultipartUpload"] = ("s3:PutObject", "uploads", true),
        ["UploadPart"] = ("s3:PutObject", "partNumber", true),
        ["CompleteMultipartUpload"] = ("s3:PutObject", "uploadId", true),
        ["AbortMultipartUpload"] = ("s3:AbortMultipartUpload", "uploadId", true),
        ["DeleteObject"] = ("s3:DeleteObject", null, true),
    };

    /// <summary>Query parameters that make a request another API with its own IAM action, unless they are the API's own subresource.</summary>
    private static readonly string[] Subresources =
    {
        "acl", "tagging", "versionId", "versions", "versioning", "policy", "policyStatus", "cors", "lifecycle", "website", "logging",
        "notification", "replication", "retention", "legal-hold", "torrent", "attributes", "select", "restore", "ownershipControls",
        "object-lock", "accelerate", "requestPayment", "analytics", "inventory", "metrics", "intelligent-tiering", "publicAccessBlock",
        "encryption", "location", "uploads", "delete",
    };

    private readonly Func<string, IReadOnlyDictionary<string, string>?> _instanceTags;
    private readonly Func<string, string> _roleOfProfile;

    /// <param name="instanceTags">The tags of an instance by id (null for an instance the cloud does not know).</param>
    /// <param name="roleOfProfile">The role an instance profile holds, by the profile's name.</param>
    public IamRequests(Func<string, IReadOnlyDictionary<string, string>?> instanceTags, Func<string, string> roleOfProfile)
    {
        _instanceTags = instanceTags;
        _roleOfProfile = roleOfProfile;
    }

    public IEnumerable<IamCheck> ChecksOf(ProxiedRequest request) =>
        request.Headers.TryGetValue("x-amz-target", out var target) && target.StartsWith("AmazonSQS.", StringComparison.Ordinal)
            ? SqsChecks(request, target.Substring("AmazonSQS.".Length))
            : request.Headers.TryGetValue("content-type", out var type) && type.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
                ? QueryApiChecks(request)
                : S3Checks(request);

    /// <summary>
    /// SQS over its JSON protocol: each API on the queue it names (by QueueName or QueueUrl), batches as their single
    /// action, ListQueues on "*", and tags given to CreateQueue also as sqs:TagQueue.
    /// </summary>
    private static IEnumerable<IamCheck> SqsChecks(ProxiedRequest request, string api)
    {
        var body = System.Text.Json.JsonDocument.Parse(request.Body ?? "{}").RootElement;
        string? Field(string name) => body.TryGetProperty(name, out var value) ? value.GetString() : null;
        var name = Field("QueueName") ?? Field("QueueUrl")?.Split('/').Last();
        var queue = $"arn:aws:sqs:{RegionOf(request)}:{Account}:{name}";
        switch (api)
        {
            case "ListQueues":
                yield return new IamCheck("sqs:ListQueues", "*", IamCheck.NoContext);
                break;
            case "CreateQueue":
                yield return new IamCheck("sqs:CreateQueue", queue, IamCheck.NoContext);
                if (body.TryGetProperty("tags", out _))
                {
                    yield return new IamCheck("sqs:TagQueue", queue, IamCheck.NoContext);
                }

                break;
            case "SendMessageBatch":
                yield return new IamCheck("sqs:SendMessage", queue, IamCheck.NoContext);
                break;
            case "GetQueueUrl":
            case "GetQueueAttributes":
            case "ListQueueTags":
            case "DeleteQueue":
            case "SendMessage":
            case "ReceiveMessage":
            case "DeleteMessage":
            case "ChangeMessageVisibility":
                yield return new IamCheck("sqs:" + api, queue, IamCheck.NoContext);
                break;
            default:
                throw new NotSupportedException($"No IAM mapping for sqs:{api}: add it to {nameof(IamRequests)}.");
        }
    }

    private static IEnumerable<IamCheck> S3Checks(ProxiedRequest request)
    {
        var api = request.Api.Substring("s3:".Length);
        if (!S3Apis.TryGetValue(api, out var known))
        {
            throw new NotSupportedException($"No IAM mapping for S3 request {request.Method} {request.Path}{QueryText(request)} ({request.Api}): add it to {nameof(IamRequests)}.");
        }

        var other = request.Query.Keys.FirstOrDefault(k => Subresources.Contains(k, StringComparer.Ordinal) && k != known.Subresource);
        if (other != null)
        {
            throw new NotSupportedException($"{request.Api} with ?{other} asks for another IAM action: add it to {nameof(IamRequests)}.");
        }

        var extra = request.Headers.Keys.FirstOrDefault(h => h is "x-amz-acl" or "x-amz-tagging" or "x-amz-copy-source" or "x-amz-bucket-object-lock-enabled" ||
                                                            h.StartsWith("x-amz-grant-", StringComparison.Ordinal) || h.StartsWith("x-amz-object-lock-", StringComparison.Ordinal) ||
                                                            (h == "x-amz-server-side-encryption" && request.Headers[h] != "AES256"));
        if (extra != null)
        {
            throw new NotSupportedException($"{request.Api} with the header {extra} asks for more IAM actions: add them to {nameof(IamRequests)}.");
        }

        var parts = request.Path.TrimStart('/').Split('/', 2);
        var bucketArn = "arn:aws:s3:::" + parts[0];
        if (api == "ListBuckets")
        {
            yield return new IamCheck(known.Action, "*", IamCheck.NoContext);
        }
        else if (api == "DeleteObjects")
        {
            var keys = XDocument.Parse(request.Body ?? throw new InvalidOperationException("DeleteObjects without its body")).Descendants().Where(e => e.Name.LocalName == "Key").Select(e => e.Value).ToList();
            foreach (var key in keys)
            {
                yield return new IamCheck(known.Action, bucketArn + "/" + key, IamCheck.NoContext);
            }
        }
        else
        {
            yield return new IamCheck(known.Action, known.OnObject ? bucketArn + "/" + parts[1] : bucketArn, IamCheck.NoContext);
        }

        // Setting Object Ownership at creation also needs s3:PutBucketOwnershipControls (S3 user guide, "Setting Object Ownership when you create a bucket").
        if (api == "CreateBucket" && request.Headers.ContainsKey("x-amz-object-ownership"))
        {
            yield return new IamCheck("s3:PutBucketOwnershipControls", bucketArn, IamCheck.NoContext);
        }
    }

    private static string QueryText(ProxiedRequest request) =>
        request.Query.Count == 0 ? string.Empty : "?" + string.Join("&", request.Query.Keys);

    /// <summary>EC2 and STS: the Query protocol, told apart by their API version.</summary>
    private IEnumerable<IamCheck> QueryApiChecks(ProxiedRequest request)
    {
        var form = HttpUtility.ParseQueryString(request.Body ?? string.Empty);
        var action = form["Action"]!;
        switch (form["Version"])
        {
            case "2011-06-15" when action == "GetCallerIdentity":
                // Needs no permission (STS allows it to every identity); checked anyway, as the policy notes it.
                return new[] { new IamCheck("sts:GetCallerIdentity", "*", IamCheck.NoContext) };
            case "2016-11-15":
                return Ec2Checks(request, action, form);
            default:
                throw new NotSupportedException($"No IAM mapping for {action} (API version {form["Version"]}): add it to {nameof(IamRequests)}.");
        }
    }

    private IEnumerable<IamCheck> Ec2Checks(ProxiedRequest request, string action, NameValueCollection form)
    {
        var region = RegionOf(request);
        string Arn(string resource) => $"arn:aws:ec2:{region}:{Account}:{resource}";
        switch (action)
        {
            case "DescribeInstances":
            case "DescribeImages":
                // No resource-level permissions: only "*" grants them.
                return new[] { new IamCheck("ec2:" + action, "*", IamCheck.NoContext) };
            case "RunInstances":
                return RunInstancesChecks(form, region, Arn);
            case "GetConsoleOutput":
                return new[] { new IamCheck("ec2:GetConsoleOutput", Arn("instance/" + form["InstanceId"]), ResourceContext(form["InstanceId"]!, region)) };
            case "TerminateInstances":
                return Indexed(form, "InstanceId.{0}").Select(id => new IamCheck("ec2:TerminateInstances", Arn("instance/" + id), ResourceContext(id, region))).ToList();
            case "CreateTags":
                var tags = TagsOf(form, "Tag.{0}");
                return Indexed(form, "ResourceId.{0}").Select(id =>
                {
                    if (!id.StartsWith("i-", StringComparison.Ordinal))
                    {
                        throw new NotSupportedException($"CreateTags on {id}: only instances are mapped in {nameof(IamRequests)}.");
                    }

                    var context = new Dictionary<string, string[]>(ResourceContext(id, region));
                    foreach (var (key, value) in RequestTagContext(tags))
                    {
                        context[key] = value;
                    }

                    return new IamCheck("ec2:CreateTags", Arn("instance/" + id), context);
                }).ToList();
            default:
                throw new NotSupportedException($"No IAM mapping for ec2:{action}: add it to {nameof(IamRequests)}.");
        }
    }

    /// <summary>
    /// RunInstances is authorized on every resource it uses or creates; the new ones (instance, volume, network
    /// interface, Spot request) carry the tags requested for their type. Tags at launch are also authorized as
    /// ec2:CreateTags with ec2:CreateAction = RunInstances, and the instance profile's role as iam:PassRole.
    /// </summary>
    private IEnumerable<IamCheck> RunInstancesChecks(NameValueCollection form, string region, Func<string, string> arn)
    {
        var tagsByType = new Dictionary<string, List<(string Key, string Value)>>(StringComparer.Ordinal);
        foreach (var spec in Indexes(form, "TagSpecification.{0}.ResourceType"))
        {
            tagsByType[form[$"TagSpecification.{spec}.ResourceType"]!] = TagsOf(form, $"TagSpecification.{spec}.Tag.{{0}}");
        }

        var spot = form["InstanceMarketOptions.MarketType"] == "spot";
        var created = new List<string> { "instance", "volume", "network-interface" };
        if (spot)
        {
            created.Add("spot-instances-request");
        }

        foreach (var type in created)
        {
            var context = new Dictionary<string, string[]> { ["ec2:Region"] = new[] { region } };
            if (type == "instance")
            {
                context["ec2:InstanceType"] = new[] { form["InstanceType"]! };
                context["ec2:InstanceMarketType"] = new[] { spot ? "spot" : "on-demand" };
            }

            if (tagsByType.TryGetValue(type, out var tags))
            {
                foreach (var (key, value) in RequestTagContext(tags))
                {
                    context[key] = value;
                }
            }

            yield return new IamCheck("ec2:RunInstances", arn(type + "/*"), context);
            if (tags != null)
            {
                yield return new IamCheck("ec2:CreateTags", arn(type + "/*"), new Dictionary<string, string[]>(context) { ["ec2:CreateAction"] = new[] { "RunInstances" } });
            }
        }

        var unknownTypes = tagsByType.Keys.Except(created).ToList();
        if (unknownTypes.Count > 0)
        {
            throw new NotSupportedException($"RunInstances tags {string.Join(", ", unknownTypes)}: not mapped in {nameof(IamRequests)}.");
        }

        yield return new IamCheck("ec2:RunInstances", $"arn:aws:ec2:{region}::image/{form["ImageId"]}", IamCheck.NoContext);
        var groups = Indexed(form, "SecurityGroupId.{0}").ToList();
        foreach (var group in groups.Count > 0 ? groups : new List<string> { "*" })
        {
            yield return new IamCheck("ec2:RunInstances", arn("security-group/" + group), IamCheck.NoContext);
        }

        // No SubnetId: EC2 picks the default subnet, whose id the request does not say.
        yield return new IamCheck("ec2:RunInstances", arn("subnet/" + (form["SubnetId"] ?? "*")), IamCheck.NoContext);
        if (form["KeyName"] is { } keyName)
        {
            yield return new IamCheck("ec2:RunInstances", arn("key-pair/" + keyName), IamCheck.NoContext);
        }

        var profile = form["IamInstanceProfile.Name"] ?? form["IamInstanceProfile.Arn"]?.Split('/').Last();
        if (profile != null)
        {
            yield return new IamCheck("iam:PassRole", $"arn:aws:iam::{Account}:role/{_roleOfProfile(profile)}",
                new Dictionary<string, string[]> { ["iam:PassedToService"] = new[] { "ec2.amazonaws.com" } });
        }
    }

    /// <summary>ec2:ResourceTag/* of an existing instance.</summary>
    private IReadOnlyDictionary<string, string[]> ResourceContext(string instanceId, string region)
    {
        var tags = _instanceTags(instanceId) ?? throw new InvalidOperationException($"The cloud does not know instance {instanceId}, so its tags cannot be checked.");
        var context = tags.ToDictionary(t => "ec2:ResourceTag/" + t.Key, t => new[] { t.Value });
        context["ec2:Region"] = new[] { region };
        return context;
    }

    private static IEnumerable<KeyValuePair<string, string[]>> RequestTagContext(List<(string Key, string Value)> tags) =>
        tags.Select(t => new KeyValuePair<string, string[]>("aws:RequestTag/" + t.Key, new[] { t.Value }))
            .Append(new KeyValuePair<string, string[]>("aws:TagKeys", tags.Select(t => t.Key).ToArray()));

    private static List<(string Key, string Value)> TagsOf(NameValueCollection form, string prefix) =>
        Indexes(form, prefix + ".Key").Select(i => (form[string.Format(prefix, i) + ".Key"]!, form[string.Format(prefix, i) + ".Value"] ?? string.Empty)).ToList();

    /// <summary>The values of a numbered list (Name.1, Name.2, …).</summary>
    private static IEnumerable<string> Indexed(NameValueCollection form, string name) =>
        Indexes(form, name).Select(i => form[string.Format(name, i)]!);

    private static IEnumerable<int> Indexes(NameValueCollection form, string name)
    {
        for (var i = 1; form[string.Format(name, i)] != null; i++)
        {
            yield return i;
        }
    }

    /// <summary>The region of SigV4's credential scope: Credential=AKID/date/region/service/aws4_request.</summary>
    private static string RegionOf(ProxiedRequest request)
    {
        var authorization = request.Headers["authorization"];
        var start = authorization.IndexOf("Credential=", StringComparison.Ordinal) + "Credential=".Length;
        return authorization.Substring(start).Split('/')[2];
    }
}

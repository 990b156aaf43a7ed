using System.Reflection;

namespace FemagAws.Core.Tests;

/// <summary>
/// An AWS SDK client interface (IAmazonS3, IAmazonEC2) answered per method name by the test, recording each call with
/// its first argument (the request). A call the test did not expect fails it. The interfaces have hundreds of members,
/// hence a DispatchProxy rather than a hand-written fake.
/// </summary>
public class FakeAws : DispatchProxy
{
    private readonly Dictionary<string, Func<object?[], object?>> _answers = new();
    private readonly List<(string Method, object? Request)> _calls = new();

    public static (T Client, FakeAws Fake) Of<T>()
        where T : class
    {
        var client = Create<T, FakeAws>();
        return (client, (FakeAws)(object)client);
    }

    /// <summary>The calls so far, in order.</summary>
    public IReadOnlyList<(string Method, object? Request)> Calls
    {
        get
        {
            lock (_calls)
            {
                return _calls.ToList();
            }
        }
    }

    /// <summary>Answers <paramref name="method"/> with what <paramref name="answer"/> returns (or throws), as a finished task.</summary>
    public FakeAws On(string method, Func<object?[], object?> answer)
    {
        _answers[method] = answer;
        return this;
    }

    /// <summary>Answers DescribeImages with an image that maps one EBS root volume, as every launch first asks for it.</summary>
    public FakeAws WithImage() =>
        On("DescribeImagesAsync", _ => new Amazon.EC2.Model.DescribeImagesResponse
        {
            Images = new List<Amazon.EC2.Model.Image>
            {
                new()
                {
                    ImageId = "ami-0123456789abcdef0",
                    BlockDeviceMappings = new List<Amazon.EC2.Model.BlockDeviceMapping>
                    {
                        new() { DeviceName = "/dev/xvda", Ebs = new Amazon.EC2.Model.EbsBlockDevice { VolumeSize = 8, DeleteOnTermination = false } },
                        new() { DeviceName = "/dev/sdb", VirtualName = "ephemeral0" },
                    },
                },
            },
        });

    /// <summary>An SQS client of an account without queues, for Get-FemagJob, which looks for the module's pools.</summary>
    public static Amazon.SQS.IAmazonSQS NoQueues()
    {
        var (sqs, fake) = Of<Amazon.SQS.IAmazonSQS>();
        fake.On("ListQueuesAsync", _ => new Amazon.SQS.Model.ListQueuesResponse());
        return sqs;
    }

    public IEnumerable<T> Requests<T>() => Calls.Select(c => c.Request).OfType<T>();

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        var method = targetMethod!;
        if (method.Name == nameof(IDisposable.Dispose))
        {
            return null;
        }

        if (method.Name == "get_Paginators")
        {
            return Paginators(method.ReturnType);
        }

        args ??= Array.Empty<object?>();
        lock (_calls)
        {
            _calls.Add((method.Name, args.FirstOrDefault()));
        }

        if (!_answers.TryGetValue(method.Name, out var answer))
        {
            throw new NotSupportedException($"The test did not expect a call to {method.Name}.");
        }

        // The SDK's calls fail through their task, not by throwing from the call itself.
        var result = method.ReturnType.GetGenericArguments().Single();
        try
        {
            return Finished(nameof(Task.FromResult), result, answer(args));
        }
        catch (Exception ex)
        {
            return Finished(nameof(Task.FromException), result, ex);
        }
    }

    /// <summary>
    /// The SDK's own paginator factory (IS3PaginatorFactory → S3PaginatorFactory) over this fake, so code that pages
    /// with client.Paginators sends the same ListObjectsV2Async, DescribeInstancesAsync... calls the test answers.
    /// </summary>
    private object Paginators(Type factoryInterface)
    {
        var factory = factoryInterface.Assembly.GetType(factoryInterface.Namespace + "." + factoryInterface.Name.Substring(1))
                      ?? throw new NotSupportedException($"No paginator factory for {factoryInterface}.");
        return Activator.CreateInstance(factory, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null, new object[] { this }, null)!;
    }

    private static object Finished(string factory, Type result, object? value) =>
        typeof(Task).GetMethods().Single(m => m.Name == factory && m.IsGenericMethod).MakeGenericMethod(result).Invoke(null, new[] { value })!;
}

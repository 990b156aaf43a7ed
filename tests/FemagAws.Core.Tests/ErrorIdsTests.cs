using System.Reflection;
using Amazon.Runtime;
using FemagAws.Aws;

namespace FemagAws.Core.Tests;

/// <summary>The error ids code branches on are the ones the throws give.</summary>
public sealed class ErrorIdsTests
{
    public static TheoryData<string, string> AwsIds()
    {
        var data = new TheoryData<string, string>();
        foreach (var field in typeof(ErrorIds).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.Name.StartsWith("Aws", StringComparison.Ordinal)))
        {
            data.Add(field.Name.Substring("Aws".Length), (string)field.GetRawConstantValue()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AwsIds))]
    public void Each_AWS_error_id_branched_on_is_the_one_a_service_error_of_that_code_is_explained_with(string code, string id)
    {
        var explained = Assert.IsAssignableFrom<FemagException>(AwsErrors.Explain(new AmazonServiceException("refused") { ErrorCode = code }, "Launching"));

        Assert.Equal(id, explained.ErrorId);
    }

    [Fact]
    public void An_AWS_code_with_dots_gives_an_id_without_them()
    {
        Assert.Equal("AwsInvalidInstanceIDNotFound", ErrorIds.OfAws("InvalidInstanceID.NotFound"));
    }
}

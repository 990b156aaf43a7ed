using System.Security.Cryptography;
using FemagAws.Aws;
using FemagAws.Aws.S3;

namespace FemagAws.Core.Tests;

/// <summary>Local files fingerprinted the way S3 does, so Receive-FemagResult can skip what is already on disk.</summary>
public sealed class ETagsTests : IDisposable
{
    private readonly string _file = Path.GetTempFileName();

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void A_file_sent_whole_has_its_MD5_as_ETag()
    {
        File.WriteAllText(_file, "abc");

        Assert.Equal("900150983cd24fb0d6963f7d28e17f72", ETags.OfFile(_file, null));
    }

    [Theory]
    [InlineData(12, 5, 3)]
    [InlineData(10, 5, 2)]
    [InlineData(3 << 20, 1 << 20, 3)]
    [InlineData((3 << 20) + 1, 1 << 20, 4)]
    public void A_file_sent_in_parts_has_the_MD5_of_its_part_MD5s_and_the_part_count(int size, int partSize, int parts)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        File.WriteAllBytes(_file, data);
        var partHashes = Enumerable.Range(0, parts).SelectMany(i => MD5.HashData(data.AsSpan(i * partSize, Math.Min(partSize, size - (i * partSize))))).ToArray();

        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(partHashes)) + "-" + parts, ETags.OfFile(_file, partSize));
    }

    [Theory]
    [InlineData("\"0cc175b9c0f1b6a831c399e269772661-12\"", 12)]
    [InlineData("0cc175b9c0f1b6a831c399e269772661-3", 3)]
    [InlineData("\"0cc175b9c0f1b6a831c399e269772661\"", null)]
    [InlineData("0cc175b9c0f1b6a831c399e269772661-", null)]
    public void The_part_count_is_read_from_a_multipart_ETag(string etag, int? parts) => Assert.Equal(parts, ETags.PartsOf(etag));

    [Theory]
    [InlineData("\"0CC175B9c0f1b6a831c399e269772661\"", "0cc175b9c0f1b6a831c399e269772661", true)]
    [InlineData("\"0cc175b9c0f1b6a831c399e269772661-2\"", "0cc175b9c0f1b6a831c399e269772661", false)]
    [InlineData(null, null, false)]
    public void ETags_are_compared_without_quotes_and_case(string? a, string? b, bool same) => Assert.Equal(same, ETags.Same(a, b));
}

using System.Text.RegularExpressions;
using Amazon.S3.Model;
using FemagAws.Aws.S3;

namespace FemagAws.Core.Tests;

public class JobTagsTests
{
    /// <summary>S3's rule for tag values (API_control_S3Tag): letters, digits, spaces and _ . : / = + - @, at most 256.</summary>
    private static readonly Regex S3TagValue = new(@"^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$");

    [Theory]
    [InlineData(@"D:\Users\Jürgen Müller\FEMAG runs\parvar #3 (copy)\0")]
    [InlineData("/home/user/parvar/0")]
    [InlineData(@"\\server\share\a'b""c<d>e|f?g*h%2F\0")]
    public void Any_folder_round_trips_through_tags_S3_accepts(string folder)
    {
        var tags = new JobTags(7, folder, "\"0cc175b9c0f1b6a831c399e269772661-3\"").ToTagSet();

        Assert.All(tags, t => Assert.Matches(S3TagValue, t.Value));
        var back = JobTags.From(tags);
        Assert.Equal((7, folder, "0cc175b9c0f1b6a831c399e269772661-3"), (back!.Index, back.Folder, back.ArchiveETag));
    }

    [Fact]
    public void A_long_path_is_split_across_tags_and_one_too_long_for_50_tags_is_left_out()
    {
        var longPath = @"C:\" + string.Join(@"\", Enumerable.Repeat("ein sehr langer Ordnername", 40));
        var tags = new JobTags(0, longPath, null).ToTagSet();
        Assert.True(tags.Count > 2, "a path over 256 characters needs several tags");
        Assert.Equal(longPath, JobTags.From(tags)!.Folder);

        var tooLong = new JobTags(0, new string('x', 10_000), null).ToTagSet();
        Assert.Equal(new[] { JobBuckets.IndexTag }, tooLong.Select(t => t.Key));
        Assert.Null(JobTags.From(tooLong)!.Folder);
    }

    [Fact]
    public void A_bucket_without_the_index_tag_or_with_a_missing_folder_part_gives_nothing_to_trust()
    {
        Assert.Null(JobTags.From(new List<Tag> { new() { Key = "femag-aws:folder:1", Value = "L2hvbWU" } }));

        var tags = new JobTags(1, new string('y', 400), null).ToTagSet();
        tags.RemoveAll(t => t.Key == "femag-aws:folder:1");
        var read = JobTags.From(tags)!;
        Assert.Equal(1, read.Index);
        Assert.Null(read.Folder);
    }
}

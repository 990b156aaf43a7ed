using System.Text;
using Amazon.EC2;
using Amazon.S3;
using Amazon.S3.Model;
using FemagAws.Aws;
using FemagAws.Jobs;

namespace FemagAws.Core.Tests;

/// <summary>Where Receive-FemagResult puts each S3 key: inside the job's folder, or nowhere.</summary>
public sealed class ResultKeyPathTests
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "femag-receive", "parvar", "0");

    [Theory]
    [InlineData("exit_code", "exit_code")]
    [InlineData("0.tar.gz", "0.tar.gz")]
    [InlineData("femag_001.B1CH", "femag_001.B1CH")]
    [InlineData("results/plots/torque.svg", "results/plots/torque.svg")]
    [InlineData("results/", "results")]
    [InlineData("name with spaces ü.txt", "name with spaces ü.txt")]
    [InlineData("a..b", "a..b")]
    public void A_plain_relative_key_lands_inside_the_folder_with_its_subfolders(string key, string relative)
    {
        Assert.Equal(Path.Combine(Root, Path.Combine(relative.Split('/'))), ResultReceiver.ResolveKeyPath(Root, key));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData("../1/femag.fsl")]
    [InlineData("results/../../1/femag.fsl")]
    [InlineData("results/../exit_code")]
    [InlineData("./exit_code")]
    [InlineData("results//torque.svg")]
    [InlineData("..\\1\\femag.fsl")]
    [InlineData("results\\torque.svg")]
    [InlineData("C:femag.fsl")]
    [InlineData("c:/Windows/win.ini")]
    [InlineData("exit_code\0.txt")]
    public void A_key_that_could_escape_the_folder_or_means_different_paths_on_Windows_is_refused(string key)
    {
        Assert.Null(ResultReceiver.ResolveKeyPath(Root, key));
    }

    [Fact]
    public void A_trailing_separator_or_relative_parts_in_the_folder_do_not_matter()
    {
        var expected = Path.Combine(Root, "results", "exit_code");

        Assert.Equal(expected, ResultReceiver.ResolveKeyPath(Root + Path.DirectorySeparatorChar, "results/exit_code"));
        Assert.Equal(expected, ResultReceiver.ResolveKeyPath(Path.Combine(Root, "..", "0"), "results/exit_code"));
    }

    [Theory]
    [InlineData("~/parvar/0", "parvar/0")]
    [InlineData("~", "")]
    public void A_leading_tilde_is_the_home_folder_as_in_femagtools_bucket_lists(string path, string relative)
    {
        var home = Environment.GetEnvironmentVariable("HOME")!;

        Assert.Equal(Path.Combine(home, relative), PathUtil.ExpandHome(path));
    }

    [Theory]
    [InlineData("~user/parvar")]
    [InlineData("/work/~/parvar")]
    [InlineData("parvar/~")]
    public void A_tilde_anywhere_else_is_kept(string path)
    {
        Assert.Equal(path, PathUtil.ExpandHome(path));
    }
}

/// <summary>What each platform's file system makes of keys as names: checked with every platform's rules on any platform.</summary>
public sealed class KeyPathRulesTests
{
    private static readonly string LongName = new('x', 250);

    [Theory]
    [InlineData("femag.log", "FEMAG.LOG")]
    [InlineData("results/torque.dat", "Results/Torque.dat")]
    [InlineData("stra\u00dfe.txt", "STRA\u00dfE.txt")]
    public void Keys_that_differ_only_in_case_are_refused_both_on_Windows_and_macOS_and_both_received_on_Linux(string key, string other)
    {
        foreach (var rules in new[] { KeyPathRules.Windows, KeyPathRules.MacOS })
        {
            var refused = rules.Refusals(new[] { key, other, "exit_code" });

            Assert.Equal(new[] { key, other }.OrderBy(k => k, StringComparer.Ordinal), refused.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Contains($"'{other}' would be one file on {rules.Platform}", refused[key]);
        }

        Assert.Empty(KeyPathRules.Linux.Refusals(new[] { key, other, "exit_code" }));
    }

    [Fact]
    public void Keys_that_differ_only_in_how_an_accented_letter_is_encoded_are_one_file_on_macOS_only()
    {
        var keys = new[] { "m\u00e4hdrescher.dat", "ma\u0308hdrescher.dat" };

        Assert.Equal(2, KeyPathRules.MacOS.Refusals(keys).Count);
        Assert.Empty(KeyPathRules.Windows.Refusals(keys));
        Assert.Empty(KeyPathRules.Linux.Refusals(keys));
    }

    [Theory]
    [InlineData("CON")]
    [InlineData("nul.txt")]
    [InlineData("results/COM1.dat")]
    [InlineData("Lpt9")]
    [InlineData("AUX .tar.gz")]
    [InlineData("CONOUT$")]
    [InlineData("plots/a<b.svg")]
    [InlineData("what?.log")]
    [InlineData("star*.dat")]
    [InlineData("pipe|.dat")]
    [InlineData("quote\".dat")]
    [InlineData("tab\t.dat")]
    [InlineData("femag.log.")]
    [InlineData("femag.log ")]
    [InlineData("results./torque.dat")]
    public void Names_Windows_reserves_or_rewrites_are_refused_there_one_by_one_and_allowed_on_Linux_and_macOS(string key)
    {
        var refused = KeyPathRules.Windows.Refusals(new[] { key, "femag_001.B1CH", "results/plot.svg" });

        Assert.Equal(new[] { key }, refused.Keys);
        Assert.Empty(KeyPathRules.Linux.Refusals(new[] { key }));
        Assert.Empty(KeyPathRules.MacOS.Refusals(new[] { key }));
    }

    [Theory]
    [InlineData("CONSOLE.log")]
    [InlineData("COM10")]
    [InlineData("nul_results.txt")]
    [InlineData("a.b.c")]
    [InlineData(".hidden")]
    public void Names_that_only_look_reserved_are_fine_on_Windows(string key)
    {
        Assert.Empty(KeyPathRules.Windows.Refusals(new[] { key }));
    }

    [Fact]
    public void A_name_too_long_for_the_file_system_is_refused_with_room_for_the_downloads_own_suffix()
    {
        // 241 + ".femag-partial" = 255: the longest file name that can be downloaded; a folder may have 255.
        var fits = new string('x', 241);
        var tooLong = new string('x', 242);
        var folder = new string('d', 255) + "/f.dat";
        var multiByte = new string('\u00e4', 121) + ".d";

        Assert.Empty(KeyPathRules.Linux.Refusals(new[] { fits, folder }));
        Assert.Equal(new[] { tooLong }, KeyPathRules.Linux.Refusals(new[] { tooLong }).Keys);
        Assert.Equal(new[] { tooLong }, KeyPathRules.Windows.Refusals(new[] { tooLong }).Keys);

        // Linux and macOS count UTF-8 bytes (244 here), Windows UTF-16 characters (123).
        Assert.Single(KeyPathRules.Linux.Refusals(new[] { multiByte }));
        Assert.Single(KeyPathRules.MacOS.Refusals(new[] { multiByte }));
        Assert.Empty(KeyPathRules.Windows.Refusals(new[] { multiByte }));
    }

    [Fact]
    public void A_file_where_other_keys_need_a_folder_is_refused_and_the_folders_keys_are_kept()
    {
        var refused = KeyPathRules.Linux.Refusals(new[] { "results", "results/torque.dat", "plots/", "plots" });

        Assert.Equal(new[] { "plots", "results" }, refused.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Contains("RESULTS", KeyPathRules.Windows.Refusals(new[] { "RESULTS", "results/torque.dat" }).Keys);
    }

    [Fact]
    public async Task Receiving_with_Windows_rules_refuses_the_offending_keys_by_name_receives_the_rest_and_keeps_the_bucket()
    {
        var root = Path.Combine(Path.GetTempPath(), "femag-rules-" + Guid.NewGuid().ToString("N"));
        var (s3, fake) = FakeAws.Of<IAmazonS3>();
        var (ec2, _) = FakeAws.Of<IAmazonEC2>();
        var keys = new[] { "femag.log", "FEMAG.LOG", "NUL.txt", "exit_code" };
        fake.On("ListObjectsV2Async", _ => new ListObjectsV2Response { S3Objects = keys.Select(k => new S3Object { Key = k, Size = 2, ETag = "\"e\"" }).ToList() })
            .On("GetObjectAsync", args => new GetObjectResponse { ResponseStream = new MemoryStream(Encoding.UTF8.GetBytes((string)args[1]!)) });
        var target = new AwsTarget("eu-central-1", null, null);
        var job = target.NewJob(0, "b-0", FemagConfig.FromSettings(new Dictionary<string, string>()));
        JobStates.FinishWith(job, "0", null);
        try
        {
            var outcome = await ResultReceiver.ReceiveAsync(new AwsClients(target, s3, ec2, "fake", new FakeCommandLines()), job, root, removeBucket: true, includeUnchanged: true, 4, CancellationToken.None, KeyPathRules.Windows);

            Assert.Equal(new[] { "FEMAG.LOG", "NUL.txt", "femag.log" }, outcome.Refused.Select(r => Quoted(r.Message)).OrderBy(k => k, StringComparer.Ordinal));
            Assert.All(outcome.Refused, r => Assert.Equal("FemagResultKeyNotAllowed", r.ErrorId));
            Assert.Equal(new[] { "exit_code" }, Directory.GetFiles(root).Select(Path.GetFileName));
            Assert.False(outcome.BucketRemoved);
            Assert.DoesNotContain(fake.Calls, c => c.Method.StartsWith("Delete", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static string Quoted(string message) => message.Split('\'')[1];
}

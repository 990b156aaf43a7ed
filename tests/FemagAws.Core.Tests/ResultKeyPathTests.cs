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

using FemagAws.Jobs;
using FemagAws.Packing;

namespace FemagAws.Core.Tests;

/// <summary>A folder run again after Receive-FemagResult: nothing of the last run's bookkeeping goes into the new archive.</summary>
public sealed class RerunTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "femag-rerun-" + Guid.NewGuid().ToString("N")));

    public void Dispose() => _folder.Delete(recursive: true);

    [Theory]
    [InlineData(null, "exit_code")]
    [InlineData("status", "status")]
    public void The_finish_file_and_unfinished_downloads_are_left_out_of_the_archive(string? finishKey, string finishFile)
    {
        var settings = new Dictionary<string, string>();
        if (finishKey != null)
        {
            settings["finish_task_filename"] = finishKey;
        }

        var config = FemagConfig.FromSettings(settings);
        foreach (var name in new[] { "femag.fsl", finishFile, "femag_001.B1CH.femag-partial", "sub/" + finishFile, "sub/torque.dat", "sub/torque.dat.femag-partial" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(_folder.FullName, name))!);
            File.WriteAllText(Path.Combine(_folder.FullName, name), "0\n");
        }

        var files = JobArchive.ListFiles(_folder, name => JobUploader.IsBookkeeping(name, config));

        // Only the root's finish file is the run's; a model's own file of that name in a subfolder is packed.
        Assert.Equal(new[] { "femag.fsl", "sub/" + finishFile, "sub/torque.dat" }, files.Select(f => f.Key));
    }
}

using System.Text;

namespace FemagAws.Tests.Infrastructure;

/// <summary>A temporary user folder: config.ini, the seed cloud_init.txt and a parvar with one folder per job.</summary>
public sealed class Workspace : IDisposable
{
    /// <param name="endpointUrl">The module's endpoint_url: an <see cref="AwsProxy"/>'s, or else the cloud's own.</param>
    public Workspace(LocalCloud cloud, string? extraConfig = null, bool deleteBuckets = true, string? endpointUrl = null)
    {
        Root = Directory.CreateTempSubdirectory("femag-ws-").FullName;
        File.Copy(Repo.SeedCloudInit, Path.Combine(Root, "cloud_init.txt"));

        // The femagtools docs' example config, plus endpoint_url for the local cloud.
        var config = new StringBuilder()
            .Append("[amazon]\n")
            .Append("iam_instance_profile = ecsInstanceRole\n")
            .Append("key_name = test-key-pair-eucentral-1\n")
            .Append("security_group_ids = sg-8475b5dd,\n")
            .Append("server_location = eu-central-1\n")
            .Append("instance_type = t2.small\n")
            .Append("image_id =  ami-6d4ceb03\n")
            .Append("cloud_init = ./cloud_init.txt\n")
            .Append("delete_buckets = ").Append(deleteBuckets ? "1" : "0").Append('\n')
            .Append("endpoint_url = ").Append(endpointUrl ?? cloud.Endpoint).Append('\n')
            .Append(extraConfig ?? string.Empty);
        File.WriteAllText(ConfigFile, config.ToString());
    }

    /// <summary>
    /// Words of Start-FemagInstance's warning for the seed script, which never shuts its instance down: every
    /// workspace without max_runtime gets it once per Start-FemagInstance.
    /// </summary>
    public const string NeverEndsWarning = "never shuts its instance down";

    public string Root { get; }

    public string ConfigFile => Path.Combine(Root, "config.ini");

    /// <summary>Adds parvar/&lt;name&gt; with a femag.fsl holding <paramref name="fsl"/>.</summary>
    public DirectoryInfo AddJob(string name, string fsl)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Root, "parvar", name));
        File.WriteAllText(Path.Combine(dir.FullName, "femag.fsl"), fsl, new UTF8Encoding(false));
        return dir;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

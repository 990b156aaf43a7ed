namespace FemagAws.Tests.Infrastructure;

/// <summary>Paths inside the repository the tests run from.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>The module folder that 'dotnet build' lays out, imported as a user would.</summary>
    public static string ModuleManifest => Path.Combine(Root, "out", "FemagAws", "FemagAws.psd1");

    /// <summary>The femagtools docs' cloud-init script, byte for byte.</summary>
    public static string SeedCloudInit => Path.Combine(Root, "examples", "cloud_init.txt");

    public static string LocalCloudScript => Path.Combine(Root, "tools", "localcloud", "localcloud.py");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FemagAws.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FemagAws.sln not found above " + AppContext.BaseDirectory);
    }
}

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

    /// <summary>
    /// The real pwsh of the repository's local dotnet tool (.config/dotnet-tools.json), asked once from 'dotnet pwsh'.
    /// Tests start it directly: 'dotnet pwsh' itself needs the user's own HOME to find the tool package.
    /// </summary>
    public static string Pwsh => LazyPwsh.Value;

    private static readonly Lazy<string> LazyPwsh = new(() =>
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-Command", "Join-Path $PSHOME pwsh" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var path = process.StandardOutput.ReadToEnd().Trim();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 && File.Exists(path)
            ? path
            : throw new InvalidOperationException("No pwsh: run 'dotnet tool restore' in " + Root + " first.\n" + error);
    });

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

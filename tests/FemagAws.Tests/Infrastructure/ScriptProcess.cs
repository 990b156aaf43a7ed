using System.Diagnostics;

namespace FemagAws.Tests.Infrastructure;

/// <summary>What a script run in a PowerShell process of its own printed.</summary>
public sealed record ScriptProcessResult(int ExitCode, string Output)
{
    public string[] Lines => Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// Runs a script in a fresh real pwsh (<see cref="Repo.Pwsh"/>), for what one process can
/// do only once or must start clean: which assemblies are loaded before the module, a different environment.
/// </summary>
public static class ScriptProcess
{
    public static ScriptProcessResult Run(string script, IDictionary<string, string?>? environment = null, params string[] args)
    {
        var scriptFile = Path.Combine(Path.GetTempPath(), $"femag-script-{Guid.NewGuid():N}.ps1");
        File.WriteAllText(scriptFile, script);
        try
        {
            var start = new ProcessStartInfo(Repo.Pwsh)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "-NoProfile", "-NonInteractive", "-File", scriptFile }.Concat(args))
            {
                start.ArgumentList.Add(arg);
            }

            foreach (var pair in environment ?? new Dictionary<string, string?>())
            {
                start.Environment[pair.Key] = pair.Value;
            }

            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("The script process did not end within 5 minutes:\n" + stdout);
            }

            return new ScriptProcessResult(process.ExitCode, stdout + stderr.Result);
        }
        finally
        {
            File.Delete(scriptFile);
        }
    }
}

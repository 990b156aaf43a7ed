using System.Diagnostics;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// An interactive pwsh in a pseudo-terminal, typed into as a user does: tmux on a private socket runs
/// 'dotnet pwsh' (the repository's tool manifest) in the repository root. Only a terminal turns Ctrl+C into a stop
/// of the running pipeline; a SIGINT to a pwsh without one does nothing. Disposing kills pwsh and the tmux server.
/// </summary>
public sealed class Terminal : IDisposable
{
    /// <summary>The prompt the session is given, so that the test sees when a command has ended.</summary>
    public const string Prompt = "FEMAG-TEST>";

    private readonly string _socket = "femag-test-" + Guid.NewGuid().ToString("N")[..12];
    private int _shellPid;

    // Commands typed at the test's prompt so far; the output of the last one is what the test waits for.
    private int _commands;

    /// <summary>Starts pwsh with <paramref name="environment"/> and imports the built module.</summary>
    public Terminal(IDictionary<string, string> environment)
    {
        try
        {
            Run("dotnet", Repo.Root, "tool", "restore");
            var args = new List<string> { "new-session", "-d", "-s", "pwsh", "-x", "250", "-y", "50", "-c", Repo.Root };
            foreach (var pair in environment)
            {
                args.Add("-e");
                args.Add($"{pair.Key}={pair.Value}");
            }

            args.Add("dotnet pwsh -NoProfile -NoLogo");
            Tmux(args.ToArray());
            _shellPid = int.Parse(Tmux("display-message", "-p", "-t", "pwsh", "#{pane_pid}").Trim(), System.Globalization.CultureInfo.InvariantCulture);

            // Keys sent before PSReadLine reads them would be echoed and mangled by the terminal.
            WaitForAsync(lines => lines.Count > 0 && lines[^1].StartsWith("PS ", StringComparison.Ordinal) && lines[^1].EndsWith(">", StringComparison.Ordinal), TimeSpan.FromSeconds(120))
                .GetAwaiter().GetResult();

            // No history file of the user's is written, and no suggestions are drawn after what the test types.
            Send($"function prompt {{ '{Prompt} ' }}; Set-PSReadLineOption -HistorySaveStyle SaveNothing -PredictionSource None; Import-Module '{Repo.ModuleManifest}'");
            var module = RunAsync("(Get-Module FemagAws).Name", TimeSpan.FromSeconds(120)).GetAwaiter().GetResult();
            if (module.Trim() != "FemagAws")
            {
                throw new InvalidOperationException("pwsh did not import the module:\n" + Screen());
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Types a command at the prompt and presses Enter.</summary>
    public void Type(string command)
    {
        Send(command);
        _commands++;
    }

    /// <summary>Types a command and returns what it printed once the prompt is back.</summary>
    public Task<string> RunAsync(string command, TimeSpan timeout)
    {
        Type(command);
        return WaitForPromptAsync(timeout);
    }

    public void PressCtrlC() => Tmux("send-keys", "-t", "pwsh", "C-c");

    /// <summary>Everything on the screen and in its history, wrapped lines joined.</summary>
    public string Screen() => Tmux("capture-pane", "-p", "-J", "-t", "pwsh", "-S", "-10000");

    /// <summary>Waits until the last command typed has ended and the prompt is back; returns what the command printed.</summary>
    public async Task<string> WaitForPromptAsync(TimeSpan timeout)
    {
        var lines = await WaitForAsync(lines => lines.Count(IsTyped) >= _commands && lines.Count > 0 && lines[^1] == Prompt, timeout);
        var from = _commands == 0 ? lines.Count - 1 : lines.Select((line, i) => (line, i)).Where(x => IsTyped(x.line)).ElementAt(_commands - 1).i + 1;
        return string.Join("\n", lines.GetRange(from, lines.Count - 1 - from));
    }

    private static bool IsTyped(string line) => line.StartsWith(Prompt + " ", StringComparison.Ordinal);

    /// <summary>Waits until the screen's lines, blank ones at the end left out, satisfy <paramref name="ready"/>.</summary>
    private async Task<List<string>> WaitForAsync(Func<List<string>, bool> ready, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var lines = Lines();
            if (ready(lines))
            {
                return lines;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"pwsh did not get there within {timeout.TotalSeconds} s:\n{Screen()}");
            }

            await Task.Delay(250);
        }
    }

    private void Send(string line)
    {
        Tmux("send-keys", "-t", "pwsh", "-l", line);
        Tmux("send-keys", "-t", "pwsh", "Enter");
    }

    private List<string> Lines()
    {
        var lines = Screen().Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    private string Tmux(params string[] args) => Run("tmux", Repo.Root, new[] { "-L", _socket }.Concat(args).ToArray());

    private static string Run(string file, string directory, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(" ", args)} did not end within 2 minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(" ", args)} failed: {stdout.Result}{stderr.Result}");
        }

        return stdout.Result;
    }

    public void Dispose()
    {
        // pwsh first: 'dotnet pwsh' runs it as a child process, which must not outlive the test.
        if (_shellPid > 0)
        {
            try
            {
                using var shell = Process.GetProcessById(_shellPid);
                shell.Kill(entireProcessTree: true);
                shell.WaitForExit(10_000);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is InvalidOperationException)
            {
                // Already gone.
            }
        }

        try
        {
            Tmux("kill-server");
        }
        catch (InvalidOperationException)
        {
            // The server ends by itself when its only session's process is gone.
        }
    }
}

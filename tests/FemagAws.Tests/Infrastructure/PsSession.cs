using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace FemagAws.Tests.Infrastructure;

/// <summary>What one script run in the hosted engine produced.</summary>
public sealed class PsResult
{
    public required Collection<PSObject> Output { get; init; }

    public required List<ErrorRecord> Errors { get; init; }

    public required List<string> Warnings { get; init; }

    public required List<string> Verbose { get; init; }

    public required List<string> Debug { get; init; }

    public required List<ProgressRecord> Progress { get; init; }

    /// <summary>A terminating error, if the script ended with one.</summary>
    public Exception? Terminating { get; init; }

    public string Describe() =>
        string.Join("\n", Errors.Select(e => $"{e.FullyQualifiedErrorId}: {e.Exception.Message}")) +
        (Terminating != null ? "\nterminating: " + Terminating : string.Empty);
}

/// <summary>A runspace of the real PowerShell 7 engine with the built module imported.</summary>
public sealed class PsSession : IDisposable
{
    private readonly Runspace _runspace;

    public PsSession()
    {
        _runspace = RunspaceFactory.CreateRunspace(new TextHost(HostOutput, plainText: true), InitialSessionState.CreateDefault2());
        _runspace.Open();
        var import = Run("Import-Module $args[0] -ErrorAction Stop", Repo.ModuleManifest);
        if (import.Terminating != null || import.Errors.Count > 0)
        {
            throw new InvalidOperationException("Import-Module failed: " + import.Describe());
        }
    }

    /// <summary>What Out-Host wrote, rendered with the module's format views.</summary>
    public StringWriter HostOutput { get; } = new();

    public Runspace Runspace => _runspace;

    public void Set(string name, object? value) => _runspace.SessionStateProxy.SetVariable(name, value);

    public object? Get(string name) => _runspace.SessionStateProxy.GetVariable(name);

    /// <summary>Runs a script; <c>$args</c> holds <paramref name="args"/>. Never throws for script errors.</summary>
    public PsResult Run(string script, params object?[] args)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        foreach (var arg in args)
        {
            ps.AddArgument(arg);
        }

        Collection<PSObject> output = new();
        Exception? terminating = null;
        try
        {
            output = ps.Invoke();
        }
        catch (RuntimeException ex)
        {
            terminating = ex;
        }

        return new PsResult
        {
            Output = output,
            Errors = ps.Streams.Error.ToList(),
            Warnings = ps.Streams.Warning.Select(w => w.Message).ToList(),
            Verbose = ps.Streams.Verbose.Select(v => v.Message).ToList(),
            Debug = ps.Streams.Debug.Select(d => d.Message).ToList(),
            Progress = ps.Streams.Progress.ToList(),
            Terminating = terminating,
        };
    }

    public void Dispose() => _runspace.Dispose();
}

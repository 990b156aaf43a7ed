using System.Management.Automation;
using System.Management.Automation.Runspaces;
using FemagAws.ScriptHost;

// Usage: FemagAws.ScriptHost <script.ps1> [-Name value | -Switch | positional]...
// Runs the script in the PowerShell 7 engine and renders its output as a console would (format views included).
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: FemagAws.ScriptHost <script.ps1> [arguments...]");
    return 2;
}

// No colour codes in files and pipes, as in a console host.
var host = new TextHost(Console.Out, plainText: Console.IsOutputRedirected);
using var runspace = RunspaceFactory.CreateRunspace(host, InitialSessionState.CreateDefault2());
runspace.Open();
using var ps = PowerShell.Create();
ps.Runspace = runspace;
ps.AddCommand(Path.GetFullPath(args[0]));
for (var i = 1; i < args.Length; i++)
{
    if (args[i].Length > 1 && args[i][0] == '-')
    {
        var name = args[i].Substring(1);
        if (i + 1 < args.Length && !args[i + 1].StartsWith('-'))
        {
            ps.AddParameter(name, args[++i]);
        }
        else
        {
            ps.AddParameter(name);
        }
    }
    else
    {
        ps.AddArgument(args[i]);
    }
}

// Errors, warnings and verbose messages are rendered in line with the output, as in a console.
ps.Commands.Commands[0].MergeMyResults(PipelineResultTypes.All, PipelineResultTypes.Output);
ps.AddCommand("Out-Default");
Console.CancelKeyPress += (_, e) =>
{
    // Ctrl+C stops the pipeline the way a PowerShell console does.
    e.Cancel = true;
    ps.BeginStop(null, null);
};

try
{
    ps.Invoke();
}
catch (RuntimeException ex)
{
    Console.Error.WriteLine(ex.ErrorRecord?.ToString() ?? ex.Message);
    return 1;
}

return ps.HadErrors ? 1 : host.ExitCode;

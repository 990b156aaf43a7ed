namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// The account a stopped pipeline printed on its host: the one warning that says what is left in the cloud, with the
/// commands to go on or to clean up, read back from a host's text or a terminal's screen.
/// </summary>
public sealed class StopAccount
{
    private StopAccount(List<string> lines)
    {
        Lines = lines;
        var goOn = lines.IndexOf("Go on:");
        var cleanUp = lines.FindIndex(l => l.StartsWith("Or clean up", StringComparison.Ordinal));
        GoOn = goOn < 0 ? new List<string>() : lines.Skip(goOn + 1).Take((cleanUp < 0 ? lines.Count : cleanUp) - goOn - 1).Select(l => l.Trim()).ToList();
        CleanUp = cleanUp < 0 || cleanUp + 1 >= lines.Count ? null : lines[cleanUp + 1].Trim();
    }

    /// <summary>The account's lines, the first starting "WARNING: Stopped.".</summary>
    public List<string> Lines { get; }

    public string Text => string.Join("\n", Lines);

    /// <summary>The commands after "Go on:", one per kind of job.</summary>
    public List<string> GoOn { get; }

    /// <summary>The one command after "Or clean up".</summary>
    public string? CleanUp { get; }

    /// <summary>The go-on command that pipes the jobs it finds (a list of quoted buckets) into <paramref name="tail"/>.</summary>
    public string GoOnWith(string tail) =>
        GoOn.SingleOrDefault(c => c.EndsWith("' | " + tail, StringComparison.Ordinal)) ?? throw new Xunit.Sdk.XunitException($"No go-on command ending in '{tail}':\n{Text}");

    /// <summary>How often <paramref name="value"/> (an instance id, a bucket) is named.</summary>
    public int Mentions(string value)
    {
        var count = 0;
        for (var at = Text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = Text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// The account in <paramref name="output"/>; fails unless the output holds exactly one warning, the account, besides
    /// the warning about the seed script (<see cref="Workspace.NeverEndsWarning"/>). It
    /// runs to the next blank line or the end; lines are taken with their trailing blanks removed (a terminal pads
    /// them) and must not be wrapped.
    /// </summary>
    public static StopAccount Single(string output)
    {
        var lines = output.Replace("\r", string.Empty).Split('\n').Select(l => l.TrimEnd()).ToList();
        var warnings = lines.Count(l => l.StartsWith("WARNING: ", StringComparison.Ordinal) && !l.Contains(Workspace.NeverEndsWarning, StringComparison.Ordinal));
        Assert.True(warnings == 1, $"Expected one warning, the account of the stop; found {warnings}:\n{output}");
        var start = lines.FindIndex(l => l.StartsWith("WARNING: Stopped.", StringComparison.Ordinal));
        Assert.True(start >= 0, "The warning is no account of the stop:\n" + output);
        var end = start + 1;
        while (end < lines.Count && lines[end].Length > 0)
        {
            end++;
        }

        return new StopAccount(lines.GetRange(start, end - start));
    }
}

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// Sets environment variables of the test process (null removes one) and puts the old values back on Dispose. They
/// are process-wide: only for tests in a collection that runs alone.
/// </summary>
public sealed class EnvironmentScope : IDisposable
{
    private readonly Dictionary<string, string?> _saved = new();

    public EnvironmentScope(IReadOnlyDictionary<string, string?> variables)
    {
        foreach (var pair in variables)
        {
            _saved[pair.Key] = Environment.GetEnvironmentVariable(pair.Key);
            Environment.SetEnvironmentVariable(pair.Key, pair.Value);
        }
    }

    public void Dispose()
    {
        foreach (var pair in _saved)
        {
            Environment.SetEnvironmentVariable(pair.Key, pair.Value);
        }
    }
}

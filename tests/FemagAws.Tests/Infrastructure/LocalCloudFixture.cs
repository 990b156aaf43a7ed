namespace FemagAws.Tests.Infrastructure;

/// <summary>One local cloud per test class; classes run in parallel, each against its own.</summary>
public sealed class LocalCloudFixture : IDisposable
{
    public LocalCloud Cloud { get; } = new();

    public void Dispose() => Cloud.Dispose();
}

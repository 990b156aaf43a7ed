using System.Management.Automation;

namespace FemagAws.Tests.Infrastructure;

/// <summary>Reads a FemagJob from pipeline output without referencing the module's assembly.</summary>
public static class JobView
{
    public static int Index(this PSObject job) => (int)job.Properties["Index"].Value;

    public static string State(this PSObject job) => job.Properties["State"].Value.ToString()!;

    public static int? ExitCode(this PSObject job) => (int?)job.Properties["ExitCode"].Value;

    public static string Bucket(this PSObject job) => (string)job.Properties["BucketName"].Value;

    public static string? InstanceId(this PSObject job) => (string?)job.Properties["InstanceId"].Value;

    public static string Folder(this PSObject job) => (string)job.Properties["Folder"].Value;

    public static string? Reason(this PSObject job) => (string?)job.Properties["Reason"].Value;
}

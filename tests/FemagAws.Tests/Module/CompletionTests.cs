using System.Management.Automation;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Module;

/// <summary>Tab completion as the console asks for it: TabExpansion2 on a command line.</summary>
public sealed class CompletionTests : IDisposable
{
    private const string Complete =
        "(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches | ForEach-Object { $_.CompletionText + '|' + $_.ToolTip }";

    private readonly string _dir = Directory.CreateTempSubdirectory("femag-completion-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Region_completes_from_the_SDK_region_list()
    {
        using var ps = new PsSession();

        var matches = Matches(ps, "New-FemagBucket -Region eu-cen");

        Assert.Contains("eu-central-1|eu-central-1 - Europe (Frankfurt)", matches);
        Assert.All(matches, m => Assert.StartsWith("eu-central-", m));
        Assert.True(Matches(ps, "Get-FemagJob -Region ").Count > 20);
    }

    [Fact]
    public void InstanceType_completes_from_EC2_instance_types()
    {
        using var ps = new PsSession();

        var matches = Matches(ps, "Start-FemagInstance -InstanceType c5.xl").Select(m => m.Split('|')[0]).ToList();

        Assert.Contains("c5.xlarge", matches);
        Assert.All(matches, m => Assert.StartsWith("c5.xl", m));
        Assert.Contains("t2.small", Matches(ps, "Start-FemagInstance -InstanceType t2.").Select(m => m.Split('|')[0]));
    }

    [Fact]
    public void ProfileName_completes_from_the_file_ProfileLocation_names_and_the_config_beside_it()
    {
        var credentials = Path.Combine(_dir, "credentials");
        File.WriteAllText(credentials, "[femag-keys]\naws_access_key_id = AKIAFEMAGCOMPLETE001\naws_secret_access_key = s\n\n[other]\naws_access_key_id = AKIAFEMAGCOMPLETE002\naws_secret_access_key = s\n");
        File.WriteAllText(Path.Combine(_dir, "config"), "[profile femag-role]\nrole_arn = arn:aws:iam::123456789012:role/femag\nsource_profile = femag-keys\n");
        using var ps = new PsSession();

        var matches = Matches(ps, $"Get-FemagBucket -ProfileLocation '{credentials}' -ProfileName femag-").Select(m => m.Split('|')[0]).ToList();

        Assert.Equal(new[] { "femag-keys", "femag-role" }, matches);
    }

    [Fact]
    public void ProfileName_completes_from_the_users_own_AWS_files()
    {
        // A process of its own, with a home folder of its own: the test process's ~/.aws stays untouched.
        var home = Path.Combine(_dir, "home");
        Directory.CreateDirectory(Path.Combine(home, ".aws"));
        File.WriteAllText(Path.Combine(home, ".aws", "credentials"), "[default]\naws_access_key_id = AKIAFEMAGCOMPLETE003\naws_secret_access_key = s\n\n[femag-prod]\naws_access_key_id = AKIAFEMAGCOMPLETE004\naws_secret_access_key = s\n");
        File.WriteAllText(Path.Combine(home, ".aws", "config"), "[profile femag-sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Femag\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-central-1\n");

        var run = ScriptProcess.Run(
            "param($Module) Import-Module $Module; (TabExpansion2 -inputScript 'Stop-FemagInstance -ProfileName femag-' -cursorColumn 37).CompletionMatches | ForEach-Object { 'MATCH ' + $_.CompletionText }",
            new Dictionary<string, string?> { ["HOME"] = home, ["AWS_SHARED_CREDENTIALS_FILE"] = null, ["AWS_CONFIG_FILE"] = null },
            "-Module", Repo.ModuleManifest);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(new[] { "MATCH femag-prod", "MATCH femag-sso" }, run.Lines.Where(l => l.StartsWith("MATCH ", StringComparison.Ordinal)));
    }

    private static List<string> Matches(PsSession ps, string line)
    {
        var result = ps.Run(Complete, line);
        Assert.True(result.Errors.Count == 0, result.Describe());
        return result.Output.Select(o => (string)o.BaseObject).ToList();
    }
}

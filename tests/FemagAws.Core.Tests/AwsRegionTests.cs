using FemagAws.Aws;

namespace FemagAws.Core.Tests;

/// <summary>
/// The region where no job decides, resolved without PowerShell: environment variables come from a dictionary, and
/// profiles from a credentials file of the test's own (-ProfileLocation) with the config file beside it.
/// </summary>
public sealed class AwsRegionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("femag-region-").FullName;
    private readonly Dictionary<string, string?> _environment = new();

    public AwsRegionTests()
    {
        File.WriteAllText(Credentials, "[default]\naws_access_key_id = A\naws_secret_access_key = a\n");
    }

    private string Credentials => Path.Combine(_dir, "credentials");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Region_comes_first()
    {
        _environment["AWS_REGION"] = "us-east-1";
        Profiles("[default]\nregion = ap-south-1\n");

        var region = Resolve("eu-west-1", Config("server_location = ap-south-1\n"));

        Assert.Equal(("eu-west-1", "-Region"), (region.Name, region.Source));
    }

    [Fact]
    public void Server_location_that_the_config_file_sets_comes_before_the_environment()
    {
        _environment["AWS_REGION"] = "us-east-1";
        var config = Config("server_location = ap-south-1\n");

        var region = Resolve(null, config);

        Assert.Equal(("ap-south-1", "server_location in " + config.SourcePath), (region.Name, region.Source));
    }

    [Fact]
    public void A_config_file_without_server_location_leaves_the_region_to_the_environment()
    {
        _environment["AWS_REGION"] = "us-east-1";
        var config = Config("instance_type = t2.small\n");

        // Settings still hold femagtools' default, for {{ENV}}; other changes keep it a default.
        Assert.Equal("eu-central-1", config.ServerLocation);
        Assert.Equal(("us-east-1", "the environment variable AWS_REGION"), Describe(Resolve(null, config)));
        Assert.Equal("us-east-1", Resolve(null, config.With(new[] { new KeyValuePair<string, string?>("instance_type", "c5.xlarge") })).Name);
        Assert.Equal("eu-central-1", Resolve(null, config.ForRegion("eu-central-1")).Name);
        Assert.Equal("ap-south-1", Resolve(null, config.ForRegion("ap-south-1")).Name);
        Assert.Equal("us-east-1", Resolve(null, FemagConfig.Defaults).Name);
    }

    [Fact]
    public void AWS_REGION_comes_before_AWS_DEFAULT_REGION_and_a_blank_variable_does_not_count()
    {
        _environment["AWS_REGION"] = " ";
        _environment["AWS_DEFAULT_REGION"] = "us-west-2";

        Assert.Equal(("us-west-2", "the environment variable AWS_DEFAULT_REGION"), Describe(Resolve()));

        _environment["AWS_REGION"] = "us-east-1";

        Assert.Equal(("us-east-1", "the environment variable AWS_REGION"), Describe(Resolve()));
    }

    [Fact]
    public void The_environment_comes_before_the_profile()
    {
        Profiles("[default]\nregion = ap-south-1\n");
        _environment["AWS_DEFAULT_REGION"] = "us-east-1";

        Assert.Equal("us-east-1", Resolve().Name);
    }

    [Theory]
    [InlineData("femag-east", "us-east-1", "region in profile 'femag-east'")]
    [InlineData(null, "ap-south-1", "region in profile 'default'")]
    public void The_selected_profiles_region_comes_from_the_config_file_beside_the_credentials(string? profileName, string name, string source)
    {
        Profiles("[default]\nregion = ap-south-1\n\n[profile femag-east]\nregion = us-east-1\n");
        // AWS_PROFILE belongs to the SDK's chain; a credentials file of its own means its default profile.
        _environment["AWS_PROFILE"] = "femag-east";

        Assert.Equal((name, source), Describe(Resolve(profileName: profileName)));
    }

    [Fact]
    public void With_no_region_anywhere_it_is_femagtools_default()
    {
        Profiles("[profile femag-east]\nregion = us-east-1\n");

        var region = Resolve(profileName: "femag-absent");

        Assert.Equal(FemagConfig.DefaultServerLocation, region.Name);
        Assert.StartsWith("femagtools' default", region.Source);
        Assert.Contains("profile 'femag-absent'", region.Source);
    }

    [Theory]
    [InlineData("-Region", "Frankfurt", null, null)]
    [InlineData("the environment variable AWS_REGION", null, "Frankfurt", null)]
    [InlineData("region in profile 'default'", null, null, "Frankfurt")]
    public void A_name_that_is_no_region_is_an_error_that_says_where_it_came_from(string source, string? parameter, string? variable, string? inProfile)
    {
        _environment["AWS_REGION"] = variable;
        if (inProfile != null)
        {
            Profiles($"[default]\nregion = {inProfile}\n");
        }

        var error = Assert.Throws<FemagException>(() => Resolve(parameter));

        Assert.Equal("FemagRegionInvalid", error.ErrorId);
        Assert.Equal(FemagErrorKind.InvalidArgument, error.Kind);
        Assert.Contains($"'Frankfurt' from {source}", error.Message);
        Assert.Contains("eu-central-1", error.Message);
    }

    [Fact]
    public void A_region_the_SDK_does_not_list_is_refused_naming_the_nearest_unless_S3_and_EC2_both_go_to_a_custom_endpoint()
    {
        var error = Assert.Throws<FemagException>(() => AwsRegion.CheckKnown("eu-centrall-1", customEndpoint: false));

        Assert.Equal(("FemagRegionUnknown", FemagErrorKind.InvalidArgument), (error.ErrorId, error.Kind));
        Assert.Contains("did you mean eu-central-1?", error.Message);
        AwsRegion.CheckKnown("eu-central-1", customEndpoint: false);
        AwsRegion.CheckKnown("us-gov-west-1", customEndpoint: false);
        AwsRegion.CheckKnown("eu-centrall-1", customEndpoint: true);
        Assert.DoesNotContain("did you mean", Assert.Throws<FemagException>(() => AwsRegion.CheckKnown("xx-nowhere-9", customEndpoint: false)).Message);
    }

    [Fact]
    public void An_endpoint_comes_from_the_target_then_the_service_variable_then_AWS_ENDPOINT_URL_as_the_SDK_reads_them()
    {
        var onAws = new AwsTarget("eu-central-1", null, null);
        var given = new AwsTarget("eu-central-1", "http://given:1", null);

        Assert.Null(onAws.EndpointFor("S3", Environment));
        _environment["AWS_ENDPOINT_URL"] = "http://all:2";
        _environment["AWS_ENDPOINT_URL_EC2"] = "http://ec2:3";
        Assert.Equal(("http://all:2", "http://ec2:3"), (onAws.EndpointFor("S3", Environment), onAws.EndpointFor("EC2", Environment)));
        Assert.Equal("http://given:1", given.EndpointFor("EC2", Environment));
        _environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
        Assert.Null(onAws.EndpointFor("EC2", Environment));
        _environment.Remove("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        _environment["AWS_ENDPOINT_URL_S3"] = "localhost:4566";
        Assert.Equal("FemagEndpointInvalid", Assert.Throws<FemagException>(() => onAws.EndpointFor("S3", Environment)).ErrorId);
    }

    private string? Environment(string name) => _environment.GetValueOrDefault(name);

    private AwsRegion Resolve(string? parameter = null, FemagConfig? config = null, string? profileName = null) =>
        AwsRegion.Resolve(parameter, config ?? FemagConfig.Defaults, profileName, Credentials, name => _environment.GetValueOrDefault(name));

    private static (string, string) Describe(AwsRegion region) => (region.Name, region.Source);

    private FemagConfig Config(string keys)
    {
        var path = Path.Combine(_dir, "config.ini");
        File.WriteAllText(path, "[amazon]\n" + keys);
        return FemagConfig.Load(path);
    }

    /// <summary>The AWS config file beside the credentials file.</summary>
    private void Profiles(string config) => File.WriteAllText(Path.Combine(_dir, "config"), config);
}

using System.Management.Automation;
using System.Text;
using FemagAws.Tests.Infrastructure;

namespace FemagAws.Tests.Config;

/// <summary>Import-FemagConfig against the femagtools INI contract and its faults.</summary>
public sealed class ImportFemagConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("femag-config-").FullName;
    private readonly PsSession _ps = new();

    public void Dispose()
    {
        _ps.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void The_femagtools_docs_example_reads_into_typed_properties()
    {
        var config = Import("""
            [amazon]
            iam_instance_profile = ecsInstanceRole
            key_name = test-key-pair-eucentral-1
            security_group_ids = sg-8475b5dd,
            server_location = eu-central-1
            instance_type = t2.small
            image_id =  ami-6d4ceb03
            cloud_init = ./cloud_init.txt
            """);

        Assert.Equal("ecsInstanceRole", config.Properties["IamInstanceProfile"].Value);
        Assert.Equal("test-key-pair-eucentral-1", config.Properties["KeyName"].Value);
        Assert.Equal(new[] { "sg-8475b5dd" }, ((IEnumerable<string>)config.Properties["SecurityGroupIds"].Value).ToArray());
        Assert.Equal("eu-central-1", config.Properties["ServerLocation"].Value);
        Assert.Equal("t2.small", config.Properties["InstanceType"].Value);
        Assert.Equal("ami-6d4ceb03", config.Properties["ImageId"].Value);
        Assert.Equal(Path.Combine(_dir, "cloud_init.txt"), config.Properties["CloudInit"].Value);
        Assert.Equal(false, config.Properties["DeleteBuckets"].Value);
        Assert.Equal("femag", config.Properties["CompanyName"].Value);
        Assert.Equal("exit_code", config.Properties["FinishTaskFilename"].Value);
    }

    [Fact]
    public void Defaults_apply_to_keys_left_out()
    {
        var config = Import("[amazon]\n");

        Assert.Equal("eu-central-1", config.Properties["ServerLocation"].Value);
        Assert.Equal("t2.micro", config.Properties["InstanceType"].Value);
        Assert.Equal("ami-b0cc23df", config.Properties["ImageId"].Value);
        Assert.Equal("femag", config.Properties["CompanyName"].Value);
        Assert.Equal("exit_code", config.Properties["FinishTaskFilename"].Value);
        Assert.Empty((IEnumerable<string>)config.Properties["SecurityGroupIds"].Value);
    }

    [Fact]
    public void BOM_colons_comments_upper_case_section_and_key_case_are_all_fine()
    {
        var text = "# written by Windows PowerShell 5.1\n[AMAZON]\n; a comment\nKEY_NAME: my key\nSecurity_Group_Ids = sg-1 , sg-2\nDELETE_BUCKETS = yes\nmy_setting = kept\n";
        var path = Path.Combine(_dir, "bom.ini");
        File.WriteAllText(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var config = _ps.Run("Import-FemagConfig $args[0]", path);

        Assert.Empty(config.Errors);
        var c = Assert.Single(config.Output);
        Assert.Equal("my key", c.Properties["KeyName"].Value);
        Assert.Equal(new[] { "sg-1", "sg-2" }, ((IEnumerable<string>)c.Properties["SecurityGroupIds"].Value).ToArray());
        Assert.Equal(true, c.Properties["DeleteBuckets"].Value);
        var settings = (System.Collections.IDictionary)c.Properties["Settings"].Value;
        Assert.Equal("kept", settings["my_setting"]);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    [InlineData("true", true)]
    [InlineData("False", false)]
    [InlineData("no", false)]
    public void Delete_buckets_takes_yes_no_values(string value, bool expected)
    {
        Assert.Equal(expected, Import("[amazon]\ndelete_buckets = " + value + "\n").Properties["DeleteBuckets"].Value);
    }

    [Theory]
    [InlineData("[amazon]\nkey_name = a\nthis line has no delimiter\n", 3, "expected 'key = value'")]
    [InlineData("[amazon]\nkey_name = a\nKEY_NAME = b\n", 3, "set twice")]
    [InlineData("[amazon]\ndelete_buckets = maybe\n", 2, "not a yes/no value")]
    [InlineData("[amazon]\nserver_location = Frankfurt\n", 2, "not an AWS region")]
    [InlineData("[amazon]\nmy-key = 1\n", 2, "cannot be exported")]
    [InlineData("key_name = a\n[amazon]\n", 1, "before any section")]
    public void A_malformed_file_is_an_error_naming_the_file_and_line(string text, int line, string problem)
    {
        var path = Path.Combine(_dir, "bad.ini");
        File.WriteAllText(path, text);

        var result = _ps.Run("Import-FemagConfig $args[0]", path);

        var error = Assert.Single(result.Errors);
        Assert.Equal("FemagConfigInvalid,FemagAws.Commands.ImportFemagConfigCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ParserError, error.CategoryInfo.Category);
        Assert.Contains(path + ", line " + line + ":", error.Exception.Message);
        Assert.Contains(problem, error.Exception.Message);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void An_inline_comment_is_refused_as_femagtools_would_misread_it_and_on_a_line_of_its_own_it_is_fine()
    {
        var path = Path.Combine(_dir, "unattended.ini");
        File.WriteAllText(path, "[amazon]\n; ... the usual keys ...\nmax_runtime = 240    ; minutes: each instance shuts itself down\n");

        var error = Assert.Single(_ps.Run("Import-FemagConfig $args[0]", path).Errors);

        Assert.StartsWith("FemagConfigInvalid,", error.FullyQualifiedErrorId);
        Assert.Equal(path + ", line 3: max_runtime = '240    ; minutes: each instance shuts itself down': inline comments are not supported " +
                     "(femagtools, too, reads everything after '=' as the value). Put the comment on a line of its own, starting with ';' or '#'.",
            error.Exception.Message);
        Assert.Equal(240.0, Import("[amazon]\n; minutes: each instance shuts itself down\nmax_runtime = 240\n").Properties["MaxRuntime"].Value);
    }

    [Fact]
    public void A_file_without_an_amazon_section_says_so()
    {
        var path = Path.Combine(_dir, "other.ini");
        File.WriteAllText(path, "[google]\nkey = 1\n");

        var error = Assert.Single(_ps.Run("Import-FemagConfig $args[0]", path).Errors);

        Assert.Contains("no [amazon] section", error.Exception.Message);
    }

    [Fact]
    public void A_missing_file_is_an_object_not_found_error()
    {
        var error = Assert.Single(_ps.Run("Import-FemagConfig $args[0]", Path.Combine(_dir, "missing.ini")).Errors);

        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.StartsWith("FemagConfigNotFound,", error.FullyQualifiedErrorId);
    }

    private PSObject Import(string text)
    {
        var path = Path.Combine(_dir, "config.ini");
        File.WriteAllText(path, text);
        var result = _ps.Run("Import-FemagConfig -Path $args[0]", path);
        Assert.True(result.Errors.Count == 0, result.Describe());
        return Assert.Single(result.Output);
    }
}

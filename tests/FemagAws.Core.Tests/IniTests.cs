using System.Text;
using FemagAws.Config;

namespace FemagAws.Core.Tests;

/// <summary>The INI reader and the [amazon] section it feeds: configparser's rules as femagtools uses them, and the faults.</summary>
public sealed class IniTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("femag-ini-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_UTF8_BOM_as_Windows_PowerShell_writes_it_is_skipped()
    {
        var path = Path.Combine(_dir, "config.ini");
        File.WriteAllText(path, "[amazon]\nkey_name = k\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        Assert.Equal("k", FemagConfig.Load(path).KeyName);
        Assert.Equal(new[] { "amazon" }, IniDocument.Parse("\uFEFF[amazon]\n").SectionNames);
    }

    [Fact]
    public void Keys_are_lower_cased_and_trimmed_values_keep_their_inner_spaces_and_case()
    {
        var entry = Assert.Single(IniDocument.Parse("[amazon]\n  Key_NAME   =   My Key  Pair \t\n").Entries("amazon"));

        Assert.Equal(("key_name", "My Key  Pair", 2), (entry.Key, entry.Value, entry.Line));
    }

    [Theory]
    [InlineData("key_name = a\nKEY_NAME = b\n", 3, "key 'key_name' is set twice (first on line 2); keep one.")]
    [InlineData("key_name = a\n\nkey_name: a\n", 4, "key 'key_name' is set twice (first on line 2); keep one.")]
    public void A_key_set_twice_in_a_section_is_an_error_whatever_its_case(string body, int line, string problem)
    {
        var ex = Assert.Throws<FemagConfigException>(() => IniDocument.Parse("[amazon]\n" + body, "/cfg/config.ini"));

        Assert.Equal(("/cfg/config.ini", line, problem), (ex.Path, ex.Line, ex.Problem));
        Assert.Equal($"/cfg/config.ini, line {line}: {problem}", ex.Message);
    }

    [Fact]
    public void A_section_twice_is_an_error_but_one_key_in_two_sections_is_fine()
    {
        var doc = IniDocument.Parse("[amazon]\nkey_name = a\n[google]\nkey_name = b\n");
        var ex = Assert.Throws<FemagConfigException>(() => IniDocument.Parse("[amazon]\nkey_name = a\n[amazon]\n"));

        Assert.Equal("a", Assert.Single(doc.Entries("amazon")).Value);
        Assert.Equal(3, ex.Line);
        Assert.Equal("section [amazon] appears twice (first on line 1); merge them into one.", ex.Problem);
    }

    [Theory]
    [InlineData("[amazon]")]
    [InlineData("[AMAZON]")]
    [InlineData("[ amazon ]")]
    public void The_engine_section_may_be_amazon_in_either_case(string header)
    {
        Assert.Equal("t2.small", Load(header + "\ninstance_type = t2.small\n").InstanceType);
    }

    [Fact]
    public void A_file_without_the_section_or_with_both_spellings_is_an_error_naming_the_file()
    {
        var missing = Assert.Throws<FemagConfigException>(() => Load("[google]\nkey_name = k\n"));
        var both = Assert.Throws<FemagConfigException>(() => Load("[amazon]\n[AMAZON]\n"));

        Assert.Equal((Path.Combine(_dir, "config.ini"), 0), (missing.Path, missing.Line));
        Assert.Equal(Path.Combine(_dir, "config.ini") + ": there is no [amazon] section. Start the engine settings with a line '[amazon]'.", missing.Message);
        Assert.Equal(2, both.Line);
        Assert.Equal("sections [amazon] and [AMAZON] both configure the engine; keep one.", both.Problem);
    }

    [Fact]
    public void Whole_line_comments_are_skipped_even_indented_and_inside_a_continued_value()
    {
        var entries = IniDocument.Parse("# top\n[amazon]\n; semicolon\n   # indented\nnote = first\n; between\n  second\nkey_name = k\n").Entries("amazon");

        Assert.Equal(new[] { ("note", "first\nsecond"), ("key_name", "k") }, entries.Select(e => (e.Key, e.Value)));
    }

    [Fact]
    public void Indented_lines_continue_the_value_above_until_a_blank_line()
    {
        var entries = IniDocument.Parse("[amazon]\nnote = a\n  b\n\tc\nempty =\n  filled\n\nkey_name = k\n").Entries("amazon");

        Assert.Equal(new[] { ("note", "a\nb\nc"), ("empty", "filled"), ("key_name", "k") }, entries.Select(e => (e.Key, e.Value)));
    }

    [Fact]
    public void The_first_equals_or_colon_splits_and_an_empty_value_is_empty()
    {
        var entries = IniDocument.Parse("[amazon]\nendpoint_url = http://localhost:5000\nnote: a=b\nkey_name =\n").Entries("amazon");

        Assert.Equal(new[] { ("endpoint_url", "http://localhost:5000"), ("note", "a=b"), ("key_name", "") }, entries.Select(e => (e.Key, e.Value)));
    }

    [Fact]
    public void Line_numbers_count_Windows_and_old_Mac_line_ends()
    {
        var ex = Assert.Throws<FemagConfigException>(() => IniDocument.Parse("[amazon]\r\nkey_name = a\r\n\rno delimiter here\r\n"));

        Assert.Equal(4, ex.Line);
        Assert.Equal("expected 'key = value' but found 'no delimiter here'.", ex.Problem);
    }

    [Theory]
    [InlineData("key_name = k\n[amazon]\n", 1, "'key_name = k' stands before any section header; put it under [amazon].")]
    [InlineData("[amazon\n", 1, "section header '[amazon' has no closing ']'.")]
    [InlineData("[amazon]\n= value\n", 2, "expected 'key = value' but found '= value'.")]
    [InlineData("[amazon]\nkey_name = k\njust words\n", 3, "expected 'key = value' but found 'just words'.")]
    public void A_line_that_is_no_setting_is_an_error_with_its_line(string text, int line, string problem)
    {
        var ex = Assert.Throws<FemagConfigException>(() => IniDocument.Parse(text));

        Assert.Equal((line, problem), (ex.Line, ex.Problem));
    }

    [Fact]
    public void DEFAULT_keys_are_inherited_unless_the_section_sets_them()
    {
        var config = Load("[DEFAULT]\nkey_name = shared\ninstance_type = t2.small\n[amazon]\ninstance_type = c5.large\n");

        Assert.Equal(("shared", "c5.large"), (config.KeyName, config.InstanceType));
    }

    [Fact]
    public void Defaults_fill_absent_keys_but_a_key_set_empty_stays_empty()
    {
        var config = Load("[amazon]\nimage_id =\nkey_name =\n");

        Assert.Equal(("eu-central-1", "t2.micro", "femag", "exit_code"), (config.ServerLocation, config.InstanceType, config.CompanyName, config.FinishTaskFilename));
        Assert.Equal("", config.ImageId);
        Assert.Null(config.KeyName);
        Assert.Equal("", config.Settings["key_name"]);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("yes", true)]
    [InlineData("TRUE", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("No", false)]
    [InlineData("off", false)]
    [InlineData("", false)]
    public void Delete_buckets_and_dry_run_are_yes_no_values(string value, bool expected)
    {
        var config = Load($"[amazon]\ndelete_buckets = {value}\ndry_run = {value}\n");

        Assert.Equal((expected, expected), (config.DeleteBuckets, config.DryRun));
    }

    [Fact]
    public void Another_yes_no_value_is_an_error_on_its_line()
    {
        var ex = Assert.Throws<FemagConfigException>(() => Load("[amazon]\nkey_name = k\ndry_run = maybe\n"));

        Assert.Equal((3, "dry_run = 'maybe' is not a yes/no value; use 1, 0, true, false, yes or no."), (ex.Line, ex.Problem));
    }

    [Theory]
    [InlineData("sg-1,", new[] { "sg-1" }, "sg-1")]
    [InlineData("sg-1", new[] { "sg-1" }, "sg-1")]
    [InlineData("sg-1, sg-2", new[] { "sg-1", "sg-2" }, "sg-1,sg-2")]
    [InlineData(" , sg-2 ,,", new[] { "sg-2" }, "sg-2")]
    [InlineData(",", new string[0], "")]
    public void Security_group_ids_is_a_trimmed_comma_list_with_the_femagtools_trailing_comma(string value, string[] groups, string stored)
    {
        var config = Load($"[amazon]\nsecurity_group_ids = {value}\n");

        Assert.Equal(groups, config.SecurityGroupIds);
        Assert.Equal(stored, config.Settings["security_group_ids"]);
    }

    [Theory]
    [InlineData("my-key")]
    [InlineData("2nd_key")]
    [InlineData("key.name")]
    [InlineData("my key")]
    public void A_key_that_is_no_shell_name_cannot_be_exported_by_ENV(string key)
    {
        var ex = Assert.Throws<FemagConfigException>(() => Load($"[amazon]\nkey_name = k\n{key} = 1\n"));

        Assert.Equal((3, $"key '{key}' cannot be exported to the cloud-init script; use letters, digits and '_' only."), (ex.Line, ex.Problem));
    }

    [Theory]
    [InlineData("max_runtime = 0", "max_runtime = '0' is not a number of minutes above 0, such as 180.")]
    [InlineData("max_instances = 2.5", "max_instances = '2.5' is not a whole number of instances above 0, such as 20.")]
    [InlineData("server_location = Frankfurt", "server_location = 'Frankfurt' is not an AWS region name such as eu-central-1.")]
    [InlineData("endpoint_url = localhost:5000", "endpoint_url = 'localhost:5000' is not an http:// or https:// URL.")]
    [InlineData("finish_task_filename = out/exit_code", "finish_task_filename must be a plain object name such as exit_code.")]
    public void A_bad_value_is_an_error_naming_the_file_and_its_line(string setting, string problem)
    {
        var ex = Assert.Throws<FemagConfigException>(() => Load($"[amazon]\n; the watchdog and friends\n{setting}\n"));

        Assert.Equal($"{Path.Combine(_dir, "config.ini")}, line 3: {problem}", ex.Message);
    }

    [Fact]
    public void Max_runtime_takes_fractions_and_max_instances_whole_numbers()
    {
        var config = Load("[amazon]\nmax_runtime = 0.5\nmax_instances = 20\n");

        Assert.Equal((0.5, 20), (config.MaxRuntime, config.MaxInstances));
    }

    [Fact]
    public void A_relative_cloud_init_is_taken_from_the_config_files_folder()
    {
        var config = Load("[amazon]\ncloud_init = scripts/../cloud_init.txt\n");

        Assert.Equal(Path.Combine(_dir, "cloud_init.txt"), config.CloudInit);
    }

    [Theory]
    [InlineData("max_runtime = 240    ; minutes: each instance shuts itself down", "max_runtime")]
    [InlineData("max_instances = 20   ; at most 20 jobs of one pipeline run at once", "max_instances")]
    [InlineData("delete_buckets = 1 # after download", "delete_buckets")]
    [InlineData("instance_type = c5.xlarge ; bigger than the default", "instance_type")]
    [InlineData("security_group_ids = sg-1, ; the femag group", "security_group_ids")]
    [InlineData("server_location = eu-central-1\t; Frankfurt", "server_location")]
    public void An_inline_comment_after_a_value_the_module_reads_is_refused_with_how_to_write_it(string line, string key)
    {
        var ex = Assert.Throws<FemagConfigException>(() => Load($"[amazon]\nkey_name = k\n{line}\n"));

        var value = line.Substring(line.IndexOf('=') + 1).Trim();
        Assert.Equal(3, ex.Line);
        Assert.Equal($"{key} = '{value}': inline comments are not supported (femagtools, too, reads everything after '=' as the value). Put the comment on a line of its own, starting with ';' or '#'.", ex.Problem);
    }

    [Fact]
    public void Free_text_keeps_a_semicolon_or_hash_as_femagtools_does_and_a_value_without_whitespace_before_them_is_no_comment()
    {
        var config = Load("[amazon]\nkey_name = team A ; Basel\ncompany_name = ACME #1\nnote = a ; b\nendpoint_url = http://localhost:5000/#x\n");

        Assert.Equal(("team A ; Basel", "ACME #1", "a ; b"), (config.KeyName, config.CompanyName, config.Settings["note"]));
        Assert.Equal("http://localhost:5000/#x", config.EndpointUrl);
    }

    [Fact]
    public void The_comments_of_the_READMEs_unattended_example_read_fine_on_lines_of_their_own()
    {
        var config = Load("""
            [amazon]
            ; ... the usual keys ...
            ; minutes: each instance shuts itself down (and so terminates) after 4 h, whatever happens
            max_runtime = 240
            ; at most 20 jobs of one pipeline run at once; the others are queued
            max_instances = 20
            """);

        Assert.Equal((240.0, 20), (config.MaxRuntime, config.MaxInstances));
    }

    [Fact]
    public void Keys_or_values_that_look_like_secrets_are_named_because_ENV_would_export_them()
    {
        var config = Load("[amazon]\naws_secret_access_key = x\nsession_token = y\nnote = AKIAIOSFODNN7EXAMPLE\nkey_name = k\n");

        Assert.Equal(new[] { "aws_secret_access_key", "note", "session_token" }, config.KeysLookingLikeSecrets());
    }

    [Fact]
    public void Keys_neither_femagtools_nor_the_module_knows_are_named_with_the_nearest_known_key()
    {
        var config = Load("[amazon]\ninstance_typ = c5.xlarge\nserver_locaton = eu-west-1\nsecurity_group_id = sg-1\nfemag_version = 2024.1\nacl = private\nmax_runtime = 60\n");

        Assert.Equal(
            new[] { new KeyValuePair<string, string?>("femag_version", null), new("instance_typ", "instance_type"), new("security_group_id", "security_group_ids"), new("server_locaton", "server_location") },
            config.UnknownKeys());
    }

    [Theory]
    [InlineData("instance_typ", "instance_type", 1)]
    [InlineData("sever_location", "server_location", 1)]
    [InlineData("delete_bukcets", "delete_buckets", 1)]
    [InlineData("Spot", "spot", 0)]
    [InlineData("kitten", "sitting", 3)]
    public void The_edit_distance_counts_inserts_deletes_replacements_and_swaps_ignoring_case(string a, string b, int distance)
    {
        Assert.Equal(distance, EditDistance.Between(a.ToLowerInvariant(), b));
    }

    private FemagConfig Load(string text)
    {
        var path = Path.Combine(_dir, "config.ini");
        File.WriteAllText(path, text);
        return FemagConfig.Load(path);
    }
}

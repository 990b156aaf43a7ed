using System.Diagnostics;
using System.Text;
using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using InstanceStatus = FemagAws.Aws.Ec2.InstanceStatus;
using UserData = FemagAws.CloudInit.UserData;

namespace FemagAws.Core.Tests;

/// <summary>The user data rendered from the cloud-init script, and how it is handed to EC2.</summary>
public sealed class UserDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("femag-userdata-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void An_ENV_line_becomes_one_quoted_export_per_key_in_ordinal_order_then_BUCKET_NAME_and_EXPECTED_BUCKET_OWNER()
    {
        var config = Config(("instance_type", "t2.small"), ("ab", "2"), ("a_b", "1"));

        var userData = UserData.Render("#!/bin/bash\n{{ENV}}\necho done\n", config, "b-0", "123456789012");

        Assert.Equal(
            """
            #!/bin/bash
            export AB='2'
            export A_B='1'
            export COMPANY_NAME='femag'
            export FINISH_TASK_FILENAME='exit_code'
            export IMAGE_ID='ami-b0cc23df'
            export INSTANCE_TYPE='t2.small'
            export SERVER_LOCATION='eu-central-1'
            export BUCKET_NAME='b-0'
            export EXPECTED_BUCKET_OWNER='123456789012'
            echo done

            """.Replace("\r\n", "\n"),
            userData);
    }

    [Fact]
    public void Only_a_marker_at_column_0_is_replaced_with_the_rest_of_its_line_and_each_one_expands()
    {
        var userData = UserData.Render("  {{ENV}}\n{{ENV}} anything after it\necho {{ENV}}\n{{ENV}}", Config(), "b-7", null);

        var lines = userData.Split('\n');
        Assert.Equal("  {{ENV}}", lines[0]);
        Assert.Equal("echo {{ENV}}", lines[8]);
        Assert.Equal(2, lines.Count(l => l == "export BUCKET_NAME='b-7'"));
        Assert.DoesNotContain("anything after it", userData);
        Assert.EndsWith("export BUCKET_NAME='b-7'\nexport EXPECTED_BUCKET_OWNER=''\n", userData);
    }

    [Fact]
    public void Windows_line_ends_and_a_BOM_are_taken_out_so_that_bash_runs_the_script()
    {
        var userData = UserData.Render("\uFEFF#!/bin/bash\r\n{{ENV}}\r\necho done\r\n", Config(), "b-0", null);

        Assert.StartsWith("#!/bin/bash\nexport COMPANY_NAME=", userData);
        Assert.DoesNotContain('\r', userData);
        Assert.EndsWith("export BUCKET_NAME='b-0'\nexport EXPECTED_BUCKET_OWNER=''\necho done\n", userData);
    }

    [Theory]
    [InlineData("", "''")]
    [InlineData("my key", "'my key'")]
    [InlineData("it's", @"'it'\''s'")]
    [InlineData("$HOME `id` $(id) \\n \"x\"", "'$HOME `id` $(id) \\n \"x\"'")]
    public void Values_are_single_quoted_with_embedded_quotes_closed_and_reopened(string value, string quoted)
    {
        Assert.Equal(quoted, UserData.ShellQuote(value));
    }

    [Fact]
    public void The_exported_values_reach_bash_unchanged()
    {
        var values = new[] { "my key ; team A", "it's", "$HOME `id` $(id)", "a\\nb \"c\"", "Grüße *" };
        var config = Config(values.Select((v, i) => ($"v{i}", v)).ToArray());
        var script = UserData.Render("{{ENV}}\nprintf '%s|' \"$V0\" \"$V1\" \"$V2\" \"$V3\" \"$V4\"\n", config, "b-0", null);

        var start = new ProcessStartInfo("bash", new[] { "-c", script }) { RedirectStandardOutput = true, StandardOutputEncoding = Encoding.UTF8 };
        using var bash = Process.Start(start)!;
        var output = bash.StandardOutput.ReadToEnd();
        bash.WaitForExit();

        Assert.Equal(string.Concat(values.Select(v => v + "|")), output);
    }

    [Theory]
    [InlineData("240", 14400)]
    [InlineData("1.5", 90)]
    [InlineData("0.1", 6)]
    [InlineData("0.001", 1)]
    public void Max_runtime_puts_a_shutdown_watchdog_right_after_the_shebang(string minutes, int seconds)
    {
        var userData = UserData.Render("#!/bin/bash\n{{ENV}}\nrun-femag\n", Config(("max_runtime", minutes)), "b-0", null);

        var lines = userData.Split('\n');
        Assert.Equal("#!/bin/bash", lines[0]);
        Assert.Equal($"# femag-aws: max_runtime watchdog: shut down (and so terminate) after {minutes} min, whatever this script does.", lines[1]);
        Assert.Equal($"nohup sh -c 'sleep {seconds}; shutdown -h now' >/dev/null 2>&1 &", lines[2]);
        Assert.StartsWith("export COMPANY_NAME=", lines[3]);
        Assert.Contains($"export MAX_RUNTIME='{minutes}'", lines);
        Assert.Equal("run-femag", lines[^2]);
    }

    [Theory]
    [InlineData("#!/bin/sh")]
    [InlineData("#!/usr/bin/env bash\n")]
    [InlineData("#!/bin/bash -ex\n")]
    public void The_watchdog_fits_any_shell_shebang_even_a_script_of_one_line(string script)
    {
        var userData = UserData.Render(script, Config(("max_runtime", "60")), "b-0", null);

        Assert.StartsWith(script.TrimEnd('\n') + "\n# femag-aws: max_runtime watchdog", userData);
        Assert.Contains("\nnohup sh -c 'sleep 3600; shutdown -h now' >/dev/null 2>&1 &\n", userData);
    }

    [Theory]
    [InlineData("#!/usr/bin/env python3\nprint(1)\n", "#!/usr/bin/env python3")]
    [InlineData("#cloud-config\nruncmd: []\n", "#cloud-config")]
    [InlineData("{{ENV}}\nrun-femag\n", "export COMPANY_NAME='femag'")]
    public void The_watchdog_refuses_a_script_that_is_no_shell_script(string script, string firstLine)
    {
        var ex = Assert.Throws<FemagException>(() => UserData.Render(script, Config(("max_runtime", "60")), "b-0", null));

        Assert.Equal("FemagWatchdogNeedsShellScript", ex.ErrorId);
        Assert.Contains($"this one starts with '{firstLine}'", ex.Message);
    }

    [Fact]
    public void The_rendered_script_may_fill_16_KB_counted_in_UTF8_bytes_but_not_one_byte_more()
    {
        var cloudInit = Path.Combine(_dir, "cloud_init.txt");
        var config = Config(("cloud_init", cloudInit));

        // 'ü' is two bytes in UTF-8: 8192 of them are exactly EC2's 16,384.
        File.WriteAllText(cloudInit, new string('ü', 8192));
        Assert.Equal(UserData.MaxBytes, Encoding.UTF8.GetByteCount(UserData.Render(config, "b-0", null)));

        File.WriteAllText(cloudInit, new string('ü', 8192) + "!");
        var ex = Assert.Throws<FemagException>(() => UserData.Render(config, "b-0", null));
        Assert.Equal("FemagUserDataTooLarge", ex.ErrorId);
        Assert.Contains("bucket b-0 is 16385 bytes; EC2 accepts at most 16384", ex.Message);
    }

    [Fact]
    public void A_config_without_a_readable_cloud_init_says_which_key_to_set_or_which_file_is_missing()
    {
        var missingKey = Assert.Throws<FemagException>(() => UserData.Render(Config(), "b-0", null));
        var missingFile = Assert.Throws<FemagException>(() => UserData.Render(Config(("cloud_init", Path.Combine(_dir, "gone.txt"))), "b-0", null));

        Assert.Equal("FemagCloudInitMissing", missingKey.ErrorId);
        Assert.Contains("Add 'cloud_init = ./cloud_init.txt'", missingKey.Message);
        Assert.Equal("FemagCloudInitUnreadable", missingFile.ErrorId);
        Assert.Contains(Path.Combine(_dir, "gone.txt"), missingFile.Message);
    }

    [Fact]
    public async Task EC2_gets_the_user_data_base64_encoded_from_UTF8()
    {
        var (ec2, fake) = Ec2();
        var userData = "#!/bin/bash\n# Grüße aus Basel\nexport BUCKET_NAME='b-0'\n";

        var instanceId = await JobInstances.LaunchAsync(ec2, new FemagJob { BucketName = "b-0", Config = Config() }, userData, "t2.small", false, Array.Empty<InstanceStatus>(), CancellationToken.None);

        Assert.Equal("i-0123456789abcdef0", instanceId);
        var request = fake.Requests<RunInstancesRequest>().Single();
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes(userData)), request.UserData);
        Assert.Equal(userData, Encoding.UTF8.GetString(Convert.FromBase64String(request.UserData)));
    }

    [Fact]
    public async Task The_launch_request_carries_the_configs_settings_the_watchdog_tag_and_terminates_on_shutdown()
    {
        var (ec2, fake) = Ec2();
        var config = Config(("instance_type", "c5.xlarge"), ("security_group_ids", "sg-1, sg-2,"), ("max_runtime", "240"),
            ("iam_instance_profile", "arn:aws:iam::123456789012:instance-profile/femag"), ("company_name", "acme"));

        await JobInstances.LaunchAsync(ec2, new FemagJob { Index = 3, BucketName = "b-3", Config = config }, "#!/bin/bash\n", "c5.xlarge", false, Array.Empty<InstanceStatus>(), CancellationToken.None);

        var request = fake.Requests<RunInstancesRequest>().Single();
        Assert.Equal(("ami-b0cc23df", "c5.xlarge", 1, 1), (request.ImageId, request.InstanceType.Value, request.MinCount, request.MaxCount));
        Assert.Equal(new[] { "sg-1", "sg-2" }, request.SecurityGroupIds);
        Assert.Equal(("arn:aws:iam::123456789012:instance-profile/femag", null), (request.IamInstanceProfile.Arn, request.IamInstanceProfile.Name));
        Assert.Null(request.KeyName);
        Assert.Equal(ShutdownBehavior.Terminate, request.InstanceInitiatedShutdownBehavior);
        Assert.Equal(HttpTokensState.Required, request.MetadataOptions.HttpTokens);
        var tags = request.TagSpecifications.Single(s => s.ResourceType == ResourceType.Instance).Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal(("b-3-acme", "b-3", "3", "240"), (tags["Name"], tags["femag-aws:bucket"], tags["femag-aws:index"], tags["femag-aws:max-runtime"]));
        Assert.Equal(request.ClientToken, tags["femag-aws:launch"]);
        Assert.Equal(("on-demand", "1"), (tags["femag-aws:lifecycle"], tags["femag-aws:attempt"]));
        Assert.Null(request.InstanceMarketOptions);
    }

    [Fact]
    public async Task A_spot_launch_asks_for_a_one_time_request_that_terminates_on_interruption_with_no_max_price_and_is_tagged()
    {
        var (ec2, fake) = Ec2();

        await JobInstances.LaunchAsync(ec2, new FemagJob { Index = 1, BucketName = "b-1", Config = Config(), Attempt = 2 }, "#!/bin/bash\n", "c5.large", true, Array.Empty<InstanceStatus>(), CancellationToken.None);

        var request = fake.Requests<RunInstancesRequest>().Single();
        Assert.Equal("c5.large", request.InstanceType.Value);
        Assert.Equal(MarketType.Spot, request.InstanceMarketOptions.MarketType);
        Assert.Equal(SpotInstanceType.OneTime, request.InstanceMarketOptions.SpotOptions.SpotInstanceType);
        Assert.Equal(InstanceInterruptionBehavior.Terminate, request.InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior);
        Assert.Null(request.InstanceMarketOptions.SpotOptions.MaxPrice);
        var tags = request.TagSpecifications.Single(s => s.ResourceType == ResourceType.Instance).Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal(("spot", "2"), (tags["femag-aws:lifecycle"], tags["femag-aws:attempt"]));
    }

    [Fact]
    public void Advice_names_a_script_without_ENV_and_the_unknown_keys_it_does_not_read()
    {
        var script = Path.Combine(_dir, "cloud_init.txt");
        File.WriteAllText(script, "#!/bin/bash\nexport BUCKET_NAME=fixed\necho ${FEMAG_VERSION} $MODEL_DIR/x\n");
        var config = Config(("cloud_init", script), ("instance_typ", "c5.xlarge"), ("femag_version", "2024.1"), ("model_dir", "m"), ("note", "n"));

        var advice = UserData.Advise(config);

        Assert.True(advice.LacksEnv);
        Assert.Equal(new[] { new KeyValuePair<string, string?>("instance_typ", "instance_type"), new("note", null) }, advice.UnknownKeys);

        File.WriteAllText(script, "\uFEFF#!/bin/bash\r\n{{ENV}}\r\n");
        Assert.False(UserData.Advise(config).LacksEnv);
        Assert.False(UserData.Advise(Config(("cloud_init", Path.Combine(_dir, "missing.txt")))).LacksEnv);
    }

    [Fact]
    public async Task Launches_of_one_attempt_send_one_client_token_and_Spot_On_Demand_types_and_attempts_each_their_own()
    {
        var (ec2, fake) = Ec2();
        async Task<string> Token(string bucket, int attempt, string type, bool spot)
        {
            await JobInstances.LaunchAsync(ec2, new FemagJob { BucketName = bucket, Config = Config(), Attempt = attempt }, "#!/bin/bash\n", type, spot, Array.Empty<InstanceStatus>(), CancellationToken.None);
            return fake.Requests<RunInstancesRequest>().Last().ClientToken;
        }

        var first = await Token("b-0", 1, "c5.large", true);
        var again = await Token("b-0", 1, "c5.large", true);

        // A second session (or a retry) launching the same attempt asks EC2 with the same token, so EC2 returns one instance.
        Assert.Equal(first, again);
        Assert.InRange(first.Length, 1, 64);
        Assert.Matches("^[\\x21-\\x7e]+$", first);
        var others = new[]
        {
            await Token("b-0", 1, "c5.large", false), await Token("b-0", 1, "m5.large", true), await Token("b-0", 2, "c5.large", true), await Token("b-1", 1, "c5.large", true),
        };
        Assert.Equal(5, others.Append(first).Distinct().Count());
    }

    [Fact]
    public async Task Every_EBS_volume_the_image_maps_is_deleted_on_termination()
    {
        var (ec2, fake) = Ec2();

        await JobInstances.LaunchAsync(ec2, new FemagJob { BucketName = "b-0", Config = Config() }, "#!/bin/bash\n", "t2.small", false, Array.Empty<InstanceStatus>(), CancellationToken.None);

        Assert.Equal("ami-b0cc23df", Assert.Single(fake.Requests<DescribeImagesRequest>()).ImageIds.Single());
        var mapping = Assert.Single(fake.Requests<RunInstancesRequest>().Single().BlockDeviceMappings);
        Assert.Equal(("/dev/xvda", true, 8), (mapping.DeviceName, mapping.Ebs.DeleteOnTermination, mapping.Ebs.VolumeSize));
    }

    [Theory]
    [InlineData("#!/bin/bash\nxfemag -b femag.fsl\necho $? > exit_code\n", false)]
    [InlineData("#!/bin/bash\n# shutdown when done? not yet\nexport NOTE='halt'\nrun_shutdown_hooks\n", false)]
    [InlineData("#!/bin/bash\nxfemag\nshutdown -h now\n", true)]
    [InlineData("#!/bin/bash\nxfemag; sudo /sbin/poweroff\n", true)]
    [InlineData("#!/bin/bash\nxfemag && halt\n", true)]
    public void A_script_ends_its_instance_only_when_a_command_shuts_it_down(string script, bool endsItself) =>
        Assert.Equal(endsItself, UserData.EndsItself(script));

    [Fact]
    public void The_max_runtime_watchdog_ends_the_instance_of_a_script_that_never_shuts_down()
    {
        var script = "#!/bin/bash\nxfemag -b femag.fsl\n";

        Assert.False(UserData.EndsItself(UserData.Render(script, Config(), "b-0", null)));
        Assert.True(UserData.EndsItself(UserData.Render(script, Config(("max_runtime", "60")), "b-0", null)));
    }

    private static FemagConfig Config(params (string Key, string Value)[] settings) =>
        FemagConfig.FromSettings(settings.Select(s => new KeyValuePair<string, string>(s.Key, s.Value)));

    private static (IAmazonEC2 Client, FakeAws Fake) Ec2()
    {
        var (ec2, fake) = FakeAws.Of<IAmazonEC2>();
        fake.On("RunInstancesAsync", _ => new RunInstancesResponse
        {
            Reservation = new Reservation { Instances = new List<Instance> { new() { InstanceId = "i-0123456789abcdef0" } } },
        }).WithImage();
        return (ec2, fake);
    }
}

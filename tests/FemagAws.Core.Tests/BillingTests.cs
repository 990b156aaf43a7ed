using System.Collections;
using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Aws;
using FemagAws.Aws.Ec2;
using FemagAws.Insight;
using FemagAws.Runners.Pool;
using InstanceStatus = FemagAws.Aws.Ec2.InstanceStatus;
using Tag = Amazon.EC2.Model.Tag;

namespace FemagAws.Core.Tests;

/// <summary>What instances billed, what that cost, and how a pool's bill is shared among its jobs.</summary>
public sealed class BillingTests
{
    private static readonly DateTime Launch = new(2026, 11, 24, 8, 0, 0, DateTimeKind.Utc);

    /// <summary>An instance as EC2 describes it: launched <paramref name="launchedAfter"/> s after Launch, ended <paramref name="lived"/> s later (null: still running).</summary>
    private static InstanceStatus Instance(string id, double launchedAfter, double? lived, string? poolId = null, bool spot = false, string type = "c5.large")
    {
        var tags = new List<Tag> { new("femag-aws:lifecycle", spot ? "spot" : "on-demand") };
        if (poolId != null)
        {
            tags.Add(new Tag("femag-aws:pool", poolId));
        }

        var launched = Launch.AddSeconds(launchedAfter);
        return InstanceStatus.From(new Instance
        {
            InstanceId = id,
            InstanceType = type,
            Placement = new Placement { AvailabilityZone = "eu-central-1a" },
            State = new InstanceState { Name = lived == null ? InstanceStateName.Running : InstanceStateName.Terminated },
            StateTransitionReason = lived == null ? string.Empty : $"User initiated ({launched.AddSeconds(lived.Value):yyyy-MM-dd HH:mm:ss} GMT)",
            LaunchTime = launched,
            InstanceLifecycle = spot ? InstanceLifecycleType.Spot : null,
            Tags = tags,
        });
    }

    private static JobRun Run(string instanceId, double from, double? to, string? poolId = null) =>
        new() { InstanceId = instanceId, Start = Launch.AddSeconds(from), End = to == null ? null : Launch.AddSeconds(to.Value), PoolId = poolId, Outcome = to == null ? JobRunOutcome.Running : JobRunOutcome.Succeeded };

    private static InstanceBill Bill(InstanceStatus instance, decimal? cost = null) => new(instance, instance.LaunchTime!.Value, instance.EndTime!.Value, Math.Max(60, (instance.EndTime!.Value - instance.LaunchTime!.Value).TotalSeconds)) { Cost = cost };

    [Theory]
    [InlineData(300, 300)]
    [InlineData(12, 60)]
    [InlineData(0, 60)]
    public void An_instance_bills_its_lifetime_from_launch_to_its_state_transition_and_at_least_a_minute(double lived, double billed)
    {
        var bill = Billing.Bill(Instance("i-1", 0, lived), Array.Empty<JobRun>(), Launch.AddHours(5));

        Assert.Equal(billed, bill.Seconds);
        Assert.Equal(Launch, bill.Start);
        Assert.Equal(Launch.AddSeconds(lived), bill.End);
    }

    [Fact]
    public void An_instance_still_running_bills_until_now()
    {
        var bill = Billing.Bill(Instance("i-1", 0, null), Array.Empty<JobRun>(), Launch.AddSeconds(500));

        Assert.Equal(500, bill.Seconds);
    }

    [Fact]
    public void An_instance_EC2_no_longer_knows_bills_from_the_first_to_the_last_run_on_it()
    {
        var bill = Billing.Bill(new InstanceStatus("i-1", "missing", "EC2 no longer knows the instance"), new[] { Run("i-1", 10, 100), Run("i-1", 50, 400) }, Launch.AddHours(2));

        Assert.Equal(390, bill.Seconds);
    }

    [Fact]
    public void The_Spot_price_in_effect_at_launch_counts_and_each_price_holds_until_the_next_record()
    {
        var history = new[]
        {
            new SpotPricePoint(Launch.AddSeconds(1800), 0.072m),
            new SpotPricePoint(Launch.AddHours(-3), 0.036m),
            new SpotPricePoint(Launch.AddHours(5), 9m),
        };

        // 30 minutes at 0.036, then 60 at 0.072; the record after the billed time does not count.
        Assert.Equal(0.018m + 0.072m, Billing.SpotCost(history, Launch, 5400));
        Assert.Equal(0.036m / 60, Billing.SpotCost(history, Launch, 60));
    }

    [Fact]
    public void Time_before_the_first_Spot_record_takes_its_price_and_no_record_gives_no_price()
    {
        Assert.Equal(0.05m, Billing.SpotCost(new[] { new SpotPricePoint(Launch.AddSeconds(600), 0.05m) }, Launch, 3600));
        Assert.Null(Billing.SpotCost(Array.Empty<SpotPricePoint>(), Launch, 3600));
    }

    [Fact]
    public void On_Demand_costs_the_users_price_per_hour_of_the_instance_type_or_has_no_price()
    {
        var prices = new Dictionary<string, decimal> { ["c5.xlarge"] = 0.192m };

        Assert.Equal(0.096m, Billing.OnDemandCost(prices, "c5.xlarge", 1800));
        Assert.Null(Billing.OnDemandCost(prices, "c5.large", 1800));
        Assert.Null(Billing.OnDemandCost(prices, null, 1800));
    }

    [Fact]
    public void A_job_on_instances_of_its_own_bills_every_attempts_instance()
    {
        var job = new FemagJob { Runs = { Run("i-1", 0, 30), Run("i-2", 100, 400) } };
        var other = new FemagJob { Runs = { Run("i-3", 0, 200) } };

        Billing.Split(new[] { job, other }, new[] { Bill(Instance("i-1", 0, 30), 0.01m), Bill(Instance("i-2", 100, 300), 0.05m), Bill(Instance("i-3", 0, 200), 0.02m) });

        Assert.Equal(60 + 300, job.BilledSeconds);
        Assert.Equal(0.06m, job.Cost);
        Assert.Equal(200, other.BilledSeconds);
        Assert.Equal(0.02m, other.Cost);
    }

    [Fact]
    public void A_pool_instance_is_shared_by_the_jobs_time_on_it_and_one_that_ran_none_of_them_evenly_so_the_jobs_add_up_to_the_pool()
    {
        const string pool = "p1";
        var a = new FemagJob { PoolId = pool, Runs = { Run("i-1", 0, 100, pool) } };
        var b = new FemagJob { PoolId = pool, Runs = { Run("i-1", 100, 400, pool) } };
        var c = new FemagJob { PoolId = pool, Runs = { Run("i-2", 0, null, pool) } };
        var d = new FemagJob { PoolId = pool };  // never taken (dead-lettered): it shares nothing, as it has no instance type
        var bills = new[]
        {
            Bill(Instance("i-1", 0, 500, pool), 1m),    // a 100 s, b 300 s
            Bill(Instance("i-2", 0, 200, pool), 0.3m),  // c alone; its run ends with the instance
            Bill(Instance("i-3", 0, 30, pool), 0.09m),  // idled out: 60 s over a, b and c
        };

        Billing.Split(new[] { a, b, c, d }, bills);

        Assert.Equal(125 + 20, a.BilledSeconds!.Value, 9);
        Assert.Equal(375 + 20, b.BilledSeconds!.Value, 9);
        Assert.Equal(200 + 20, c.BilledSeconds!.Value, 9);
        Assert.Equal(500 + 200 + 60, a.BilledSeconds + b.BilledSeconds + c.BilledSeconds);
        Assert.Equal(0.25m + 0.03m, a.Cost);
        Assert.Equal(0.75m + 0.03m, b.Cost);
        Assert.Equal(0.3m + 0.03m, c.Cost);
        Assert.Equal((0d, 0m), (d.BilledSeconds!.Value, d.Cost!.Value));
    }

    [Fact]
    public void A_job_with_a_share_of_unknown_price_has_no_cost_and_one_that_ran_nowhere_billed_nothing()
    {
        var job = new FemagJob { Runs = { Run("i-1", 0, 30), Run("i-2", 100, 400) } };
        var never = new FemagJob();

        Billing.Split(new[] { job, never }, new[] { Bill(Instance("i-1", 0, 30), 0.01m), Bill(Instance("i-2", 100, 300)) });

        Assert.Equal(360, job.BilledSeconds);
        Assert.Null(job.Cost);
        Assert.Equal((0d, 0m), (never.BilledSeconds!.Value, never.Cost!.Value));
    }

    [Fact]
    public async Task Wait_FemagJob_bills_a_pools_jobs_from_the_pools_instances_with_the_Spot_price_of_their_zone_over_their_lifetime()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1");
        var runner = new PoolRunner(new AwsClientCache(new FakeCommandLines()), _ => pool);
        fake.Launches.Add(("i-1", "p1", 1, "c5.large", true, string.Empty));
        fake.Launches.Add(("i-2", "p1", 2, "c5.large", false, string.Empty));
        fake.Launches.Add(("i-9", "p9", 1, "c5.large", false, string.Empty));
        fake.Described["i-1"] = Instance("i-1", 0, 3600, "p1", spot: true);
        fake.Described["i-2"] = Instance("i-2", 0, 1800, "p1");
        var a = new FemagJob { PoolId = "p1", Runs = { Run("i-1", 0, 1200, "p1") } };
        var b = new FemagJob { PoolId = "p1", Runs = { Run("i-1", 1200, 3600, "p1"), Run("i-2", 0, 1800, "p1") } };
        var spot = new FakeSpotPrices(new SpotPricePoint(Launch.AddHours(-1), 0.03m), new SpotPricePoint(Launch.AddMinutes(30), 0.06m));

        var warnings = await new JobBilling(_ => runner, _ => spot, new Dictionary<string, decimal> { ["c5.large"] = 0.1m }, () => Launch.AddHours(2))
            .BillAsync(new[] { a, b }, CancellationToken.None);

        Assert.Empty(warnings);
        Assert.Equal(("c5.large", "eu-central-1a", Launch, Launch.AddHours(1)), Assert.Single(spot.Asked));
        Assert.Equal(3600 + 1800, a.BilledSeconds!.Value + b.BilledSeconds!.Value, 9);
        Assert.Equal(1200, a.BilledSeconds!.Value, 9);

        // i-1: 0.015 + 0.03 = 0.045 shared 1:2; i-2: 0.05 On-Demand, b's alone.
        Assert.Equal(0.015m, decimal.Round(a.Cost!.Value, 12));
        Assert.Equal(0.03m + 0.05m, decimal.Round(b.Cost!.Value, 12));
    }

    [Fact]
    public async Task A_pool_instance_EC2_no_longer_lists_still_bills_from_the_runs_on_it_priced_by_their_type_with_a_warning()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1");
        var runner = new PoolRunner(new AwsClientCache(new FakeCommandLines()), _ => pool);
        fake.Launches.Add(("i-2", "p1", 2, "c5.large", false, string.Empty));
        fake.Described["i-2"] = Instance("i-2", 0, 600, "p1");
        var old = Run("i-1", 0, 900, "p1");
        old.InstanceType = "c5.large";
        old.Lifecycle = FemagJob.OnDemand;
        var a = new FemagJob { PoolId = "p1", Runs = { old } };
        var b = new FemagJob { PoolId = "p1", Runs = { Run("i-2", 0, 600, "p1") } };

        var warnings = await new JobBilling(_ => runner, _ => new FakeSpotPrices(), new Dictionary<string, decimal> { ["c5.large"] = 0.36m }, () => Launch.AddHours(3))
            .BillAsync(new[] { a, b }, CancellationToken.None);

        Assert.Equal((900d, 600d), (a.BilledSeconds!.Value, b.BilledSeconds!.Value));
        Assert.Equal(0.09m, decimal.Round(a.Cost!.Value, 12));
        Assert.Contains("i-1", Assert.Single(warnings));
    }

    [Fact]
    public async Task A_Spot_price_that_cannot_be_looked_up_leaves_the_cost_unknown_with_a_warning()
    {
        var fake = new FakePool();
        var pool = new WorkerPool(fake, fake, fake, "eu-central-1");
        var runner = new PoolRunner(new AwsClientCache(new FakeCommandLines()), _ => pool);
        fake.Launches.Add(("i-1", "p1", 1, "c5.large", true, string.Empty));
        fake.Described["i-1"] = Instance("i-1", 0, 600, "p1", spot: true);
        var job = new FemagJob { PoolId = "p1", Runs = { Run("i-1", 0, 600, "p1") } };
        var spot = new FakeSpotPrices { Failure = new FemagException("AwsUnauthorizedOperation", FemagErrorKind.PermissionDenied, "not allowed") };

        var warnings = await new JobBilling(_ => runner, _ => spot, new Dictionary<string, decimal>(), () => Launch.AddHours(2)).BillAsync(new[] { job }, CancellationToken.None);

        Assert.Equal(600, job.BilledSeconds);
        Assert.Null(job.Cost);
        Assert.Contains("i-1", Assert.Single(warnings));
    }

    [Fact]
    public async Task The_Spot_price_history_asks_EC2_for_Linux_in_the_instances_zone_over_its_lifetime()
    {
        var (ec2, fake) = FakeAws.Of<IAmazonEC2>();
        fake.On("DescribeSpotPriceHistoryAsync", _ => new DescribeSpotPriceHistoryResponse
        {
            SpotPriceHistory = new List<SpotPrice> { new() { Price = "0.0350", Timestamp = Launch } },
        });

        var history = await new SpotPriceHistory(ec2).ForAsync("c5.large", "eu-central-1b", Launch, Launch.AddHours(1), CancellationToken.None);

        var request = Assert.Single(fake.Requests<DescribeSpotPriceHistoryRequest>());
        Assert.Equal(new[] { "c5.large" }, request.InstanceTypes);
        Assert.Equal(new[] { "Linux/UNIX" }, request.ProductDescriptions);
        Assert.Equal(("eu-central-1b", (DateTime?)Launch, (DateTime?)Launch.AddHours(1)), (request.AvailabilityZone, request.StartTime, request.EndTime));
        Assert.Equal((Launch, 0.035m), (Assert.Single(history).Timestamp, history[0].PricePerHour));
    }

    [Theory]
    [InlineData("C5 Large", 0.1)]
    [InlineData("c5.large", "cheap")]
    [InlineData("c5.large", -1)]
    [InlineData("c5.large", double.NaN)]
    [InlineData(7, 0.1)]
    public void A_price_table_that_is_not_instance_types_to_dollars_is_refused(object type, object price)
    {
        var ex = Assert.Throws<FemagException>(() => PricePerHour.Parse(new Hashtable { [type] = price }));

        Assert.Equal(PricePerHour.BadTableId, ex.ErrorId);
    }

    [Fact]
    public void A_price_table_takes_numbers_and_invariant_text()
    {
        var prices = PricePerHour.Parse(new Hashtable { ["c5.xlarge"] = 0.192, ["c5.large"] = "0.096", ["u-6tb1.metal"] = 40, ["m5.large"] = 0.1m });

        Assert.Equal(new Dictionary<string, decimal> { ["c5.xlarge"] = 0.192m, ["c5.large"] = 0.096m, ["u-6tb1.metal"] = 40m, ["m5.large"] = 0.1m }, prices);
        Assert.Empty(PricePerHour.Parse(null));
    }

    private sealed class FakeSpotPrices : ISpotPriceHistory
    {
        private readonly SpotPricePoint[] _points;

        public FakeSpotPrices(params SpotPricePoint[] points)
        {
            _points = points;
        }

        public List<(string Type, string Zone, DateTime Start, DateTime End)> Asked { get; } = new();

        public Exception? Failure { get; set; }

        public Task<IReadOnlyList<SpotPricePoint>> ForAsync(string instanceType, string availabilityZone, DateTime start, DateTime end, CancellationToken ct)
        {
            Asked.Add((instanceType, availabilityZone, start, end));
            return Failure != null ? Task.FromException<IReadOnlyList<SpotPricePoint>>(Failure) : Task.FromResult<IReadOnlyList<SpotPricePoint>>(_points);
        }
    }
}

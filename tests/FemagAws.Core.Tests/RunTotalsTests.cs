using FemagAws.Insight;

namespace FemagAws.Core.Tests;

/// <summary>What a set of jobs came to: counts, instance-hours by kind, cost and the summary line.</summary>
public sealed class RunTotalsTests
{
    private static FemagJob Job(FemagJobState state, string? type, string? lifecycle, double? billed, decimal? cost) =>
        new() { State = state, InstanceType = type, Lifecycle = lifecycle, BilledSeconds = billed, Cost = cost };

    [Fact]
    public void Counts_jobs_by_state_and_hours_by_instance_type_and_lifecycle_most_hours_first()
    {
        var totals = RunTotals.Of(new[]
        {
            Job(FemagJobState.Succeeded, "c5.large", FemagJob.Spot, 540, 0.005m),
            Job(FemagJobState.Succeeded, "c5.large", FemagJob.Spot, 540, 0.006m),
            Job(FemagJobState.Failed, "c5.large", FemagJob.OnDemand, 432, 0.023m),
            Job(FemagJobState.TimedOut, "c5.large", FemagJob.Spot, 0, null),
            Job(FemagJobState.Queued, null, null, null, null),
        });

        Assert.Equal(5, totals.Jobs);
        Assert.Equal(2, totals.Succeeded);
        Assert.Equal(1, totals.Failed);
        Assert.Equal(2, totals.Unfinished);
        Assert.Equal(2, totals.ByKind.Count);
        Assert.Equal(("c5.large", "Spot", 0.30, 0.011m, 2), (totals.ByKind[0].InstanceType, totals.ByKind[0].Lifecycle, totals.ByKind[0].Hours, totals.ByKind[0].Cost, totals.ByKind[0].Jobs));
        Assert.Equal(("c5.large", "On-Demand", 0.12, 0.023m, 1), (totals.ByKind[1].InstanceType, totals.ByKind[1].Lifecycle, totals.ByKind[1].Hours, totals.ByKind[1].Cost, totals.ByKind[1].Jobs));
        Assert.Equal(0.42, totals.InstanceHours, 9);
        Assert.Equal(0.034m, totals.Cost);
        Assert.Equal(0, totals.Unpriced);
        Assert.StartsWith("5 jobs: 2 succeeded, 1 failed, 2 unfinished; ", totals.Summary);
        Assert.Contains("0.42 instance-hours: ", totals.Summary);
        Assert.Contains("c5.large Spot 0.30 ($0.011)", totals.Summary);
        Assert.Contains("c5.large On-Demand 0.12 ($0.023)", totals.Summary);
        Assert.EndsWith("; cost $0.034", totals.Summary);
    }

    [Fact]
    public void Without_any_price_the_cost_is_null_and_the_summary_names_the_kinds_without_one()
    {
        var totals = RunTotals.Of(new[]
        {
            Job(FemagJobState.Succeeded, "c5.xlarge", FemagJob.OnDemand, 3600, null),
            Job(FemagJobState.Succeeded, "m5.large", FemagJob.Spot, 1800, null),
        });

        Assert.Null(totals.Cost);
        Assert.Equal(2, totals.Unpriced);
        Assert.All(totals.ByKind, k => Assert.Null(k.Cost));
        Assert.Contains("1.50 instance-hours", totals.Summary);
        Assert.Contains("c5.xlarge On-Demand 1.00 (no price)", totals.Summary);
        Assert.EndsWith("; no price for c5.xlarge On-Demand, m5.large Spot", totals.Summary);
    }

    [Fact]
    public void A_partly_priced_run_sums_the_known_costs_and_says_which_jobs_have_none()
    {
        var totals = RunTotals.Of(new[]
        {
            Job(FemagJobState.Succeeded, "c5.large", FemagJob.Spot, 3600, 0.035m),
            Job(FemagJobState.Failed, "c5.large", FemagJob.Spot, 3600, null),
            Job(FemagJobState.Succeeded, "c5.xlarge", FemagJob.OnDemand, 360, null),
        });

        Assert.Equal(0.035m, totals.Cost);
        Assert.Equal(2, totals.Unpriced);
        Assert.Equal(1, totals.ByKind[0].Unpriced);
        Assert.Contains("c5.large Spot 2.00 ($0.035, 1 without a price)", totals.Summary);
        Assert.EndsWith("; cost $0.035 without 2 jobs that have no price (c5.large Spot, c5.xlarge On-Demand)", totals.Summary);
    }

    [Fact]
    public void A_cost_below_a_tenth_of_a_cent_shows_its_first_figures()
    {
        var totals = RunTotals.Of(new[] { Job(FemagJobState.Succeeded, "t2.small", FemagJob.Spot, 108, 0.000207m) });

        Assert.Contains("t2.small Spot 0.03 ($0.000207)", totals.Summary);
        Assert.EndsWith("; cost $0.000207", totals.Summary);
    }

    [Fact]
    public void Jobs_that_billed_nothing_give_zero_instance_hours_and_no_kinds()
    {
        var totals = RunTotals.Of(new[] { Job(FemagJobState.Failed, null, null, null, null) });

        Assert.Empty(totals.ByKind);
        Assert.Equal(0, totals.InstanceHours);
        Assert.Null(totals.Cost);
        Assert.StartsWith("1 job: 0 succeeded, 1 failed; ", totals.Summary);
        Assert.EndsWith("; 0.00 instance-hours", totals.Summary);
    }
}

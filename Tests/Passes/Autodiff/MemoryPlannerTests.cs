using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Autodiff.Memory;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>The --memory auto planner: estimates per strategy, and the choice under a budget.</summary>
public class MemoryPlannerTests
{
    private static MemoryEstimate Of(MemoryPlan p, MemoryMode m) => p.Estimates.Single(e => e.Mode == m);

    [Test]
    public void RevMlpEstimatesAreOrderedStoreRecomputeReversible()
    {
        var plan = MemoryPlanner.Plan(ModelZoo.RevMlp(8, 32), 64);
        TestContext.Out.WriteLine(plan.Table());
        Assert.That(plan.Estimates.All(e => e.Available), Is.True);
        long store = Of(plan, MemoryMode.Store).ActivationBytes, recompute = Of(plan, MemoryMode.Recompute).ActivationBytes, reversible = Of(plan, MemoryMode.Reversible).ActivationBytes;
        Assert.That(store, Is.GreaterThan(recompute));
        Assert.That(recompute, Is.GreaterThan(reversible));
        Assert.That(reversible, Is.GreaterThan(0));
        Assert.That(plan.UnsizedValues, Is.Zero);
        // Reversible keeps no stack interior: what stays does not grow with depth.
        var deep = MemoryPlanner.Plan(ModelZoo.RevMlp(32, 32), 64);
        Assert.That(Of(deep, MemoryMode.Reversible).ActivationBytes, Is.EqualTo(reversible));
        Assert.That(Of(deep, MemoryMode.Store).ActivationBytes, Is.GreaterThan(3 * store));
        // State is the same for every strategy: parameters × (2 + 2 AdamW states) × 4 + the updated copy (1 + 2) × 4.
        long parameters = TrainingGraphBuilder.Build(ModelZoo.RevMlp(8, 32), new TrainingOptions(new LossOptions(LossKind.CrossEntropy), new OptimizerOptions(), TrainableSpec.All))
            .Parameters.Sum(p => p.Initial.ElementCount);
        Assert.That(plan.Estimates.Select(e => e.StateBytes).Distinct().Single(), Is.EqualTo(parameters * 4 * 7));
    }

    [Test]
    public void ResidualMlpHasNoReversibleStrategy()
    {
        var plan = MemoryPlanner.Plan(ModelZoo.ResidualMlp(8, 32), 64);
        TestContext.Out.WriteLine(plan.Table());
        Assert.That(Of(plan, MemoryMode.Store).ActivationBytes, Is.GreaterThan(Of(plan, MemoryMode.Recompute).ActivationBytes));
        Assert.That(Of(plan, MemoryMode.Reversible).Available, Is.False);
        // Even a budget only reversible could meet picks among the available ones: the smallest, flagged as not fitting.
        var tight = MemoryPlanner.Plan(ModelZoo.ResidualMlp(8, 32), 64, budgetBytes: 1);
        Assert.That(tight.Choice, Is.EqualTo(MemoryMode.Recompute));
        Assert.That(tight.Fits, Is.False);
    }

    [Test]
    public void ActivationsScaleWithTheBatch()
    {
        var m = ModelZoo.RevMlp(4, 16);
        var a = MemoryPlanner.Plan(m, 10);
        var b = MemoryPlanner.Plan(m, 30);
        foreach (var mode in MemoryPlanner.ByTime)
            Assert.That(Of(b, mode).ActivationBytes, Is.EqualTo(3 * Of(a, mode).ActivationBytes), mode.ToString());
        // A linear classifier at batch 5: the Gemm's 5 × 10 float logits are the only activation (the output Identity is a view).
        var linear = MemoryPlanner.Plan(ModelZoo.LinearClassifier(16, 10), 5);
        Assert.That(Of(linear, MemoryMode.Store).ActivationBytes, Is.EqualTo(5 * 10 * 4));
    }

    [Test]
    public void BudgetPicksTheFastestStrategyThatFits()
    {
        var m = ModelZoo.RevMlp(8, 32);
        var free = MemoryPlanner.Plan(m, 64);
        long store = Of(free, MemoryMode.Store).TotalBytes, recompute = Of(free, MemoryMode.Recompute).TotalBytes, reversible = Of(free, MemoryMode.Reversible).TotalBytes;
        Assert.That(free.Choice, Is.EqualTo(MemoryMode.Store), "no budget: the fastest");
        Assert.That(MemoryPlanner.Plan(m, 64, store).Choice, Is.EqualTo(MemoryMode.Store));
        Assert.That(MemoryPlanner.Plan(m, 64, (store + recompute) / 2).Choice, Is.EqualTo(MemoryMode.Recompute));
        Assert.That(MemoryPlanner.Plan(m, 64, (recompute + reversible) / 2).Choice, Is.EqualTo(MemoryMode.Reversible));
        var none = MemoryPlanner.Plan(m, 64, reversible - 1);
        Assert.That(none.Choice, Is.EqualTo(MemoryMode.Reversible));
        Assert.That(none.Fits, Is.False);
        Assert.That(none.Reason, Does.Contain("no strategy fits"));
    }

    [TestCase("1073741824", 1073741824L)]
    [TestCase("1G", 1L << 30)]
    [TestCase("512M", 512L << 20)]
    [TestCase("2GiB", 2L << 30)]
    [TestCase("2gb", 2L << 30)]
    [TestCase("64k", 64L << 10)]
    [TestCase("1.5G", 3L << 29)]
    [TestCase("100B", 100L)]
    public void ParsesByteCounts(string text, long bytes) => Assert.That(MemoryPlanner.ParseBytes(text), Is.EqualTo(bytes));

    [TestCase("12X")]
    [TestCase("G")]
    [TestCase("-1G")]
    [TestCase("0")]
    [TestCase("")]
    [TestCase("1.5")]
    [TestCase("1e9")]
    public void RejectsBadByteCounts(string text) => Assert.That(MemoryPlanner.ParseBytes(text), Is.Null);
}

using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>`train --memory auto [--memory-budget]` and the reconstruction report of `--memory reversible`.</summary>
public class MemoryAutoTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string Digits => Path.Combine(RepoPaths.Root, "models", "data", "digits.csv.gz");

    private CliResult Train(string fixture, params string[] extra) => CliRunner.Run(new[] { "train", Path.Combine(RepoPaths.Fixtures, fixture), "--data", Digits, "--scale", "0.0625",
        "--batch", "32", "--max-steps", "10", "--threads", "2", "-o", Path.Combine(_dir, "trained.onnx"), "--json" }.Concat(extra).ToArray());

    [Test]
    public void AutoWithAGenerousBudgetPicksStoreAndReportsIt()
    {
        var r = Train("revmlp_d8.onnx", "--memory", "auto", "--memory-budget", "1G");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        Assert.That((string)r.Json["memory_strategy"]!, Is.EqualTo("store"));
        Assert.That((long)r.Json["memory_budget_bytes"]!, Is.EqualTo(1L << 30));
        Assert.That((long)r.Json["memory_estimate_bytes"]!, Is.GreaterThan(0));
        Assert.That(r.Json["memory_estimates"]!.AsArray(), Has.Count.EqualTo(3));
        Assert.That(r.Stderr, Does.Contain("--memory auto: store"));
        Assert.That(r.Stderr, Does.Contain("reversible"), "the estimate table");
    }

    [Test]
    public void AutoWithATightBudgetPicksReversibleOnRevmlp()
    {
        var probe = Train("revmlp_d8.onnx", "--memory", "auto", "--memory-budget", "1G");
        Assert.That(probe.ExitCode, Is.EqualTo(0), probe.Stderr);
        var est = probe.Json["memory_estimates"]!.AsArray();
        long recompute = (long)est[1]!["total_bytes"]!, reversible = (long)est[2]!["total_bytes"]!;
        var r = Train("revmlp_d8.onnx", "--memory", "auto", "--memory-budget", ((recompute + reversible) / 2).ToString());
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        Assert.That((string)r.Json["memory_strategy"]!, Is.EqualTo("reversible"));
        Assert.That((bool)r.Json["memory_fits"]!, Is.True);
        Assert.That(r.Json["reconstruction_error"], Is.Not.Null, "reversible, chosen by auto, reports its reconstruction too");
    }

    [TestCase("12X")]
    [TestCase("-5")]
    public void BadBudgetExits2(string budget)
    {
        var r = Train("resmlp_d8.onnx", "--memory", "auto", "--memory-budget", budget);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.Stderr);
    }

    [Test]
    public void BudgetWithoutAutoExits2()
    {
        var r = Train("resmlp_d8.onnx", "--memory", "recompute", "--memory-budget", "1G");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Stderr, Does.Contain("--memory auto"));
    }

    [Test]
    public void ReversibleReconstructionOfRevmlpD8IsWithin1e5OfTheActivationsScale()
    {
        var r = Train("revmlp_d8.onnx", "--memory", "reversible");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var blocks = r.Json["reconstruction_errors"]!.AsArray();
        Assert.That(blocks, Has.Count.EqualTo(8));
        double worst = (double)r.Json["reconstruction_error"]!, relative = (double)r.Json["reconstruction_relative_error"]!;
        TestContext.Out.WriteLine($"revmlp_d8 reconstruction: max abs {worst:G3}, max relative {relative:G3}");
        Assert.That(relative, Is.LessThanOrEqualTo(1e-5));
        foreach (var b in blocks)
            Assert.That((double)b!["max_abs_error"]!, Is.LessThanOrEqualTo(1e-5 * (double)b["scale"]!));
        Assert.That(r.Stderr, Does.Contain("block 7: max |rebuilt - forward|"));
    }
}

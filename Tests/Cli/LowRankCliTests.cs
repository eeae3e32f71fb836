using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>`onnxrev optimize --passes low-rank`: equivalence at full rank, the report in JSON, and bad options (exit 2, nothing written).</summary>
public class LowRankCliTests
{
    private static string Fixture(string name) => Path.Combine(RepoPaths.Fixtures, name + ".onnx");

    [Test]
    public void FullRankPassesCheckEquivalenceAndFoldRestoresTheGraph()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string factored = Path.Combine(dir, "f.onnx"), folded = Path.Combine(dir, "g.onnx");
            var r = CliRunner.Run("optimize", Fixture("resmlp_d8"), "-o", factored, "--passes", "low-rank", "--rank", "1000", "--factor-all", "--check-equivalence", "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            Assert.That(r.Json["equivalent"]!.GetValue<bool>(), Is.True);
            Assert.That(r.Json["low_rank"]!["factored"]!.GetValue<int>(), Is.EqualTo(17));
            var f = CliRunner.Run("optimize", factored, "-o", folded, "--passes", "low-rank-fold", "--check-equivalence", "--json");
            Assert.That(f.ExitCode, Is.EqualTo(0), f.Stderr);
            Assert.That(f.Json["nodes"]!.GetValue<int>(), Is.EqualTo(112));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void TargetParametersReportsTheReduction()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            var r = CliRunner.Run("optimize", Fixture("bert_tiny"), "-o", Path.Combine(dir, "b.onnx"), "--passes", "low-rank", "--target-parameters", "0.75", "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            Assert.That(r.Json["low_rank"]!["reduction"]!.GetValue<double>(), Is.GreaterThanOrEqualTo(1 / 0.75));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestCase("--energy", "1.5")]
    [TestCase("--energy", "0")]
    [TestCase("--rank", "0")]
    [TestCase("--target-parameters", "1.2")]
    [TestCase("--target-parameters", "1")]
    [TestCase("--target-parameters", "0.01")]
    [TestCase("--factor-ops", "lstm")]
    [TestCase("--error-budget", "0.1")]
    [TestCase("--sensitivity", null)]
    [TestCase("--calibration", "/nonexistent/calibration")]
    [TestCase("--refit", "all")]
    [TestCase("--embedding-floor", "0.5")]
    [TestCase("--refit-ridge", "0.1")]
    [TestCase("--layernorm-aware", null)]
    public void BadOptionsExitTwoAndWriteNothing(string option, string? value)
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string output = Path.Combine(dir, "o.onnx");
            var args = new List<string> { "optimize", Fixture("resmlp_d8"), "-o", output, "--passes", "low-rank", option };
            if (value is not null) args.Add(value);
            var r = CliRunner.Run(args.ToArray());
            Assert.That(r.ExitCode, Is.EqualTo(2), r.Stderr);
            Assert.That(r.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1), "one line");
            Assert.That(File.Exists(output), Is.False);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void UnknownRefitScopeExitsTwo()
    {
        var r = CliRunner.Run("optimize", Fixture("resmlp_d8"), "-o", "/tmp/never.onnx", "--passes", "low-rank", "--rank", "4",
            "--calibration", Path.Combine(RepoPaths.Fixtures, "resmlp_d8_data"), "--refit", "some");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.Stderr);
        Assert.That(r.Stderr, Does.Contain("'--refit' must be 'factored' or 'all'"));
        Assert.That(File.Exists("/tmp/never.onnx"), Is.False);
    }

    [Test]
    public void TwoRankRulesAtOnceExitTwo()
    {
        var r = CliRunner.Run("optimize", Fixture("lstm"), "-o", "/tmp/never.onnx", "--passes", "low-rank", "--rank", "4", "--energy", "0.9");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Stderr, Does.Contain("--energy").And.Contain("--rank"));
    }
}

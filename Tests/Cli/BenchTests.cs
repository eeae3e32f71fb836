using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>`onnxrev bench` on real models: the contract's JSON fields, ordered percentiles, side-by-side comparison, bad options.</summary>
public class BenchTests
{
    private static string Fixture(string name) => Path.Combine(RepoPaths.Fixtures, name + ".onnx");

    [Test]
    public void ReportsPercentilesThroughputAndPeakMemory()
    {
        var r = CliRunner.Run("bench", Fixture("squeezenet1_1"), "--threads", "2", "--iterations", "12", "--warmup", "2", "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var j = r.Json;
        double p50 = (double)j["p50_ms"]!, p90 = (double)j["p90_ms"]!, p99 = (double)j["p99_ms"]!;
        Assert.That(p50, Is.GreaterThan(0));
        Assert.That(p90, Is.GreaterThanOrEqualTo(p50));
        Assert.That(p99, Is.GreaterThanOrEqualTo(p90));
        Assert.That((double)j["throughput"]!, Is.EqualTo(1000 / (double)j["mean_ms"]!).Within(1).Percent, "batch 1: throughput = 1 / mean");
        Assert.That((long)j["peak_bytes"]!, Is.GreaterThan(4_900_000), "the process holds at least squeezenet's 4.9 MB of weights");
        Assert.That((long)j["arena_peak_bytes"]!, Is.GreaterThan(0));
    }

    [Test]
    public void CompareTimesBothModelsOnTheSameInputs()
    {
        string minilm = PackageModels.MiniLm;
        var r = CliRunner.Run("bench", minilm, "--compare", minilm, "--batch", "2", "--dim", "sequence=16", "--threads", "2", "--iterations", "10", "--warmup", "1", "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        Assert.That((double)r.Json["compare"]!["p50_ms"]!, Is.GreaterThan(0));
        Assert.That((double)r.Json["speedup_p50"]!, Is.GreaterThan(0.2).And.LessThan(5), "the same model against itself");
        Assert.That((int)r.Json["batch"]!, Is.EqualTo(2));
    }

    [TestCase("--dim", "sequence", "option '--dim' wants NAME=SIZE")]
    [TestCase("--dim", "nosuchdim=4", "no input of 'model.onnx' has a dimension named 'nosuchdim'")]
    [TestCase("--iterations", "0", "option '--iterations' must be an integer ≥ 1")]
    [TestCase("--compare", "/no/such/model.onnx", "does not exist")]
    public void BadOptionsExit2(string option, string value, string expected)
    {
        var r = CliRunner.Run("bench", PackageModels.MiniLm, option, value);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.Stderr);
        Assert.That(r.Stderr, Does.Contain(expected));
    }
}

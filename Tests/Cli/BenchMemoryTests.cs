using System.Text.Json.Nodes;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>
/// `onnxrev bench-memory` at small sizes: every strategy × depth is measured in a child process and reported with
/// sensible numbers; --plot writes a real PNG/SVG; bad options exit 2 with one line and write nothing.
/// </summary>
public class BenchMemoryTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Small = { "--depths", "2,4", "--width", "32", "--batch", "64", "--steps", "3", "--warmup", "1", "--json" };

    private static JsonArray Results(CliResult r, int count)
    {
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var results = r.Json["results"]!.AsArray();
        Assert.That(results, Has.Count.EqualTo(count), r.Stdout);
        return results;
    }

    private static void AssertSensible(JsonNode result, string strategy, int depth)
    {
        Assert.That((string?)result["strategy"], Is.EqualTo(strategy));
        Assert.That((int)result["depth"]!, Is.EqualTo(depth));
        Assert.That(result["error"], Is.Null, result.ToJsonString());
        long peak = (long)result["peak_bytes"]!, state = (long)result["state_bytes"]!;
        long parameters = (long)result["parameters"]!;
        Assert.That(state, Is.GreaterThan(0));
        Assert.That(state, Is.EqualTo(4 * parameters * 4), "AdamW: weight, gradient, m, v at 4 bytes each");
        Assert.That(peak, Is.GreaterThan(state), "the process holds at least the parameters, gradients and optimizer state");
        Assert.That((double)result["step_seconds"]!, Is.GreaterThan(0));
        if (result["arena_max_in_use_bytes"] is { } arena) Assert.That((long)arena, Is.GreaterThan(0));
    }

    [Test]
    public void Store_ReportsEachDepth_AndPlotsPng()
    {
        string plot = Path.Combine(_dir, "memory.png");
        var r = CliRunner.Run(new[] { "bench-memory", "--family", "resmlp", "--strategy", "store", "--plot", plot }.Concat(Small).ToArray());
        var results = Results(r, 2);
        AssertSensible(results[0]!, "store", 2);
        AssertSensible(results[1]!, "store", 4);
        Assert.That((long)results[1]!["parameters"]!, Is.GreaterThan((long)results[0]!["parameters"]!), "deeper has more parameters");
        Assert.That((string?)results[0]!["model"], Is.EqualTo("resmlp_d2_w32"));
        Assert.That(r.Stderr, Does.Contain("[1/2]").And.Contain("[2/2]"), "progress lines on stderr");

        var bytes = File.ReadAllBytes(plot);
        Assert.That(bytes.Length, Is.GreaterThan(1000));
        Assert.That(bytes[..8], Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1), "no temporary file left beside the plot");
    }

    // These measure the strategies the training-graph builder implements on its own branch; until it lands there,
    // recompute is built as store (or refused) and reversible has no backward of its own.
    [TestCase("recompute")]
    [TestCase("reversible")]
    public void OtherStrategies_ReportEachDepth(string strategy)
    {
        var r = CliRunner.Run(new[] { "bench-memory", "--family", "resmlp", "--strategy", strategy }.Concat(Small).ToArray());
        var results = Results(r, 2);
        AssertSensible(results[0]!, strategy, 2);
        AssertSensible(results[1]!, strategy, 4);
        if (strategy == "reversible")
            Assert.That((string?)results[0]!["model"], Is.EqualTo("revmlp_d2_w32"), "reversible on resmlp measures the coupling model of the same width and depth");
    }

    [Test]
    public void RevMlpFamily_AllStrategies_AndSvgPlot()
    {
        string plot = Path.Combine(_dir, "memory.svg");
        var r = CliRunner.Run(new[] { "bench-memory", "--family", "revmlp", "--strategy", "store,recompute,reversible", "--plot", plot }.Concat(Small).ToArray());
        var results = Results(r, 6);
        int k = 0;
        foreach (var strategy in new[] { "store", "recompute", "reversible" })
            foreach (int depth in new[] { 2, 4 })
            {
                AssertSensible(results[k]!, strategy, depth);
                Assert.That((string?)results[k]!["model"], Is.EqualTo($"revmlp_d{depth}_w32"));
                k++;
            }
        string svg = File.ReadAllText(plot);
        Assert.That(svg, Does.Contain("<svg").And.Contain("reversible"));
    }

    [Test]
    public void VitFamily_AllStrategies_ReversibleOnTheCouplingVit()
    {
        var r = CliRunner.Run(new[] { "bench-memory", "--family", "vit", "--strategy", "store,recompute,reversible", "--heads", "4" }.Concat(Small).ToArray());
        var results = Results(r, 6);
        int k = 0;
        foreach (var strategy in new[] { "store", "recompute", "reversible" })
            foreach (int depth in new[] { 2, 4 })
            {
                AssertSensible(results[k]!, strategy, depth);
                string expected = strategy == "reversible" ? $"vit_coupling_d{depth}_w32_h4" : $"vit_d{depth}_w32_h4";
                Assert.That((string?)results[k]!["model"], Is.EqualTo(expected));
                k++;
            }
        Assert.That((int)r.Json["inputs"]!, Is.EqualTo(784));
        Assert.That((int)r.Json["heads"]!, Is.EqualTo(4));
    }

    [Test]
    public void HelpDescribesTheCommand_AndHidesTheInternalOption()
    {
        var r = CliRunner.Run("bench-memory", "--help");
        Assert.That(r.ExitCode, Is.EqualTo(0));
        Assert.That(r.Stdout, Does.Contain("--family").And.Contain("--depths").And.Contain("--plot").And.Contain("RevMLP"));
        Assert.That(r.Stdout, Does.Not.Contain("--one"));
        Assert.That(CliRunner.Run("--help").Stdout, Does.Contain("bench-memory"));
    }

    [TestCase("no family", "--depths", "2", "|--family")]
    [TestCase("unknown family", "--family", "cnn", "--depths", "2", "|--family")]
    [TestCase("vit width not a multiple of heads", "--family", "vit", "--depths", "2", "--width", "30", "--heads", "4", "|--heads")]
    [TestCase("no depths", "--family", "resmlp", "|--depths")]
    [TestCase("zero depth", "--family", "resmlp", "--depths", "0,4", "|--depths")]
    [TestCase("word depth", "--family", "resmlp", "--depths", "8,deep", "|--depths")]
    [TestCase("repeated depth", "--family", "resmlp", "--depths", "8,8", "|--depths")]
    [TestCase("bad width", "--family", "resmlp", "--depths", "2", "--width", "0", "|--width")]
    [TestCase("odd width, revmlp", "--family", "revmlp", "--depths", "2", "--width", "33", "|--width")]
    [TestCase("odd width, reversible", "--family", "resmlp", "--depths", "2", "--width", "33", "--strategy", "store,reversible", "|--width")]
    [TestCase("bad batch", "--family", "resmlp", "--depths", "2", "--batch", "-1", "|--batch")]
    [TestCase("unknown strategy", "--family", "resmlp", "--depths", "2", "--strategy", "store,checkpoint", "|--strategy")]
    [TestCase("bad device", "--family", "resmlp", "--depths", "2", "--device", "tpu", "|--device")]
    [TestCase("bad steps", "--family", "resmlp", "--depths", "2", "--steps", "0", "|--steps")]
    [TestCase("plot extension", "--family", "resmlp", "--depths", "2", "--plot", "PLOTDIR/memory.jpg", "|--plot")]
    [TestCase("plot folder", "--family", "resmlp", "--depths", "2", "--plot", "PLOTDIR/missing/memory.png", "|does not exist")]
    [TestCase("positional", "model.onnx", "--family", "resmlp", "--depths", "2", "|positional")]
    public void BadOptions_ExitTwo_WithOneLine_AndNoPlot(string why, params string[] argsAndExpected)
    {
        string expected = argsAndExpected[^1][1..];
        var argv = new[] { "bench-memory" }.Concat(argsAndExpected[..^1].Select(a => a.Replace("PLOTDIR", _dir))).ToArray();
        var r = CliRunner.Run(argv);
        Assert.That(r.ExitCode, Is.EqualTo(2), $"{why}: {r.Stderr}");
        string err = r.Stderr.Trim();
        Assert.That(err.Split('\n'), Has.Length.EqualTo(1), $"{why}: one line on stderr, got: {err}");
        Assert.That(err, Does.StartWith("onnxrev: ").And.Contain(expected), why);
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.Empty, $"{why}: nothing written");
    }
}

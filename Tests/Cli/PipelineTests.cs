using System.Text.Json.Nodes;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>`onnxrev pipeline` end to end on real models and data: goals, the report, exit codes.</summary>
public class PipelineTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Recipe(string json)
    {
        string p = Path.Combine(_dir, "recipe.json");
        File.WriteAllText(p, json);
        return p;
    }

    /// <summary>
    /// The built-in finetune-lowmem recipe with its training-peak goal raised: that goal judges the process's peak resident
    /// set, and this test process (the test host with every model other tests loaded) is far bigger than `onnxrev` alone.
    /// </summary>
    [Test]
    public void FinetuneLowmemMeetsItsGoalsOnMnistAndWritesTheReport()
    {
        string json = OnnxRev.Runtime.Recipes.Recipe.Load("finetune-lowmem").Json.Replace("\"training_peak_bytes\": 268435456", "\"training_peak_bytes\": 8589934592");
        Assert.That(json, Does.Contain("8589934592"));
        string recipe = Recipe(json);
        string output = Path.Combine(_dir, "lenet.onnx"), report = Path.Combine(_dir, "report");
        var r = CliRunner.Run("pipeline", TrainedModels.LeNetMnist, "--recipe", recipe, "--data", TrainedModels.MnistFolder,
            "--validation-split", "0.2", "--threads", "2", "--iterations", "10", "-o", output, "--report", report, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var j = r.Json;
        Assert.That((bool)j["goals_met"]!, Is.True);
        var steps = j["steps"]!.AsArray();
        Assert.That(steps.Select(s => (string)s!["name"]!), Is.EqualTo(new[] { "original", "cleanup", "fine-tune (memory auto)" }));
        foreach (var s in steps)
        {
            Assert.That((double)s!["accuracy"]!, Is.GreaterThan(0.9), "a trained LeNet classifies held-out MNIST");
            Assert.That((long)s["bytes"]!, Is.GreaterThan(1_000_000));
            Assert.That((double)s["latency_ms"]!, Is.GreaterThan(0));
        }
        Assert.That((double)steps[0]!["accuracy"]!, Is.EqualTo(0.9).Within(0.06), "the held-out part is the one train held out");
        Assert.That(File.Exists(output));
        foreach (var f in new[] { "report.md", "report.html", "size.png", "latency.png", "accuracy.png", "loss.png" })
            Assert.That(File.Exists(Path.Combine(report, f)), f);
        string md = File.ReadAllText(Path.Combine(report, "report.md"));
        Assert.That(md, Does.Contain("## Goals: all met").And.Contain("training_peak_bytes ≤ 8,589,934,592 bytes"));
        Assert.That((double)j["goals"]!.AsArray().Single(g => (string)g!["goal"]! == "training_peak_bytes")!["actual"]!, Is.GreaterThan(10_000_000), "the peak was measured");
        Assert.That(File.ReadAllText(Path.Combine(report, "report.html")), Does.Contain("<table>").And.Contain("<img src=\"loss.png\""));
        Assert.That(Directory.GetDirectories(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "report" }), "the work folder is removed");
    }

    /// <summary>The quantize step's token_scaled option: row-scaled activations in the written model; refused for static mode.</summary>
    [Test]
    public void QuantizeStepTokenScaled()
    {
        string zoo = Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx");
        string output = Path.Combine(_dir, "out.onnx");
        string recipe = Recipe("""{"name": "ts", "steps": [{"step": "quantize", "mode": "dynamic", "token_scaled": true, "embeddings": false}]}""");
        var r = CliRunner.Run("pipeline", zoo, "--recipe", recipe, "--iterations", "2", "-o", output, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var model = OnnxRev.Serialization.ModelReader.Load(output);
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "ReduceMax"), Is.EqualTo(3));
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "DynamicQuantizeLinear"), Is.EqualTo(3));
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "ReduceMin"), Is.EqualTo(0), "row-scaled, not centred");
        string badOut = Path.Combine(_dir, "bad.onnx");
        var bad = CliRunner.Run("pipeline", zoo, "--recipe", Recipe("""{"steps": [{"step": "quantize", "mode": "static", "token_scaled": true}]}"""), "-o", badOut);
        Assert.That(bad.ExitCode, Is.EqualTo(2), bad.Stderr);
        Assert.That(bad.Stderr, Does.Contain("token_scaled"));
        Assert.That(File.Exists(badOut), Is.False);
    }

    [Test]
    public void AMissedGoalExits1NamingItAndByHowMuch()
    {
        string recipe = Recipe("""{"name": "too-ambitious", "goals": {"size_ratio": 2, "min_cosine": 0.999}, "steps": [{"step": "passes", "passes": ["cleanup"]}]}""");
        string output = Path.Combine(_dir, "out.onnx");
        var r = CliRunner.Run("pipeline", Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"), "--recipe", recipe, "--data", RepoPaths.DigitsCsv, "--scale", "0.0625",
            "--iterations", "5", "-o", output, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(1), r.Stderr);
        Assert.That(r.Stderr, Does.Contain("goal missed: size_ratio ≥ 2× missed by"));
        string missed = r.Stderr.Split('\n').Single(l => l.Contains("goal missed"));
        Assert.That(missed, Does.Not.Contain("min_cosine"), "cleanup keeps the function: that goal is met");
        var goals = r.Json["goals"]!.AsArray();
        Assert.That(goals.Single(g => (string)g!["goal"]! == "size_ratio")!["met"]!.GetValue<bool>(), Is.False);
        Assert.That((double)goals.Single(g => (string)g!["goal"]! == "min_cosine")!["actual"]!, Is.GreaterThan(0.99999));
        Assert.That(File.Exists(output), "the model is still written so the user can look at it");
    }

    [Test]
    public void SearchKeepsTheSmallestCandidateMeetingTheQualityGoalAndMarksTheParetoFront()
    {
        // MEFT coupling at two λ: a larger λ moves the function further from the pretrained one (output difference O(λ)).
        string recipe = Recipe("""
            {"goals": {"min_cosine": 0.9},
             "steps": [{"step": "search", "passes": ["coupling"], "coupling-variant": "meft", "option": "coupling-lambda", "values": [0.001, 0.9]}]}
            """);
        string report = Path.Combine(_dir, "rep");
        var r = CliRunner.Run("pipeline", Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"), "--recipe", recipe, "--data", RepoPaths.DigitsCsv, "--scale", "0.0625",
            "--iterations", "5", "-o", Path.Combine(_dir, "out.onnx"), "--report", report, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var cands = r.Json["steps"]![1]!["details"]!["candidates"]!.AsArray();
        Assert.That(cands, Has.Count.EqualTo(2));
        double small = (double)cands[0]!["min_cosine"]!, large = (double)cands[1]!["min_cosine"]!;
        Assert.That(small, Is.GreaterThan(large), "the smaller λ stays closer to the original");
        Assert.That(cands.Count(c => (bool)c!["chosen"]!), Is.EqualTo(1));
        Assert.That(cands.Where(c => (bool)c!["chosen"]!).Select(c => (double)c!["min_cosine"]!).Single(), Is.GreaterThanOrEqualTo(0.9));
        Assert.That(cands.Any(c => (bool)c!["pareto"]!));
        Assert.That(File.Exists(Path.Combine(report, "pareto-1.png")));
    }

    [TestCase("""{"steps": [{"step": "teleport"}]}""", "unknown recipe step 'teleport'")]
    [TestCase("""{"steps": [{"step": "package"}, {"step": "evaluate"}]}""", "the package step must come last")]
    [TestCase("""{"steps": [{"step": "passes", "passes": ["cleanup"], "coupling-rank": 4}]}""", "option 'coupling-rank' belongs to none of the passes cleanup")]
    [TestCase("""{"steps": [{"step": "fine-tune"}]}""", "fine-tuning needs labelled training data")]
    public void BadRecipesExit2AndWriteNothing(string json, string expected)
    {
        string output = Path.Combine(_dir, "out.onnx"), report = Path.Combine(_dir, "rep");
        var r = CliRunner.Run("pipeline", Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"), "--recipe", Recipe(json), "--iterations", "3", "-o", output, "--report", report);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.Stderr);
        Assert.That(r.Stderr, Does.Contain(expected));
        Assert.That(File.Exists(output), Is.False);
        Assert.That(Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "recipe.json" }), "no output, report or work folder left");
    }

    [Test]
    public void ShowRecipePrintsTheBuiltInJson()
    {
        var r = CliRunner.Run("pipeline", "--show-recipe", "finetune-lowmem");
        Assert.That(r.ExitCode, Is.EqualTo(0));
        Assert.That(JsonNode.Parse(r.Stdout)!["name"]!.ToString(), Is.EqualTo("finetune-lowmem"));
    }
}

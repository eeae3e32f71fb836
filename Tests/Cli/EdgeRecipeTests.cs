using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>The built-in edge recipes on real trained models and real data meet their default goals (issue acceptance).</summary>
public class EdgeRecipeTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase("edge-int8", 3.5)]
    [TestCase("edge-int4", 5.0)]
    public void EdgeRecipeOnMnistLeNetMeetsItsGoals(string recipe, double minRatio)
    {
        string output = Path.Combine(_dir, "lenet.onnx"), report = Path.Combine(_dir, "report");
        var r = CliRunner.Run("pipeline", TrainedModels.LeNetMnist, "--recipe", recipe, "--data", TrainedModels.MnistFolder,
            "--validation-split", "0.2", "--threads", "2", "--iterations", "10", "-o", output, "--report", report, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        Assert.That((bool)r.Json["goals_met"]!, Is.True);
        var goals = r.Json["goals"]!.AsArray();
        Assert.That(goals.All(g => (bool)g!["applies"]!), "labelled data: every goal is measured");
        Assert.That((double)goals.Single(g => (string)g!["goal"]! == "size_ratio")!["actual"]!, Is.GreaterThanOrEqualTo(minRatio));
        Assert.That(File.Exists(Path.ChangeExtension(output, ".ort")), "the ORT-format package is written beside the model");
        Assert.That(File.ReadAllText(Path.Combine(report, "report.md")), Does.Contain("## Goals: all met"));
    }

    /// <summary>all-MiniLM-L6-v2 on the 256 real sentences: per-token dynamic INT8 with int8 embeddings; accuracy does not apply (no labels) and says so.</summary>
    [Test]
    public void EdgeInt8OnMiniLmMeetsItsGoals()
    {
        string output = Path.Combine(_dir, "minilm.onnx");
        var r = CliRunner.Run("pipeline", PackageModels.MiniLm, "--recipe", "edge-int8", "--data", RepoPaths.Sentences, "--vocab", PackageModels.MiniLmVocab,
            "--threads", "2", "--dim", "sequence=32", "--iterations", "5", "-o", output, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        Assert.That((bool)r.Json["goals_met"]!, Is.True);
        var goals = r.Json["goals"]!.AsArray();
        var accuracy = goals.Single(g => (string)g!["goal"]! == "accuracy_drop")!;
        Assert.That((bool)accuracy["applies"]!, Is.False);
        Assert.That((string)accuracy["note"]!, Does.Contain("no labels"));
        Assert.That((double)goals.Single(g => (string)g!["goal"]! == "min_cosine")!["actual"]!, Is.GreaterThanOrEqualTo(0.99));
        Assert.That((double)goals.Single(g => (string)g!["goal"]! == "size_ratio")!["actual"]!, Is.GreaterThanOrEqualTo(3.5));
    }
}

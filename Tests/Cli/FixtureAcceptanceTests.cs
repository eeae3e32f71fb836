using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>
/// The foundation's acceptance on PyTorch-exported models: `optimize --passes cleanup --check-equivalence`
/// succeeds, and `run --compare` reproduces PyTorch's outputs at rtol 1e-4, atol 1e-5. The untouched
/// model written back through the IR gives bit-identical ORT outputs.
/// </summary>
public class FixtureAcceptanceTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static IEnumerable<string> Fixtures() => RepoPaths.FixtureModels;

    [TestCaseSource(nameof(Fixtures))]
    public void CleanupIsEquivalentAndReproducesPyTorch(string name)
    {
        string model = Path.Combine(RepoPaths.Fixtures, name + ".onnx");
        string data = Path.Combine(RepoPaths.Fixtures, name + "_data");
        string output = Path.Combine(_dir, name + ".onnx");
        var opt = CliRunner.Run("optimize", model, "-o", output, "--passes", "cleanup", "--check-equivalence", "--json");
        Assert.That(opt.ExitCode, Is.EqualTo(0), opt.Stderr);
        Assert.That((bool)opt.Json["equivalent"]!, Is.True);
        Assert.That((int)opt.Json["nodes"]!, Is.LessThan((int)opt.Json["nodes_before"]!), "cleanup removed nothing from a raw export");
        Assert.That(opt.Json["passes"]!.AsArray()[0]!["name"]!.GetValue<string>(), Is.EqualTo("cleanup"));

        foreach (var m in new[] { model, output })
        {
            var run = CliRunner.Run("run", m, "--inputs", data, "--compare", data, "--rtol", "1e-4", "--atol", "1e-5", "--json");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout + run.Stderr);
            Assert.That((bool)run.Json["ok"]!, Is.True);
        }
    }

    [TestCaseSource(nameof(Fixtures))]
    public void UntouchedRoundTripIsBitIdenticalInOrt(string name)
    {
        string model = Path.Combine(RepoPaths.Fixtures, name + ".onnx");
        var written = ModelWriter.ToBytes(ModelReader.Load(model));
        var options = new RunnerOptions { OptimizationLevel = OptimizationLevel.None };
        using var original = new OrtRunner(model, options);
        using var roundTripped = new OrtRunner(written, options, name);
        var inputs = TestDataFolder.Read(Path.Combine(RepoPaths.Fixtures, name + "_data"), original).Inputs;
        Assert.That(OutputComparison.BitIdentical(original.Run(inputs), roundTripped.Run(inputs)), Is.True);
    }
}

using OnnxRev.Runtime;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>`onnxrev package`: an ORT-format file ONNX Runtime loads and that reproduces the original, and the operator list of a reduced build.</summary>
public class PackageTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase("mobilenet_v3_small")]
    [TestCase("bert_tiny")]
    public void WritesAnOrtPackageThatReproducesTheModel(string fixture)
    {
        string model = Path.Combine(RepoPaths.Fixtures, fixture + ".onnx");
        string ort = Path.Combine(_dir, fixture + ".ort"), config = Path.Combine(_dir, "required_operators.config");
        var r = CliRunner.Run("package", model, "-o", ort, "--ops-config", config, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        Assert.That((bool)r.Json["equivalent"]!, Is.True);
        Assert.That((long)r.Json["bytes"]!, Is.EqualTo(new FileInfo(ort).Length));
        Assert.That(File.ReadAllBytes(ort)[4..8], Is.EqualTo("ORTM"u8.ToArray()), "flatbuffer file identifier of the ORT format");

        // ONNX Runtime runs the package itself, with the reference data PyTorch wrote.
        using var runner = new OrtRunner(ort, new RunnerOptions { OptimizationLevel = OptimizationLevel.None });
        var data = TestDataFolder.Read(Path.Combine(RepoPaths.Fixtures, fixture + "_data"), runner);
        var cmp = OutputComparison.Compare(runner.Run(data.Inputs), data.Outputs, rtol: 1e-4, atol: 1e-5);
        Assert.That(cmp.Ok, Is.True, cmp.Reason);

        var lines = File.ReadAllLines(config).Where(l => !l.StartsWith('#')).ToList();
        Assert.That(lines, Has.Some.StartsWith("ai.onnx;17;"));
        var ops = (System.Text.Json.Nodes.JsonObject)r.Json["operators"]!;
        Assert.That(lines, Has.Count.EqualTo(ops.Count), "one line per domain");
        var declared = lines.SelectMany(l => l.Split(';')[2].Split(',')).ToHashSet();
        Assert.That(declared, Does.Contain(fixture == "bert_tiny" ? "MatMul" : "Conv").Or.Contain("FusedConv").Or.Contain("FusedMatMul"));
    }

    [Test]
    public void RefusesANonOrtNameAndWritesNothingForABadModel()
    {
        string model = Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx");
        var r = CliRunner.Run("package", model, "-o", Path.Combine(_dir, "x.onnx"));
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Stderr, Does.Contain("must end in .ort"));

        string bad = Path.Combine(_dir, "bad.onnx");
        File.WriteAllBytes(bad, new byte[] { 1, 2, 3, 4, 5 });
        r = CliRunner.Run("package", bad, "-o", Path.Combine(_dir, "x.ort"));
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { bad }), "no package, no temporary file");
    }
}

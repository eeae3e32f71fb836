using OnnxRev.Passes;
using OnnxRev.Passes.Compression.Coding;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>
/// Every compression pass on every PyTorch fixture either leaves it unchanged or yields a model ONNX Runtime runs (same
/// output names and shapes); block-diagonal at its function-preserving default passes `optimize --check-equivalence`;
/// the clustered fixture packs and unpacks byte for byte.
/// </summary>
public class CompressionFixtureTests
{
    private static IEnumerable<string> Fixtures() => RepoPaths.FixtureModels;

    private static readonly (string Pass, Dictionary<string, string?> Options)[] Passes =
    {
        ("prune-magnitude", new() { ["sparsity"] = "0.5" }),
        ("prune-magnitude", new() { ["sparsity"] = "0.7", ["prune-scope"] = "layer" }),
        ("prune-nm", new()),
        ("prune-channels", new() { ["channel-ratio"] = "0.25" }),
        ("block-diagonal", new() { ["block-alpha"] = "0.05" }),
        ("cluster", new() { ["cluster-bits"] = "4" }),
    };

    [TestCaseSource(nameof(Fixtures))]
    public void EveryPass_LeavesTheModelOrYieldsOneOrtRuns(string name)
    {
        StandardPasses.Register();
        string path = Path.Combine(RepoPaths.Fixtures, name + ".onnx");
        var options = new RunnerOptions { OptimizationLevel = OptimizationLevel.None };
        using var original = new OrtRunner(path, options);
        var inputs = TestDataFolder.Read(Path.Combine(RepoPaths.Fixtures, name + "_data"), original).Inputs;
        var expected = original.Run(inputs);
        foreach (var (pass, opts) in Passes)
        {
            var model = ModelReader.Load(path);
            var result = PassRegistry.Create(pass, new PassOptions(opts)).Run(model);
            TestContext.Progress.WriteLine($"{name}: {pass} {string.Join(" ", opts.Select(kv => $"--{kv.Key} {kv.Value}"))}: {(result.Modified ? "modified" : "unchanged")}");
            if (!result.Modified) continue;
            var bytes = ModelWriter.ToBytes(result.Model);
            using var rewritten = new OrtRunner(bytes, options, $"{name} after {pass}");
            var actual = rewritten.Run(inputs);
            Assert.That(actual.Keys, Is.EqualTo(expected.Keys), $"{pass}: outputs");
            foreach (var k in expected.Keys)
                Assert.That(actual[k].AsTensor().Dims, Is.EqualTo(expected[k].AsTensor().Dims), $"{pass}: shape of {k}");
            if (pass == "cluster") Assert.That(OnnxRevPackage.Unpack(OnnxRevPackage.Pack(bytes, 4).Bytes), Is.EqualTo(bytes), "package round trip");
        }
    }

    [TestCaseSource(nameof(Fixtures))]
    public void BlockDiagonal_AtItsDefault_IsEquivalent(string name)
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            var r = CliRunner.Run("optimize", Path.Combine(RepoPaths.Fixtures, name + ".onnx"), "-o", Path.Combine(dir, "out.onnx"), "--passes", "block-diagonal", "--check-equivalence", "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            Assert.That((bool)r.Json["equivalent"]!, Is.True);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

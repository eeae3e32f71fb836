using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>
/// Reversible gradients (inputs rebuilt from outputs block by block, in float32) against store-all
/// gradients on the same weights and batch. The rebuild error grows with depth; the bounds,
/// on max|reversible − store| / max|store| per parameter: 1e-5 at depth 8, 1e-4 at 32, 1e-3 at 128.
/// Recompute must match store-all to float rounding.
/// </summary>
public class ReversibleGradientTests
{
    [TestCase(8, 1e-5)]
    [TestCase(32, 1e-4)]
    [TestCase(128, 1e-3)]
    public void ReversibleMatchesStoreAll(int depth, double bound) =>
        Compare(ModelZoo.RevMlp(depth, 32, seed: depth), MemoryMode.Reversible, bound, $"RevMLP depth {depth}");

    [Test]
    public void RecomputeMatchesStoreAll() => Compare(ModelZoo.ResidualMlp(16, 32, seed: 2), MemoryMode.Recompute, 1e-5, "resmlp depth 16");

    private static void Compare(OnnxRev.Ir.Model model, MemoryMode mode, double bound, string what)
    {
        var rng = new Random(11);
        var x = GradCheck.Make("x", 1, new long[] { 16, 64 }, Enumerable.Range(0, 16 * 64).Select(_ => rng.NextDouble() * 2 - 1).ToArray());
        var y = GradCheck.Make("labels", 7, new long[] { 16 }, Enumerable.Range(0, 16).Select(_ => (double)rng.Next(10)).ToArray());
        var store = Run(model, MemoryMode.Store, x, y);
        var other = Run(model, mode, x, y);
        double worst = 0;
        foreach (var (name, s) in store)
        {
            var a = GradCheck.ToDoubles(other[name]);
            var e = GradCheck.ToDoubles(s);
            double scale = Math.Max(e.Max(Math.Abs), 1e-30);
            double err = a.Zip(e, (p, q) => Math.Abs(p - q)).Max() / scale;
            worst = Math.Max(worst, err);
        }
        TestContext.Out.WriteLine($"{what} {mode}: worst scale-relative difference to store-all {worst:G3} (bound {bound:G1})");
        Assert.That(worst, Is.LessThanOrEqualTo(bound));
    }

    private static Dictionary<string, OnnxRev.Schema.TensorProto> Run(OnnxRev.Ir.Model model, MemoryMode mode, OnnxRev.Schema.TensorProto x, OnnxRev.Schema.TensorProto y)
    {
        var (grad, names, labels) = TrainingGraphBuilder.BuildGradient(model, new LossOptions(LossKind.CrossEntropy), TrainableSpec.All, memory: mode);
        using var runner = new OrtRunner(ModelWriter.ToBytes(grad), new RunnerOptions { IntraOpThreads = 1 });
        var outputs = runner.Run(new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(x), [labels!] = DataValue.Tensor(y) });
        return names.ToDictionary(n => n.Parameter, n => outputs[n.Output].AsTensor());
    }
}

using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Passes.Reversible;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>
/// <see cref="ModelZoo.VitTiny"/>: runs in ONNX Runtime with a dynamic batch; its 2·depth residual sub-blocks are found
/// and the coupling pass (pairs) turns them into depth coupling blocks; recompute (on the ViT) and reversible (on the
/// converted ViT) give store-all's gradients.
/// </summary>
public class VitTinyTests
{
    private static TensorProto Images(int rows, int seed = 11)
    {
        var rng = new Random(seed);
        return GradCheck.Make("x", 1, new long[] { rows, 1, 28, 28 }, Enumerable.Range(0, rows * 784).Select(_ => rng.NextDouble()).ToArray());
    }

    private static Model Convert(Model m, out CouplingConversion pass)
    {
        var copy = TrainingGraphBuilder.Clone(m);
        pass = new CouplingConversion();
        Assert.That(pass.Run(copy).Modified, Is.True);
        return ModelReader.FromProto(ModelWriter.ToProto(copy), null, "converted");
    }

    [TestCase(3)]
    [TestCase(7)]
    public void RunsInOrt_WithAnyBatch(int rows)
    {
        var model = ModelZoo.VitTiny(depth: 2, width: 32, heads: 4, seed: 1);
        using var runner = new OrtRunner(ModelWriter.ToBytes(model), OrtCheck.NoOpt, "vit");
        var logits = runner.Run(new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(Images(rows)) })["logits"].AsTensor();
        Assert.That(logits.Dims, Is.EqualTo(new long[] { rows, 10 }));
        Assert.That(GradCheck.ToDoubles(logits).All(double.IsFinite), Is.True);
        Assert.That(model.Graph.Initializers.Select(v => v.Name), Does.Contain("blocks.1.attn.q.weight").And.Contain("pos_embed").And.Contain("head.weight"));
    }

    [TestCase(1)]
    [TestCase(4)]
    public void ResidualSubBlocks_BecomeDepthCouplingBlocks(int depth)
    {
        var model = ModelZoo.VitTiny(depth, width: 32, heads: 4);
        Assert.That(BlockFinder.Residual(model.Graph), Has.Count.EqualTo(2 * depth));
        Assert.That(CouplingConversion.Chains(model.Graph), Has.Count.EqualTo(1));
        var converted = Convert(model, out var pass);
        Assert.That(pass.Converted.Single().CouplingBlocks, Is.EqualTo(depth));
        Assert.That(BlockFinder.Coupling(converted.Graph), Has.Count.EqualTo(depth));
        using var runner = new OrtRunner(ModelWriter.ToBytes(converted), OrtCheck.NoOpt, "vit-coupling");
        var logits = runner.Run(new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(Images(5)) })["logits"].AsTensor();
        Assert.That(logits.Dims, Is.EqualTo(new long[] { 5, 10 }));
    }

    [Test]
    public void Recompute_MatchesStoreAll() => Compare(ModelZoo.VitTiny(2, 32, 4, seed: 3), MemoryMode.Recompute, "vit depth 2");

    [Test]
    public void Reversible_OnTheConvertedVit_MatchesStoreAll() =>
        Compare(Convert(ModelZoo.VitTiny(2, 32, 4, seed: 3), out _), MemoryMode.Reversible, "coupling vit depth 2");

    private static void Compare(Model model, MemoryMode mode, string what)
    {
        var rng = new Random(5);
        var x = Images(8);
        var y = GradCheck.Make("labels", 7, new long[] { 8 }, Enumerable.Range(0, 8).Select(_ => (double)rng.Next(10)).ToArray());
        var store = Run(model, MemoryMode.Store, x, y);
        var other = Run(model, mode, x, y);
        // The key bias's gradient is zero in exact arithmetic (softmax ignores a constant added to a query's scores), so
        // each parameter's difference is measured against the larger of its own scale and 1e-3 of the largest gradient.
        double global = store.Values.Max(s => GradCheck.ToDoubles(s).Max(Math.Abs));
        double worst = 0;
        string worstName = "";
        foreach (var (name, s) in store)
        {
            var e = GradCheck.ToDoubles(s);
            var a = GradCheck.ToDoubles(other[name]);
            double scale = Math.Max(e.Max(Math.Abs), 1e-3 * global);
            double err = a.Zip(e, (p, q) => Math.Abs(p - q)).Max() / scale;
            if (err > worst) (worst, worstName) = (err, name);
        }
        TestContext.Out.WriteLine($"{what} {mode}: worst scale-relative gradient difference to store-all {worst:G3} ({worstName}) over {store.Count} parameters");
        Assert.That(store, Has.Count.GreaterThan(20));
        Assert.That(worst, Is.LessThanOrEqualTo(1e-5));
    }

    private static Dictionary<string, TensorProto> Run(Model model, MemoryMode mode, TensorProto x, TensorProto y)
    {
        var (grad, names, labels) = TrainingGraphBuilder.BuildGradient(model, new LossOptions(LossKind.CrossEntropy), TrainableSpec.All, memory: mode);
        using var runner = new OrtRunner(ModelWriter.ToBytes(grad), new RunnerOptions { IntraOpThreads = 1 });
        var outputs = runner.Run(new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(x), [labels!] = DataValue.Tensor(y) });
        return names.ToDictionary(n => n.Parameter, n => outputs[n.Output].AsTensor());
    }
}

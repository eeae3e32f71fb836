using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>
/// What the memory plans promise, checked on the graphs themselves: the backward of a reversible stack
/// reads nothing inside it; recomputed twins survive ONNX Runtime's own optimizations (CSE on).
/// </summary>
public class MemoryPlanTests
{
    private static Model Revmlp() => ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "revmlp_d8.onnx"));

    private static TrainingArtifacts Step(Model m, MemoryMode mode) =>
        TrainingGraphBuilder.Build(m, new TrainingOptions(new LossOptions(LossKind.CrossEntropy), new OptimizerOptions(), TrainableSpec.All, Memory: mode));

    /// <summary>The gradient graph (parameters stay initializers, so the block finder can read the result).</summary>
    private static Model Grad(Model m, MemoryMode mode) =>
        TrainingGraphBuilder.BuildGradient(m, new LossOptions(LossKind.CrossEntropy), TrainableSpec.All, memory: mode).Model;

    [Test]
    public void FinderSeesThePyTorchCouplingBlocksAndResidualBlocks()
    {
        Assert.That(BlockFinder.Coupling(Revmlp().Graph), Has.Count.EqualTo(8));
        Assert.That(BlockFinder.Residual(ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx")).Graph), Has.Count.EqualTo(8));
        Assert.That(BlockFinder.Coupling(ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx")).Graph), Is.Empty);
    }

    [Test]
    public void ReversibleBackwardReadsNothingInsideTheStack()
    {
        // Blocks are found only where interior values are read inside their branch: after a reversible
        // backward all 8 still are; after a store-all backward none is (the backward reads their interiors).
        Assert.That(BlockFinder.Coupling(Grad(Revmlp(), MemoryMode.Reversible).Graph), Has.Count.EqualTo(8));
        Assert.That(BlockFinder.Coupling(Grad(Revmlp(), MemoryMode.Store).Graph), Is.Empty);
    }

    [Test]
    public void RecomputeKeepsOnlyBlockInputs()
    {
        var m = ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"));
        Assert.That(BlockFinder.Residual(Grad(m, MemoryMode.Recompute).Graph), Has.Count.EqualTo(8));
        Assert.That(BlockFinder.Residual(Grad(ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx")), MemoryMode.Store).Graph), Is.Empty);
    }

    [Test]
    public void TwinsSurviveOrtOptimizationsWithCseOn()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            var step = Step(Revmlp(), MemoryMode.Reversible).Step;
            string optimized = Path.Combine(dir, "optimized.onnx");
            using (new OrtRunner(ModelWriter.ToBytes(step), new RunnerOptions { OptimizationLevel = OptimizationLevel.Extended, OptimizedModelPath = optimized })) { }
            var ortGraph = ModelReader.Load(optimized).Graph;
            int layerNorms = ortGraph.Nodes.Count(n => n.OpType.Contains("LayerNormalization", StringComparison.Ordinal));
            // 16 forward (F and G of 8 blocks) + 16 recomputed twins; CSE merging twins would leave 16.
            Assert.That(layerNorms, Is.EqualTo(32), "recomputed LayerNorms in the graph ORT executes");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void RandomOpsInsideABlockAreRejected()
    {
        var m = ModelZoo.ResidualMlp(2, 16);
        var fc1 = m.Graph.Nodes.First(n => n.OpType == "Gemm" && n.Inputs[1]!.Name.StartsWith("blocks.0.fc1"));
        var y = fc1.Outputs[0];
        var b = new GraphBuilder(m.Graph, m.Graph.Nodes[m.Graph.Nodes.ToList().IndexOf(fc1) + 1]);
        var ratio = b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { 0.1f }));
        var training = b.Initializer(Tensor.FromRawBytes("", 9, Array.Empty<long>(), new byte[] { 1 }));
        var dropped = b.Op("Dropout", new Value?[] { y, ratio, training });
        foreach (var u in y.Uses.Where(u => u.Node.OpType != "Dropout").ToList()) u.Node.SetInput(u.InputIndex, dropped);
        var e = Assert.Throws<OnnxRevException>(() => Step(m, MemoryMode.Recompute))!;
        Assert.That(e.Message, Does.Contain("random"));
    }
}

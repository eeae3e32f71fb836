using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>
/// The separate, parameter-by-parameter optimizer update against the update inside the step graph, and the step's
/// activation memory against depth on the graph ONNX Runtime really runs (its arena's peak).
/// </summary>
public class UpdatePlacementTests
{
    private static Dataset Digits() => DatasetLoader.Load(Path.Combine(RepoPaths.Root, "models", "data", "digits.csv.gz"), new DataOptions { Scale = 1f / 16 });

    private static TrainerOptions Options(int steps) => new()
    {
        Epochs = 5, BatchSize = 32, LearningRate = 3e-3, Seed = 2, MaxSteps = steps, Runner = new RunnerOptions { IntraOpThreads = 1 },
    };

    [TestCase(OptimizerKind.AdamW, 0.0, MemoryMode.Store)]
    [TestCase(OptimizerKind.AdamW, 0.5, MemoryMode.Reversible)]
    [TestCase(OptimizerKind.Sgd, 0.0, MemoryMode.Recompute)]
    public void SeparateUpdateGivesTheSameWeightsAsTheUpdateInTheStepGraph(OptimizerKind kind, double clip, MemoryMode memory)
    {
        var model = ModelZoo.RevMlp(depth: 3, width: 32, seed: 4);
        var optimizer = new OptimizerOptions(kind, Momentum: kind == OptimizerKind.Sgd ? 0.9 : 0, WeightDecay: 0.01, ClipGlobalNorm: clip > 0 ? clip : null);
        Dictionary<string, Schema.TensorProto> Train(UpdatePlacement placement)
        {
            var a = TrainingGraphBuilder.Build(model, new TrainingOptions(new LossOptions(LossKind.CrossEntropy), optimizer, TrainableSpec.All, Memory: memory, Update: placement));
            Assert.That(a.Update is null, Is.EqualTo(placement == UpdatePlacement.InStep));
            using var t = new Trainer(a, Options(25));
            t.Fit(Digits().Take(800));
            return t.Snapshot(includeStates: true);
        }
        var inStep = Train(UpdatePlacement.InStep);
        var separate = Train(UpdatePlacement.Separate);
        Assert.That(separate.Keys, Is.EquivalentTo(inStep.Keys));
        foreach (var (name, expected) in inStep)
        {
            var e = GradCheck.ToDoubles(expected);
            var got = GradCheck.ToDoubles(separate[name]);
            double scale = Math.Max(1e-6, e.Max(Math.Abs));
            double worst = e.Zip(got, (x, y) => Math.Abs(x - y)).Max();
            // The same nodes on the same inputs; ORT may fuse the in-graph update differently, so allow float rounding only.
            Assert.That(worst / scale, Is.LessThanOrEqualTo(1e-5), $"'{name}' after 25 steps: max |Δ| {worst:G3} of scale {scale:G3}");
        }
    }

    /// <summary>
    /// Recompute and reversible steps keep O(1) activations: ORT's arena peak for the step (state lives in the trainer's
    /// own buffers with the separate update) hardly grows from depth 4 to 24, while storing everything grows with depth.
    /// This is the graph ORT schedules itself, so a lost ordering constraint (weight gradients postponed to the end,
    /// reconstructions run ahead of the gradient) shows up here.
    /// </summary>
    [Test]
    public void RecomputeAndReversibleArenaPeakStaysFlatWithDepth()
    {
        long Peak(MemoryMode mode, int depth)
        {
            var model = ModelZoo.RevMlp(depth, width: 64, seed: 1);
            var a = TrainingGraphBuilder.Build(model, new TrainingOptions(new LossOptions(LossKind.CrossEntropy), new OptimizerOptions(), TrainableSpec.All, Memory: mode));
            var rng = new Random(3);
            var features = Enumerable.Range(0, 1024 * 64).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var labels = Enumerable.Range(0, 1024).Select(i => (long)(i % 10)).ToArray();
            using var t = new Trainer(a, Options(2) with { BatchSize = 1024 });
            t.Fit(new Dataset(features, labels, new[] { 64 }, 10, "random"));
            var stats = t.StepArenaStats();
            Assert.That(stats, Is.Not.Null, "ORT reports its CPU arena statistics");
            return stats!.MaxInUse;
        }
        long store4 = Peak(MemoryMode.Store, 4), store24 = Peak(MemoryMode.Store, 24);
        long rev4 = Peak(MemoryMode.Reversible, 4), rev24 = Peak(MemoryMode.Reversible, 24);
        long rec4 = Peak(MemoryMode.Recompute, 4), rec24 = Peak(MemoryMode.Recompute, 24);
        TestContext.Out.WriteLine($"arena peak bytes, depth 4 → 24: store {store4} → {store24}, recompute {rec4} → {rec24}, reversible {rev4} → {rev24}");
        // Per block, store keeps F's and G's interiors; recompute keeps each block's inputs x2 and y1 (1024 × 64 floats).
        long blockInputs = 20L * 1024 * 64 * 4;
        Assert.That(store24 - store4, Is.GreaterThan(3 * blockInputs), "store-all grows with depth: the measurement can see growth");
        Assert.That(rev24, Is.LessThanOrEqualTo(1.1 * rev4), "reversible keeps no activation per block");
        Assert.That(rec24 - rec4, Is.LessThanOrEqualTo(2 * blockInputs), "recompute keeps only the blocks' inputs (and one block's recomputation at a time)");
    }
}

using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Passes.Reversible;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Reversible;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Reversible;

/// <summary>
/// The coupling conversion: residual stacks become coupling blocks that the reversible plan finds and trains;
/// the MEFT variant starts from the pretrained function up to O(λ). Figures go to docs/training.md.
/// </summary>
public class CouplingConversionTests
{
    private static Model Fixture() => ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"));

    private static IEnumerable<TestCaseData> Models()
    {
        yield return new TestCaseData("ResidualMlp(8, 32)").SetName("{m}(zoo)");
        yield return new TestCaseData("resmlp_d8.onnx").SetName("{m}(fixture)");
    }

    private static Model Load(string which) => which == "resmlp_d8.onnx" ? Fixture() : ModelZoo.ResidualMlp(8, 32);

    private static Model Convert(Model m, CouplingOptions options, out CouplingConversion pass)
    {
        var copy = TrainingGraphBuilder.Clone(m);
        pass = new CouplingConversion(options);
        Assert.That(pass.Run(copy).Modified, Is.True);
        // Round-trips through the serializer like a model written by `onnxrev optimize`.
        return ModelReader.FromProto(ModelWriter.ToProto(copy), null, "converted");
    }

    private static Dictionary<string, DataValue> Batch(Model m, int rows = 16)
    {
        var rng = new Random(11);
        string input = m.Graph.Inputs.First(v => v.Initializer is null).Name;
        return new Dictionary<string, DataValue>
        {
            [input] = DataValue.Tensor(GradCheck.Make(input, 1, new long[] { rows, 64 }, Enumerable.Range(0, rows * 64).Select(_ => rng.NextDouble() * 2 - 1).ToArray())),
        };
    }

    [TestCaseSource(nameof(Models))]
    public void PairsGivesFourCouplingBlocksWhoseReversibleGradientsMatchStoreAll(string which)
    {
        var original = Load(which);
        var converted = Convert(original, new CouplingOptions(), out var pass);
        Assert.That(pass.Converted, Has.Count.EqualTo(1));
        Assert.That(pass.Converted[0].CouplingBlocks, Is.EqualTo(4));
        Assert.That(BlockFinder.Coupling(converted.Graph), Has.Count.EqualTo(4));
        Assert.That(BlockFinder.Residual(converted.Graph).Count(b => b.Input.Name.Contains("coupling_merge")), Is.Zero);
        var report = CouplingReport.Measure(original, converted, Batch(original));
        double worst = GradientDifference(converted, Batch(original));
        TestContext.Out.WriteLine($"{which} pairs: output change {report.OutputMaxAbs:G3} ({report.OutputRelative:G3} of scale; a different function); " +
            $"reconstruction local ≤ {report.WorstLocalRelative:G3}, chained ≤ {report.WorstChainedRelative:G3} of scale; reversible vs store gradients {worst:G3}");
        Assert.That(report.Blocks, Has.Count.EqualTo(4));
        Assert.That(report.WorstChainedRelative, Is.LessThan(1e-5));
        Assert.That(worst, Is.LessThanOrEqualTo(1e-5));
    }

    [Test]
    public void OddChainKeepsTheLastBlockResidual()
    {
        var converted = Convert(ModelZoo.ResidualMlp(5, 16), new CouplingOptions(), out var pass);
        Assert.That(pass.Converted[0].CouplingBlocks, Is.EqualTo(2));
        Assert.That(BlockFinder.Coupling(converted.Graph), Has.Count.EqualTo(2));
        var report = CouplingReport.Measure(ModelZoo.ResidualMlp(5, 16), converted, Batch(converted));
        Assert.That(report.OutputMaxAbs, Is.GreaterThan(0));
        Assert.That(GradientDifference(converted, Batch(converted)), Is.LessThanOrEqualTo(1e-5));
    }

    [TestCaseSource(nameof(Models))]
    public void MeftStartsNearThePretrainedFunctionAndTrainsReversibly(string which)
    {
        var original = Load(which);
        var results = new Dictionary<float, CouplingReportResult>();
        foreach (float lambda in new[] { 0.1f, 0.01f })
        {
            var converted = Convert(original, new CouplingOptions(CouplingVariant.Meft, Lambda: lambda), out var pass);
            Assert.That(pass.Converted[0].CouplingBlocks, Is.EqualTo(7));
            Assert.That(BlockFinder.Coupling(converted.Graph), Has.Count.EqualTo(7));
            Assert.That(BlockFinder.Coupling(converted.Graph).All(c => c.ScaleX1 is not null && c.ScaleX2 is null));
            var report = CouplingReport.Measure(original, converted, Batch(original));
            results[lambda] = report;
            double worst = GradientDifference(converted, Batch(original));
            TestContext.Out.WriteLine($"{which} meft λ={lambda}: output difference at init {report.OutputMaxAbs:G3} ({report.OutputRelative:G3} of scale {report.OutputScale:G3}); " +
                $"reconstruction local ≤ {report.WorstLocalRelative:G3}, chained ≤ {report.WorstChainedRelative:G3} of scale " +
                $"(per block, chained: {string.Join(", ", report.Blocks.Select(b => b.ChainedRelative.ToString("G2")))}); reversible vs store gradients {worst:G3}");
            // O(λ) with a constant of about the depth: every layer adds λ·(the stream two layers back).
            Assert.That(report.OutputRelative, Is.LessThan(lambda * 8 * 1.5));
            // Local rebuilds are exact to float rounding; chained ones grow about 1/λ per block (x1 = (y1 − F(x2))/λ),
            // so at depth 8 the first block's inputs are not recoverable in float32: stated in docs/training.md.
            Assert.That(report.WorstLocalRelative, Is.LessThan(1e-5));
            if (lambda == 0.1f)
            {
                Assert.That(report.Blocks[^1].ChainedRelative, Is.LessThan(1e-5));
                Assert.That(worst, Is.LessThanOrEqualTo(0.5));
            }
        }
        Assert.That(results[0.01f].OutputMaxAbs, Is.LessThan(results[0.1f].OutputMaxAbs / 5));
    }

    [Test]
    public void MeftWithBetaAddsTheSecondScale()
    {
        var converted = Convert(ModelZoo.ResidualMlp(4, 16), new CouplingOptions(CouplingVariant.Meft, Lambda: 0.5f, Beta: 0.5f, Rank: 4), out _);
        var blocks = BlockFinder.Coupling(converted.Graph);
        Assert.That(blocks, Has.Count.EqualTo(3));
        Assert.That(blocks.All(c => c.ScaleX1 is not null && c.ScaleX2 is not null));
        var report = CouplingReport.Measure(ModelZoo.ResidualMlp(4, 16), converted, Batch(converted));
        TestContext.Out.WriteLine($"meft λ=β=0.5 depth 4: chained reconstruction ≤ {report.WorstChainedRelative:G3}");
        Assert.That(report.WorstChainedRelative, Is.LessThan(1e-4));
        Assert.That(GradientDifference(converted, Batch(converted)), Is.LessThanOrEqualTo(1e-4));
    }

    [Test]
    public void RegisteredWithDefaultsAndNoChainMeansNoChange()
    {
        StandardPasses.Register();
        Assert.That(PassRegistry.Create("coupling"), Is.InstanceOf<CouplingConversion>());
        var rev = ModelZoo.RevMlp(2, 16);
        Assert.That(new CouplingConversion().Run(rev).Modified, Is.False);
    }

    /// <summary>Worst over parameters of max|reversible − store| / max|store| for one cross-entropy batch.</summary>
    internal static double GradientDifference(Model model, Dictionary<string, DataValue> batch)
    {
        var rng = new Random(7);
        int rows = (int)batch.Values.First().AsTensor().Dims[0];
        var labels = GradCheck.Make("labels", 7, new long[] { rows }, Enumerable.Range(0, rows).Select(_ => (double)rng.Next(10)).ToArray());
        var store = Gradients(model, MemoryMode.Store, batch, labels);
        var rev = Gradients(model, MemoryMode.Reversible, batch, labels);
        double worst = 0;
        foreach (var (name, s) in store)
        {
            var e = GradCheck.ToDoubles(s);
            var a = GradCheck.ToDoubles(rev[name]);
            double scale = e.Max(Math.Abs);
            if (scale == 0) { Assert.That(a.Max(Math.Abs), Is.EqualTo(0), name); continue; } // adapters' down projections: zero gradient at init
            worst = Math.Max(worst, a.Zip(e, (p, q) => Math.Abs(p - q)).Max() / scale);
        }
        return worst;
    }

    private static Dictionary<string, TensorProto> Gradients(Model model, MemoryMode mode, Dictionary<string, DataValue> batch, TensorProto labels)
    {
        var (grad, names, labelInput) = TrainingGraphBuilder.BuildGradient(model, new LossOptions(LossKind.CrossEntropy), TrainableSpec.All, memory: mode);
        using var runner = new OrtRunner(ModelWriter.ToBytes(grad), new RunnerOptions { IntraOpThreads = 1 });
        var inputs = new Dictionary<string, DataValue>(batch) { [labelInput!] = DataValue.Tensor(labels) };
        var outputs = runner.Run(inputs);
        return names.ToDictionary(n => n.Parameter, n => outputs[n.Output].AsTensor());
    }
}

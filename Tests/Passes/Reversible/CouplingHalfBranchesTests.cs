using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Passes.Reversible;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Passes.Reversible;

/// <summary>
/// Coupling branches in float16 with float32 streams: the model runs in ORT close to float32, the streams keep their
/// type, and reversible gradients still match store-all gradients of the same (float16-branch) model.
/// </summary>
public class CouplingHalfBranchesTests
{
    private static IEnumerable<TestCaseData> Models()
    {
        yield return new TestCaseData("RevMlp(8, 32)").SetName("{m}(zoo)");
        yield return new TestCaseData("revmlp_d8.onnx").SetName("{m}(PyTorch export)");
    }

    private static Model Load(string which) => which == "revmlp_d8.onnx"
        ? ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "revmlp_d8.onnx"))
        : ModelZoo.RevMlp(8, 32, seed: 5);

    private static Model Convert(Model m, out CouplingHalfBranches pass)
    {
        var copy = TrainingGraphBuilder.Clone(m);
        pass = new CouplingHalfBranches();
        Assert.That(pass.Run(copy).Modified, Is.True);
        return ModelReader.FromProto(ModelWriter.ToProto(copy), null, "fp16 branches");
    }

    private static Dictionary<string, DataValue> Batch(Model m, int rows = 16)
    {
        var rng = new Random(3);
        var input = m.Graph.Inputs.First(v => v.Initializer is null);
        long features = input.Type!.TensorType.Shape.Dim[1].DimValue;
        return new Dictionary<string, DataValue>
        {
            [input.Name] = DataValue.Tensor(GradCheck.Make(input.Name, 1, new long[] { rows, features }, Enumerable.Range(0, (int)(rows * features)).Select(_ => rng.NextDouble() * 2 - 1).ToArray())),
        };
    }

    [TestCaseSource(nameof(Models))]
    public void BranchesRunInHalfStreamsStayFloatAndOutputsStayClose(string which)
    {
        var original = Load(which);
        var half = Convert(original, out var pass);
        int blocks = BlockFinder.Coupling(original.Graph).Count;
        Assert.That(pass.ConvertedBranches, Is.EqualTo(2 * blocks), string.Join("; ", pass.Skipped));
        // Still coupling blocks (the reversible plan finds them), and every stream value is float32.
        var found = BlockFinder.Coupling(half.Graph);
        Assert.That(found, Has.Count.EqualTo(blocks));
        var types = OnnxRev.Passes.Cleanup.Shapes.ShapeInference.Infer(half);
        foreach (var c in found)
            foreach (var v in new[] { c.X1, c.X2, c.Y1, c.Y2 })
                Assert.That(types.TryGetType(v, out int t, out _) ? t : v.ElementType, Is.EqualTo((int)DT.Float), $"stream '{v.Name}'");
        Assert.That(half.Graph.Nodes.Count(n => n.OpType == "Cast" && n.Attributes.GetInt("to", 0) == (int)DT.Float16), Is.GreaterThanOrEqualTo(2 * blocks));

        var batch = Batch(original);
        var none = new RunnerOptions { OptimizationLevel = OptimizationLevel.None, IntraOpThreads = 1 };
        using var a = new OrtRunner(ModelWriter.ToBytes(original), none);
        using var b = new OrtRunner(ModelWriter.ToBytes(half), none);
        var expected = a.Run(batch).Values.First().AsTensor();
        var got = b.Run(batch).Values.First().AsTensor();
        var e = GradCheck.ToDoubles(expected);
        var g = GradCheck.ToDoubles(got);
        double scale = e.Max(Math.Abs);
        double worst = e.Zip(g, (x, y) => Math.Abs(x - y)).Max() / scale;
        TestContext.Out.WriteLine($"{which}: outputs with float16 branches differ by {worst:G3} of their scale");
        // float16 keeps 11 significant bits (unit roundoff 4.9e-4); eight blocks of rounded branches stay within 1 %.
        Assert.That(worst, Is.LessThan(1e-2));
        Assert.That(worst, Is.GreaterThan(0), "the branches really compute in float16");
    }

    [TestCaseSource(nameof(Models))]
    public void ReversibleGradientsMatchStoreAllOnTheHalfBranchModel(string which)
    {
        var half = Convert(Load(which), out _);
        double worst = CouplingConversionTests.GradientDifference(half, Batch(half));
        TestContext.Out.WriteLine($"{which}: reversible vs store-all with float16 branches, worst scale-relative difference {worst:G3}");
        // Recomputed branches see the rebuilt float32 streams; one float16 rounding of a slightly different input is
        // the only way they can differ from the forward's, so the bound is the float32 depth-8 bound times the half/float gap.
        Assert.That(worst, Is.LessThanOrEqualTo(1e-3));
    }

    [Test]
    public void AModelWithoutCouplingBlocksIsRefusedClearly()
    {
        var e = Assert.Throws<OnnxRevException>(() => new CouplingHalfBranches().Run(ModelZoo.ResidualMlp(2, 16)))!;
        Assert.That(e.Message, Does.Contain("no additive coupling blocks"));
    }
}

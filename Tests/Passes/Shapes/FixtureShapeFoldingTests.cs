using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Passes.Cleanup.Shapes;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Shapes;

/// <summary>ShapeFolding + DeadCodeElimination on the PyTorch fixtures, checked with ONNX Runtime.</summary>
public class FixtureShapeFoldingTests
{
    private static Model Load(string name) => ModelReader.Load(Path.Combine(RepoPaths.Fixtures, name + ".onnx"));

    private static Model Fold(Model m)
    {
        new CompositePass("fold", new IPass[] { new ShapeFolding(), new DeadCodeElimination() }).Run(m);
        return m;
    }

    private static SortedDictionary<string, int> Histogram(Model m) =>
        new(m.Graph.Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);

    private static int Count(Model m, string op) => m.Graph.Nodes.Count(n => n.OpType == op);

    private static void Report(string name, Model before, Model after)
    {
        var b = Histogram(before);
        var a = Histogram(after);
        TestContext.Out.WriteLine($"{name}: {before.Graph.Nodes.Count} nodes → {after.Graph.Nodes.Count}");
        foreach (var op in b.Keys.Union(a.Keys).OrderBy(k => k, StringComparer.Ordinal))
            TestContext.Out.WriteLine($"  {op,-20} {b.GetValueOrDefault(op),5} → {a.GetValueOrDefault(op),5}");
    }

    [Test]
    public void ShuffleNetKeepsOnlyBatchDependentShapeComputations()
    {
        var before = Load("shufflenet_v2");
        var after = Fold(Load("shufflenet_v2"));
        Report("shufflenet_v2", before, after);
        Assert.That(Count(after, "Shape"), Is.LessThanOrEqualTo(Count(before, "Shape") / 4));
        Assert.That(Count(after, "Gather"), Is.LessThanOrEqualTo(Count(before, "Gather") / 4));
        Assert.That(Count(after, "Div") + Count(after, "Cast"), Is.EqualTo(0), "channel arithmetic is folded");
        // What is left of the shape logic is the batch: every remaining Shape feeds only Gathers yielding "n".
        var info = ShapeInference.Infer(after);
        foreach (var shape in after.Graph.Nodes.Where(n => n.OpType == "Shape"))
        {
            Assert.That(info.TryGetData(shape.Outputs[0], out var dims) && dims[0].Symbol == "n", shape.Describe());
            foreach (var use in shape.Outputs[0].Uses)
            {
                Assert.That(use.Node.OpType, Is.EqualTo("Gather"), shape.Describe());
                Assert.That(info.TryGetData(use.Node.Outputs[0], out var picked) && picked.Single().Symbol == "n", use.Node.Describe());
            }
        }
        Assert.That(after.Graph.Inputs[0].Type!.TensorType.Shape.Dim[0].DimParam, Is.EqualTo("n"));
        Assert.That(info.Describe(after.Graph.Outputs[0]), Is.EqualTo("[n,10]"));
    }

    [Test]
    public void BertTinyIsStaticSoEveryShapeComputationFolds()
    {
        var before = Load("bert_tiny");
        var after = Fold(Load("bert_tiny"));
        Report("bert_tiny", before, after);
        Assert.That(Count(after, "Shape"), Is.EqualTo(0));
        // Only integer results are folded: what is left of ConstantOfShape makes the bool attention mask.
        var info = ShapeInference.Infer(after);
        foreach (var n in after.Graph.Nodes.Where(n => n.OpType is "ConstantOfShape" or "Expand"))
            Assert.That(info.TryGetType(n.Outputs[0], out int t, out _) && t == (int)OnnxRev.Schema.TensorProto.Types.DataType.Bool, n.Describe());
        Assert.That(Count(after, "GatherElements"), Is.EqualTo(0), "token_type_ids are static zeros");
        Assert.That(after.Graph.Nodes.Count, Is.LessThan(before.Graph.Nodes.Count - 30));
    }

    private static IEnumerable<string> Fixtures() => RepoPaths.FixtureModels;

    [TestCaseSource(nameof(Fixtures))]
    public void FoldedFixtureComputesTheReferenceOutput(string name)
    {
        var before = Load(name);
        var model = Fold(Load(name));
        Report(name, before, model);
        var data = OrtReference.Fixture(name, model);
        OrtReference.AssertClose(OrtReference.Run(model, data.Inputs), data.Outputs, name + " folded vs PyTorch");
    }

    [TestCase("shufflenet_v2", 3)]
    [TestCase("shufflenet_v2", 1)]
    [TestCase("mobilenet_v3_small", 5)]
    [TestCase("revmlp_d8", 3)]
    public void FoldedModelStillAcceptsOtherBatchSizes(string name, int batch)
    {
        var original = Load(name);
        var folded = Fold(Load(name));
        var x = folded.Graph.Inputs[0];
        string batchDim = x.Type!.TensorType.Shape.Dim[0].DimParam;
        Assert.That(batchDim, Is.Not.Empty, "the batch dimension is still symbolic");
        var inputs = OrtReference.Random(folded, new Dictionary<string, long> { [batchDim] = batch }, seed: batch);
        var expected = OrtReference.Run(original, inputs);
        var actual = OrtReference.Run(folded, inputs);
        Assert.That(actual.Values.First().AsTensor().Dims[0], Is.EqualTo(batch));
        OrtReference.AssertClose(actual, expected, $"{name} batch {batch}: folded vs original");
    }
}

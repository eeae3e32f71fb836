using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using IrAttribute = OnnxRev.Ir.Attribute;
using static OnnxRev.Tests.Passes.Quantization.QuantTestModels;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>The exact rewrites quantization runs first: Gemm → MatMul, BatchNormalization folding, opset upgrade.</summary>
public class PreparationPassTests
{
    private static void AssertClose(byte[] before, Model after, Dictionary<string, DataValue>? feeds = null, double rtol = 1e-5, double atol = 1e-5)
    {
        using var a = new OrtRunner(before, OrtCheck.NoOpt, "before");
        IReadOnlyDictionary<string, DataValue> inputs = feeds is null ? RandomInputs.For(a, 5) : feeds;
        var expected = a.Run(inputs);
        var actual = OrtCheck.Run(ModelWriter.ToBytes(after), inputs);
        Assert.That(actual.Keys, Is.EqualTo(expected.Keys));
        var cmp = OutputComparison.Compare(actual, expected, rtol, atol);
        Assert.That(cmp.Ok, Is.True, cmp.ToString());
    }

    [TestCase(1f, 1f, true, true)]
    [TestCase(0.5f, 3f, true, true)]
    [TestCase(2f, 0.25f, false, true)]
    [TestCase(1.5f, 2f, true, false)]
    public void GemmToMatMulIsExact(float alpha, float beta, bool transB, bool constantBias)
    {
        var model = Gemm(3, 20, 7, alpha, beta, transB, constantBias);
        var before = ModelWriter.ToBytes(model);
        Assert.That(new GemmToMatMul().Run(model).Modified, Is.True);
        Assert.That(model.Graph.Nodes.Select(n => n.OpType), Does.Contain("MatMul").And.Not.Contain("Gemm"));
        Assert.That(model.Graph.Nodes.Single(n => n.OpType == "MatMul").Name, Is.EqualTo("y_node"), "the layer keeps its name");
        AssertClose(before, model);
    }

    [Test]
    public void GemmWithSharedWeightKeepsTheOriginalForItsOtherUser()
    {
        var g = new Graph("shared");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(2, 4));
        var w = GraphBuild.FloatInit(g, "W", new long[] { 3, 4 }, Random(12, 1));
        var y = GraphBuild.Op(g, "Gemm", new[] { x, w }, "y", IrAttribute.FromInt("transB", 1));
        var z = GraphBuild.Op(g, "Mul", new[] { w, w }, "z");
        GraphBuild.Output(g, y, ModelFactory.FloatType(2, 3));
        GraphBuild.Output(g, z, ModelFactory.FloatType(3, 4));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);
        new GemmToMatMul().Run(model);
        Assert.That(model.Graph.Initializers.Any(v => v.Name == "W"));
        AssertClose(before, model);
    }

    [Test]
    public void BatchNormFoldsIntoTheConvBeforeIt()
    {
        var g = new Graph("convbn");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(1, 3, 6, 6));
        var w = GraphBuild.FloatInit(g, "W", new long[] { 4, 3, 3, 3 }, Random(108, 1));
        var c = GraphBuild.Op(g, "Conv", new[] { x, w }, "c", IrAttribute.FromInts("pads", new long[] { 1, 1, 1, 1 }));
        var scale = GraphBuild.FloatInit(g, "gamma", new long[] { 4 }, 1.5f, -0.5f, 2f, 0.3f);
        var bias = GraphBuild.FloatInit(g, "beta", new long[] { 4 }, 0.1f, 0.2f, -0.3f, 0f);
        var mean = GraphBuild.FloatInit(g, "mean", new long[] { 4 }, 0.05f, -0.1f, 0.2f, 1f);
        var variance = GraphBuild.FloatInit(g, "var", new long[] { 4 }, 0.5f, 2f, 1f, 0.1f);
        var y = GraphBuild.Op(g, "BatchNormalization", new[] { c, scale, bias, mean, variance }, "y", IrAttribute.FromFloat("epsilon", 1e-3f));
        GraphBuild.Output(g, y, ModelFactory.FloatType(1, 4, 6, 6));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);
        Assert.That(new BatchNormFolding().Run(model).Modified, Is.True);
        Assert.That(model.Graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Conv" }));
        Assert.That(model.Graph.Outputs[0].Name, Is.EqualTo("y"));
        AssertClose(before, model);
    }

    [Test]
    public void ResNet18UpgradesFromOpset8To13AndFoldsItsBatchNorms()
    {
        var model = ModelReader.Load(PackageModels.Path(PackageModels.ResNet18));
        var before = ModelWriter.ToBytes(model);
        Assert.That(new OpsetUpgrade(13).Run(model).Modified, Is.True);
        Assert.That(model.OpsetVersion(""), Is.EqualTo(13));
        Assert.That(model.IrVersion, Is.GreaterThanOrEqualTo(7));
        Assert.That(model.Graph.Inputs.Select(v => v.Name), Is.EqualTo(new[] { "Input247" }), "initializers are no longer graph inputs");
        new BatchNormFolding().Run(model);
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "BatchNormalization"), Is.EqualTo(0));
        AssertClose(before, model, rtol: 1e-3, atol: 1e-4);
    }

    [Test]
    public void OpsetUpgradeRefusesOperatorsWhoseMeaningChanged()
    {
        var g = new Graph("softmax");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(2, 3, 4));
        GraphBuild.Output(g, GraphBuild.Op(g, "Softmax", new[] { x }, "y", IrAttribute.FromInt("axis", 1)), ModelFactory.FloatType(2, 3, 4));
        var e = Assert.Throws<OnnxRevException>(() => new OpsetUpgrade(13).Run(ModelFactory.Wrap(g, 11)));
        Assert.That(e!.Message, Does.Contain("Softmax").And.Contain("axis"));
        var g2 = new Graph("upsample");
        var x2 = GraphBuild.Input(g2, "x", ModelFactory.FloatType(1, 1, 2, 2));
        GraphBuild.Output(g2, GraphBuild.Op(g2, "Upsample", new[] { x2 }, "y"), ModelFactory.FloatType(1, 1, 4, 4));
        Assert.That(Assert.Throws<OnnxRevException>(() => new OpsetUpgrade(13).Run(ModelFactory.Wrap(g2, 8)))!.Message, Does.Contain("Upsample"));
    }

    [Test]
    public void OpsetUpgradeMovesAttributesToInputs()
    {
        var g = new Graph("attrs");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(2, 3));
        var u = GraphBuild.Op(g, "Unsqueeze", new[] { x }, "u", IrAttribute.FromInts("axes", new long[] { 0 }));
        var c = GraphBuild.Op(g, "Clip", new[] { u }, "c", IrAttribute.FromFloat("min", -0.2f), IrAttribute.FromFloat("max", 0.3f));
        var s = GraphBuild.Op(g, "ReduceSum", new[] { c }, "s", IrAttribute.FromInts("axes", new long[] { 2 }));
        var d = GraphBuild.Op(g, "Dropout", new[] { s }, "y", IrAttribute.FromFloat("ratio", 0.3f));
        GraphBuild.Output(g, d, ModelFactory.FloatType(1, 2, 1));
        var model = ModelFactory.Wrap(g, 8);
        var before = ModelWriter.ToBytes(model);
        new OpsetUpgrade(13).Run(model);
        Assert.That(model.Graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Unsqueeze", "Clip", "ReduceSum", "Identity" }));
        AssertClose(before, model, rtol: 0, atol: 0);
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>
/// <see cref="ActivationScaling"/> is an exact float rewrite: run in ONNX Runtime (optimizations off), the scaled model
/// computes the original's outputs within float rounding (1e-5 absolute + relative), for MatMuls sharing an input,
/// a Gemm with transB, a shared weight, and an activation that also feeds a residual Add.
/// </summary>
public class ActivationScalingTests
{
    [Test]
    public void SharedInputGemmTransBAndResidualStayExact()
    {
        const int k = 24, n = 16;
        var g = new Graph("scaled");
        var x = Input(g, "x", ModelFactory.FloatType(2, 5, k));
        var w = FloatInit(g, "W", new long[] { k, n }, QuantTestModels.Random(k * n, 3));
        var wt = FloatInit(g, "Wt", new long[] { n, k }, QuantTestModels.Random(k * n, 4));
        var bias = FloatInit(g, "c", new long[] { n }, QuantTestModels.Random(n, 5));
        var y = Op(g, "MatMul", new[] { x, w }, "y");
        var x2 = Op(g, "Reshape", new[] { x, Int64Init(g, "rows", new long[] { 2 }, 10, k) }, "x2");
        var z = Op(g, "Gemm", new[] { x2, wt, bias }, "z", Attr.FromInt("transB", 1), Attr.FromFloat("alpha", 0.5f));
        var r = Op(g, "Relu", new[] { x }, "r");
        var u = Op(g, "MatMul", new[] { r, w }, "u");                    // W shared with a node that is not scaled
        var res = Op(g, "Add", new[] { x, x }, "res");                   // a non-MatMul reader of x
        foreach (var (v, shape) in new[] { (y, new long[] { 2, 5, n }), (z, new long[] { 10, n }), (u, new long[] { 2, 5, n }), (res, new long[] { 2, 5, k }) })
            Output(g, v, ModelFactory.FloatType(shape));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);
        var s = Enumerable.Range(0, k).Select(j => (float)Math.Pow(2, j % 7 - 3) * (1 + 0.1f * j)).ToArray();
        var pass = new ActivationScaling(new Dictionary<string, float[]> { ["x"] = s, ["x2"] = s });
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(pass.ScaledNodes, Has.Count.EqualTo(2));
        Assert.That(model.Graph.Nodes.Count(nd => nd.OpType == "Mul"), Is.EqualTo(2));
        Assert.That(model.Graph.Initializers.Select(i => i.Name), Does.Contain("W"), "the shared weight stays for the unscaled reader");
        var feeds = Feeds.Floats("x", new long[] { 2, 5, k }, QuantTestModels.Random(2 * 5 * k, 9, 3f));
        var expected = OrtCheck.Run(before, feeds);
        var actual = OrtCheck.Run(ModelWriter.ToBytes(model), feeds);
        // Only float rounding differs (x/s and s·W rounded, sums of 24 products of magnitude <= 3): 1e-5 absolute + relative.
        var cmp = OnnxRev.Runtime.OutputComparison.Compare(actual, expected, 1e-5, 1e-5);
        Assert.That(cmp.Ok, Is.True, cmp.ToString());
    }

    [Test]
    public void WrongFactorCountIsRefused()
    {
        var model = QuantTestModels.MatMul(4, 8, 3);
        var x = model.Graph.Inputs[0].Name;
        var e = Assert.Throws<OnnxRevException>(() => new ActivationScaling(new Dictionary<string, float[]> { [x] = Enumerable.Repeat(1f, 5).ToArray() }.AsReadOnly()).Run(model));
        Assert.That(e!.Message, Does.Contain("5 factors"));
    }
}

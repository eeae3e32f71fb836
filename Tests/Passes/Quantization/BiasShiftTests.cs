using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;
using IrAttribute = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>
/// <see cref="BiasShift"/> adds δ to a layer's output exactly, checked in ONNX Runtime (optimizations off, within 1e-5):
/// into a MatMul's following bias Add, into Gemm's C (divided by β), and through a new Add where the layer has no bias —
/// also when its output is a graph output, whose name stays. A bias shared with another layer is copied.
/// </summary>
public class BiasShiftTests
{
    private const int K = 5, N = 3, Rows = 4;
    private static readonly float[] Delta = { 0.5f, -1.25f, 2f };

    private static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static Dictionary<string, DataValue> Feed() => Feeds.Floats("x", new long[] { Rows, K }, Values(Rows * K, 7));

    /// <summary>x·W1 (+ bias b when <paramref name="bias"/>) → Relu → y, and a second MatMul x·W2 + b (sharing b) → z.</summary>
    private static Model Layers(bool bias)
    {
        var g = new Graph("layers");
        var x = Input(g, "x", ModelFactory.FloatType(Rows, K));
        var b = FloatInit(g, "b", new long[] { N }, Values(N, 3));
        var a = Op(g, "MatMul", new[] { x, FloatInit(g, "W1", new long[] { K, N }, Values(K * N, 1)) }, "a");
        Output(g, Op(g, "Relu", new[] { bias ? Op(g, "Add", new[] { b, a }, "ab") : a }, "y"), ModelFactory.FloatType(Rows, N));
        Output(g, Op(g, "Add", new[] { Op(g, "MatMul", new[] { x, FloatInit(g, "W2", new long[] { K, N }, Values(K * N, 2)) }, "m2"), b }, "z"), ModelFactory.FloatType(Rows, N));
        return ModelFactory.Wrap(g);
    }

    /// <summary>Adds the output of the first <paramref name="opType"/> node to the graph outputs.</summary>
    private static Model Exposing(Model m, string opType)
    {
        m.Graph.Outputs.Add(m.Graph.Nodes.First(n => n.OpType == opType).Outputs[0]);
        return m;
    }

    private static float[] Run(Model m, string name) => TensorProtoData.Floats(OrtCheck.Run(ModelWriter.ToBytes(m), Feed())[name].AsTensor());

    private static void AssertShifted(float[] before, float[] after, bool relu)
    {
        for (int i = 0; i < before.Length; i++)
        {
            float expected = relu ? before[i] : before[i] + Delta[i % N];
            Assert.That(after[i], Is.EqualTo(expected).Within(1e-5), $"element {i}");
        }
    }

    [Test]
    public void MatMulWithABiasAddTakesTheShiftInItsBiasAndLeavesTheSharedOneAlone()
    {
        var model = Layers(bias: true);
        var yBefore = Run(model, "y");
        var preRelu = Run(Exposing(Layers(bias: true), "Add"), "ab");
        var zBefore = Run(model, "z");
        Assert.That(BiasShift.Apply(model, "W1", Delta), Is.EqualTo(BiasShift.Where.ExistingBias));
        Assert.That(model.Graph.Nodes.Count, Is.EqualTo(5), "no node added");
        Exposing(model, "Add");
        AssertShifted(preRelu, Run(model, "ab"), relu: false);
        AssertShifted(zBefore, Run(model, "z"), relu: true);   // the other reader of b: unchanged
        var y = Run(model, "y");
        for (int i = 0; i < y.Length; i++) Assert.That(y[i], Is.EqualTo(Math.Max(0, preRelu[i] + Delta[i % N])).Within(1e-5));
        Assert.That(yBefore, Is.Not.EqualTo(y));
    }

    [Test]
    public void MatMulWithoutABiasGetsAnAddAndAGraphOutputKeepsItsName()
    {
        var model = Layers(bias: false);
        var preRelu = Run(Exposing(Layers(bias: false), "MatMul"), "a");
        Exposing(model, "MatMul");   // "a" is now also a graph output
        Assert.That(BiasShift.Apply(model, "W1", Delta), Is.EqualTo(BiasShift.Where.NewAdd));
        Assert.That(OutputNames(model.Graph), Is.EqualTo(new[] { "y", "z", "a" }));
        Assert.That(model.Graph.Nodes.First(n => n.OpType == "Relu").Inputs[0]!.Name, Is.EqualTo("a"), "the shifted value keeps the layer output's name");
        Assert.That(model.Graph.Nodes.First(n => n.OpType == "Relu").Inputs[0]!.Producer!.OpType, Is.EqualTo("Add"));
        AssertShifted(preRelu, Run(model, "a"), relu: false);
        var y = Run(model, "y");
        for (int i = 0; i < y.Length; i++) Assert.That(y[i], Is.EqualTo(Math.Max(0, preRelu[i] + Delta[i % N])).Within(1e-5));
    }

    [Test]
    public void GemmTakesTheShiftInCDividedByBeta()
    {
        Model Build()
        {
            var g = new Graph("gemm");
            var x = Input(g, "x", ModelFactory.FloatType(Rows, K));
            Output(g, Op(g, "Gemm", new[] { x, FloatInit(g, "W", new long[] { N, K }, Values(K * N, 4)), FloatInit(g, "c", new long[] { N }, Values(N, 5)) }, "y",
                IrAttribute.FromInt("transB", 1), IrAttribute.FromFloat("beta", 0.5f)), ModelFactory.FloatType(Rows, N));
            return ModelFactory.Wrap(g);
        }
        var model = Build();
        var before = Run(model, "y");
        Assert.That(BiasShift.Apply(model, "W", Delta), Is.EqualTo(BiasShift.Where.ExistingBias));
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Gemm" }));
        AssertShifted(before, Run(model, "y"), relu: false);
    }

    [Test]
    public void AWeightNoLayerReadsIsAClearError()
    {
        var ex = Assert.Throws<OnnxRevException>(() => BiasShift.Apply(Layers(bias: true), "nope", Delta));
        Assert.That(ex!.Message, Does.Contain("'nope'"));
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Passes.Quantization.QuantTestModels;

namespace OnnxRev.Tests.Passes.Quantization;

public class StaticQdqQuantizationTests
{
    private static Dictionary<string, TensorRange> Ranges(params (string Name, float[] Values)[] tensors) =>
        tensors.ToDictionary(t => t.Name, t => new TensorRange(t.Values.Min(), t.Values.Max()));

    [TestCase(QuantType.UInt8, false, true)]
    [TestCase(QuantType.Int8, true, true)]
    [TestCase(QuantType.Int8, false, false)]
    public void MatMulWithCalibratedInputRangeStaysWithinTheRoundingBound(QuantType activations, bool symmetric, bool perChannel)
    {
        const int rows = 6, k = 48, n = 12;
        var model = MatMul(rows, k, n);
        var w = model.Graph.Initializers[0].Initializer!;
        var wv = w.ToFloatArray();
        var x = Random(rows * k, 5, 4f);
        var feeds = Feed("x", new long[] { rows, k }, x);
        var expected = RunFirst(model, feeds);
        var options = new QuantizationOptions { ActivationType = activations, SymmetricActivations = symmetric, PerChannel = perChannel };
        var pass = new StaticQdqQuantization(Ranges(("x", x)), options);
        pass.Run(model);
        Assert.That(pass.QuantizedNodes, Has.Count.EqualTo(1));
        var ops = model.Graph.Nodes.Select(nd => nd.OpType).ToList();
        Assert.That(ops.Count(o => o == "DequantizeLinear"), Is.EqualTo(2));
        Assert.That(model.Graph.Initializers.Any(v => v.Initializer!.DataType == (int)Schema.TensorProto.Types.DataType.Float && v.Initializer.ElementCount == k * n), Is.False, "the float weight is gone");
        var actual = RunFirst(model, feeds);
        var px = QuantMath.FromRange(x.Min(), x.Max(), activations, symmetric);
        var q = QuantizedWeight.Quantize(w, perChannel ? 1 : null, QuantType.Int8, true);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < n; c++)
            {
                float sw = q.Scales[perChannel ? c : 0];
                double bound = 0;
                for (int i = 0; i < k; i++) bound += Math.Abs(x[r * k + i]) * sw / 2 + Math.Abs(wv[i * n + c]) * px.Scale / 2 + px.Scale * sw / 4;
                Assert.That(Math.Abs(actual[r * n + c] - expected[r * n + c]), Is.LessThanOrEqualTo(bound * 1.0001 + 1e-5), $"y[{r},{c}]");
            }
    }

    [Test]
    public void DequantizedWeightsReproduceTheFloatWeightsWithinHalfAStep()
    {
        var model = Conv(3, 5, 6);
        var w = model.Graph.Initializers[0].Initializer!;
        var wv = w.ToFloatArray();
        var x = Random(3 * 36, 2);
        var conv = RunFirst(ConvOnly(), Feed("x", new long[] { 1, 3, 6, 6 }, x));
        var pass = new StaticQdqQuantization(new Dictionary<string, TensorRange> { ["x"] = new(x.Min(), x.Max()), ["y"] = new(0, conv.Max()) });
        pass.Run(model);
        // Run just the weight's DequantizeLinear in ORT by exposing it as an output.
        var dq = model.Graph.Nodes.First(nd => nd.OpType == "DequantizeLinear" && nd.Inputs[0]!.Initializer?.DataType == (int)Schema.TensorProto.Types.DataType.Int8);
        model.Graph.Outputs.Add(dq.Outputs[0]);
        var outs = OrtCheck.Run(Serialization.ModelWriter.ToBytes(model), Feed("x", new long[] { 1, 3, 6, 6 }, x));
        var deq = Floats(outs[dq.Outputs[0].Name]);
        var scales = new Tensor(model.Graph.Initializers.First(v => v == dq.Inputs[1]).Initializer!.Proto).ToFloatArray();
        Assert.That(scales, Has.Length.EqualTo(5), "one scale per output channel");
        for (int i = 0; i < wv.Length; i++) Assert.That(Math.Abs(deq[i] - wv[i]), Is.LessThanOrEqualTo(scales[i / 27] / 2 * 1.0001), $"w[{i}]");
    }

    private static Model ConvOnly() => Conv(3, 5, 6, relu: false);

    [TestCase(false)]
    [TestCase(true)]
    public void OrtRunsTheQdqConvAsQLinearConv(bool symmetric)
    {
        var model = Conv(8, 16, 10);
        var x = Random(8 * 100, 3);
        var conv = RunFirst(Conv(8, 16, 10, relu: false), Feed("x", new long[] { 1, 8, 10, 10 }, x));
        var ranges = new Dictionary<string, TensorRange> { ["x"] = new(x.Min(), x.Max()), ["y"] = new(0, conv.Max()), ["conv"] = new(conv.Min(), conv.Max()) };
        var options = new QuantizationOptions { SymmetricActivations = symmetric, ActivationType = symmetric ? QuantType.Int8 : QuantType.UInt8 };
        new StaticQdqQuantization(ranges, options).Run(model);
        // Numerics (ORT optimizations off): within the rounding bound of the 72 products, the output step and the bias step.
        var expected = RunFirst(Conv(8, 16, 10), Feed("x", new long[] { 1, 8, 10, 10 }, x));
        var actual = RunFirst(model, Feed("x", new long[] { 1, 8, 10, 10 }, x));
        var px = QuantMath.FromRange(x.Min(), x.Max(), options.ActivationType, symmetric);
        var py = symmetric ? QuantMath.FromRange(conv.Min(), conv.Max(), QuantType.Int8, true) : QuantMath.FromRange(0, conv.Max(), QuantType.UInt8, false);
        var w = Conv(8, 16, 10).Graph.Initializers[0].Initializer!;
        var wv = w.ToFloatArray();
        var qw = QuantizedWeight.Quantize(w, 0, QuantType.Int8, true);
        float xmax = x.Max(Math.Abs);
        for (int m = 0; m < 16; m++)
        {
            float wmax = Enumerable.Range(0, 72).Max(i => Math.Abs(wv[m * 72 + i]));
            double bound = 72 * (xmax * qw.Scales[m] / 2 + wmax * px.Scale / 2 + px.Scale * qw.Scales[m] / 4) + py.Scale / 2 + px.Scale * qw.Scales[m] / 2;
            for (int i = 0; i < 100; i++)
                Assert.That(Math.Abs(actual[m * 100 + i] - expected[m * 100 + i]), Is.LessThanOrEqualTo(bound * 1.0001), $"channel {m}");
        }
        var ops = OptimizedOps(model);
        TestContext.Out.WriteLine("ORT optimized graph: " + string.Join(", ", ops.Select(kv => $"{kv.Key}×{kv.Value}")));
        Assert.That(ops.GetValueOrDefault("QLinearConv"), Is.EqualTo(1), string.Join(",", ops.Keys));
        Assert.That(ops.Keys, Does.Not.Contain("Conv"));
        if (!symmetric) Assert.That(ops.Keys, Does.Not.Contain("Relu"), "a uint8 zero point at 0 clips like Relu, so ORT drops it");
    }

    [Test]
    public void OrtRunsTheQdqGemmAsAnIntegerMatMul()
    {
        var model = Gemm(4, 64, 32);
        var x = Random(4 * 64, 3);
        var options = new QuantizationOptions();
        StaticQdqQuantization.Prepare(model, options);
        var plan = QdqPlan.For(model, options);
        Assert.That(plan.ActivationTensors, Has.Count.EqualTo(2), "input, and the MatMul output that feeds the bias Add");
        var data = new OnnxRev.Runtime.Data.Dataset(x, new long[4], new[] { 64 }, 1, "random rows");
        var ranges = OnnxRev.Runtime.Quantization.Calibrator.Collect(model, plan.ActivationTensors, data);
        new StaticQdqQuantization(ranges, options).Run(model);
        var ops = OptimizedOps(model);
        TestContext.Out.WriteLine("ORT optimized graph: " + string.Join(", ", ops.Select(kv => $"{kv.Key}×{kv.Value}")));
        Assert.That(ops.Keys, Does.Not.Contain("MatMul").And.Not.Contain("Gemm").And.Not.Contain("FusedMatMul"));
        Assert.That(ops.Keys.Any(o => o is "MatMulIntegerToFloat" or "QLinearMatMul" or "QGemm"), Is.True, string.Join(",", ops.Keys));
    }

    [Test]
    public void MissingRangeIsAClearError()
    {
        var model = MatMul(2, 4, 3);
        var e = Assert.Throws<OnnxRevException>(() => new StaticQdqQuantization(new Dictionary<string, TensorRange>()).Run(model));
        Assert.That(e!.Message, Does.Contain("'x'"));
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Serialization;
using static OnnxRev.Tests.Passes.Quantization.QuantTestModels;

namespace OnnxRev.Tests.Passes.Quantization;

public class DynamicQuantizationTests
{
    /// <summary>
    /// Bound on |ŷ − y| for y = x·W when x is quantized with scale sx and W per column with scales sw[j]:
    /// Σ_k (|x_k|·sw[j]/2 + |W_kj|·sx/2 + sx·sw[j]/4) — rounding of each factor by at most half a step.
    /// </summary>
    private static double Bound(float[] x, int k, float[] w, int n, int row, int col, float sx, float swj)
    {
        double b = 0;
        for (int i = 0; i < k; i++) b += Math.Abs(x[row * k + i]) * swj / 2 + Math.Abs(w[i * n + col]) * sx / 2 + sx * swj / 4;
        return b;
    }

    [TestCase(true)]
    [TestCase(false)]
    public void MatMulOutputsStayWithinTheRoundingBound(bool perChannel)
    {
        const int rows = 8, k = 64, n = 16;
        var model = MatMul(rows, k, n);
        var w = model.Graph.Initializers[0].Initializer!.ToFloatArray();
        var x = Random(rows * k, 7, 3f);
        var feeds = Feed("x", new long[] { rows, k }, x);
        var expected = RunFirst(model, feeds);
        var q = QuantizedWeight.Quantize(model.Graph.Initializers[0].Initializer!, perChannel ? 1 : null, QuantType.Int8, symmetric: true);
        var pass = new DynamicQuantization(new QuantizationOptions { PerChannel = perChannel });
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(model.Graph.Nodes.Select(nd => nd.OpType), Does.Contain("MatMulInteger").And.Not.Contain("MatMul"));
        var actual = RunFirst(model, feeds);
        float sx = (Math.Max(x.Max(), 0) - Math.Min(x.Min(), 0)) / 255f;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < n; c++)
            {
                double bound = Bound(x, k, w, n, r, c, sx, q.Scales[perChannel ? c : 0]);
                Assert.That(Math.Abs(actual[r * n + c] - expected[r * n + c]), Is.LessThanOrEqualTo(bound * 1.0001 + 1e-5), $"y[{r},{c}]");
            }
        // Not trivially exact: quantization really changed the numbers.
        Assert.That(actual.Zip(expected).Max(p => Math.Abs(p.First - p.Second)), Is.GreaterThan(0));
    }

    [TestCase(1f, 1f)]
    [TestCase(0.5f, 2f)]
    public void GemmWithTransBAlphaBetaAndBiasIsQuantized(float alpha, float beta)
    {
        const int rows = 4, k = 32, n = 10;
        var model = Gemm(rows, k, n, alpha, beta);
        var x = Random(rows * k, 9, 2f);
        var feeds = Feed("x", new long[] { rows, k }, x);
        var expected = RunFirst(model, feeds);
        var w = model.Graph.Initializers[0].Initializer!.ToFloatArray(); // [n, k]
        var pass = new DynamicQuantization();
        pass.Run(model);
        Assert.That(pass.QuantizedNodes, Is.EqualTo(new[] { "y_node" }));
        Assert.That(model.Graph.Nodes.Select(nd => nd.OpType), Does.Not.Contain("Gemm"));
        Assert.That(model.Graph.Outputs[0].Name, Is.EqualTo("y"));
        var actual = RunFirst(model, feeds);
        float sx = (Math.Max(x.Max(), 0) - Math.Min(x.Min(), 0)) / 255f;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < n; c++)
            {
                // Column c of alpha·Wᵀ, per-column symmetric int8 scale.
                float amax = Enumerable.Range(0, k).Max(i => Math.Abs(alpha * w[c * k + i]));
                double bound = 0;
                for (int i = 0; i < k; i++) bound += Math.Abs(x[r * k + i]) * amax / 127 / 2 + Math.Abs(alpha * w[c * k + i]) * sx / 2 + sx * amax / 127 / 4;
                Assert.That(Math.Abs(actual[r * n + c] - expected[r * n + c]), Is.LessThanOrEqualTo(bound * 1.0001 + 1e-5), $"y[{r},{c}]");
            }
    }

    [Test]
    public void KeepFloatByOpTypeOrNameLeavesNodesAlone()
    {
        var byType = Gemm(2, 8, 4);
        var pass = new DynamicQuantization(new QuantizationOptions { KeepFloat = QuantizationOptions.ParseKeepFloat("Gemm") });
        pass.Run(byType);
        Assert.That(pass.QuantizedNodes, Is.Empty);
        Assert.That(byType.Graph.Nodes.Select(nd => nd.OpType), Is.EqualTo(new[] { "Gemm" }));
        var byName = MatMul(2, 8, 4);
        new DynamicQuantization(new QuantizationOptions { KeepFloat = QuantizationOptions.ParseKeepFloat("y_node") }).Run(byName);
        Assert.That(byName.Graph.Nodes.Select(nd => nd.OpType), Is.EqualTo(new[] { "MatMul" }));
    }

    [Test]
    public void OrtFusesTheDynamicMatMulIntoItsIntegerKernel()
    {
        var model = MatMul(4, 64, 32);
        new DynamicQuantization().Run(model);
        var ops = OptimizedOps(model);
        Assert.That(ops.Keys, Does.Not.Contain("MatMul"), string.Join(",", ops.Keys));
        Assert.That(ops.GetValueOrDefault("DynamicQuantizeMatMul"), Is.EqualTo(1), string.Join(",", ops.Keys));
        TestContext.Out.WriteLine("ORT optimized graph: " + string.Join(", ", ops.Select(kv => $"{kv.Key}×{kv.Value}")));
    }

    [Test]
    public void ConvBecomesConvIntegerWithinTheRoundingBound()
    {
        var model = Conv(4, 6, 8, relu: false);
        var x = Random(4 * 64, 11, 2f);
        var feeds = Feed("x", new long[] { 1, 4, 8, 8 }, x);
        var expected = RunFirst(model, feeds);
        var w = model.Graph.Initializers[0].Initializer!;
        var wv = w.ToFloatArray();
        var q = QuantizedWeight.Quantize(w, 0, QuantType.Int8, true);
        new DynamicQuantization().Run(model);
        Assert.That(model.Graph.Nodes.Select(nd => nd.OpType), Does.Contain("ConvInteger").And.Not.Contain("Conv"));
        var actual = RunFirst(model, feeds);
        float sx = (Math.Max(x.Max(), 0) - Math.Min(x.Min(), 0)) / 255f;
        float xmax = x.Max(Math.Abs);
        for (int m = 0; m < 6; m++)
        {
            // 36 products per output; bound with the largest |x| and |w| of the channel.
            float wmax = Enumerable.Range(0, 36).Max(i => Math.Abs(wv[m * 36 + i]));
            double bound = 36 * (xmax * q.Scales[m] / 2 + wmax * sx / 2 + sx * q.Scales[m] / 4);
            for (int i = 0; i < 64; i++)
                Assert.That(Math.Abs(actual[m * 64 + i] - expected[m * 64 + i]), Is.LessThanOrEqualTo(bound), $"channel {m}");
        }
    }
}

public class PerTokenDynamicQuantizationTests
{
    [TestCase(OnnxRev.Runtime.OptimizationLevel.None, false)]
    [TestCase(OnnxRev.Runtime.OptimizationLevel.All, false)]
    [TestCase(OnnxRev.Runtime.OptimizationLevel.None, true)]
    [TestCase(OnnxRev.Runtime.OptimizationLevel.All, true)]
    public void PerTokenActivationsStayWithinEachRowsRoundingBound(OnnxRev.Runtime.OptimizationLevel level, bool batched)
    {
        const int rows = 6, k = 32, n = 8;
        var model = MatMul(rows, k, n);
        if (batched) model.Graph.Inputs[0].Type = Support.ModelFactory.FloatType(2, 3, k);
        if (batched) model.Graph.Outputs[0].Type = Support.ModelFactory.FloatType(2, 3, n);
        if (batched)
            foreach (var v in new[] { model.Graph.Inputs[0], model.Graph.Outputs[0] })
                for (int d = 0; d < 2; d++) { v.Type!.TensorType.Shape.Dim[d].ClearDimValue(); v.Type.TensorType.Shape.Dim[d].DimParam = d == 0 ? "batch" : "sequence"; }
        var w = model.Graph.Initializers[0].Initializer!;
        var wv = w.ToFloatArray();
        var x = Random(rows * k, 21, 1f);
        for (int i = 0; i < k; i++) x[2 * k + i] *= 100; // one outlier token
        var feeds = Feed("x", batched ? new long[] { 2, 3, k } : new long[] { rows, k }, x);
        var expected = RunFirst(model, feeds);
        var q = QuantizedWeight.Quantize(w, 1, QuantType.Int8, true);
        new DynamicQuantization(new QuantizationOptions { PerChannel = true, PerTokenActivations = true }).Run(model);
        using var runner = new OnnxRev.Runtime.OrtRunner(Serialization.ModelWriter.ToBytes(model), new OnnxRev.Runtime.RunnerOptions { OptimizationLevel = level });
        var actual = Floats(runner.Run(feeds).Values.First());
        for (int r = 0; r < rows; r++)
        {
            var row = Enumerable.Range(0, k).Select(i => x[r * k + i]).ToArray();
            float sx = (Math.Max(row.Max(), 0) - Math.Min(row.Min(), 0)) / 255f;
            for (int c = 0; c < n; c++)
            {
                double bound = 0;
                for (int i = 0; i < k; i++) bound += Math.Abs(x[r * k + i]) * q.Scales[c] / 2 + Math.Abs(wv[i * n + c]) * sx / 2 + sx * q.Scales[c] / 4;
                Assert.That(Math.Abs(actual[r * n + c] - expected[r * n + c]), Is.LessThanOrEqualTo(bound * 1.0001 + 1e-5), $"y[{r},{c}]");
            }
        }
    }
}

/// <summary>
/// Token-scaled activations: each row divided by its max |x| (and, for per-token nodes, centred), quantized per tensor
/// by DynamicQuantizeLinear (fused by ORT), the product multiplied back (and the centre added back through the weight's
/// column sums). Each row's error must stay within its own rounding bound, whose activation step is the normalized
/// tensor's step times that row's max |x| (centred: the row's range / 255) — an outlier token no longer coarsens the others.
/// </summary>
public class TokenScaledDynamicQuantizationTests
{
    [TestCase(OnnxRev.Runtime.OptimizationLevel.None, false)]
    [TestCase(OnnxRev.Runtime.OptimizationLevel.All, false)]
    [TestCase(OnnxRev.Runtime.OptimizationLevel.None, true)]
    [TestCase(OnnxRev.Runtime.OptimizationLevel.All, true)]
    public void EachRowStaysWithinItsOwnRoundingBound(OnnxRev.Runtime.OptimizationLevel level, bool centred)
    {
        const int rows = 6, k = 32, n = 8;
        var model = MatMul(rows, k, n);
        var w = model.Graph.Initializers[0].Initializer!;
        var wv = w.ToFloatArray();
        var x = Random(rows * k, 21, 1f);
        for (int i = 0; i < k; i++) x[2 * k + i] *= 100; // one outlier token
        for (int i = 0; i < k; i++) x[4 * k + i] = Math.Abs(x[4 * k + i]); // one one-sided row
        var feeds = Feed("x", new long[] { rows, k }, x);
        var expected = RunFirst(model, feeds);
        var q = QuantizedWeight.Quantize(w, 1, QuantType.Int8, true);
        new DynamicQuantization(new QuantizationOptions { PerChannel = true, TokenScaledActivations = true, PerTokenActivations = centred }).Run(model);
        Assert.That(model.Graph.Nodes.Select(nd => nd.OpType), Does.Contain("DynamicQuantizeLinear").And.Contain("ReduceMax").And.Not.Contain("QuantizeLinear"));
        Assert.That(model.Graph.Nodes.Any(nd => nd.OpType == "ReduceMin"), Is.EqualTo(centred));
        using var runner = new OnnxRev.Runtime.OrtRunner(Serialization.ModelWriter.ToBytes(model), new OnnxRev.Runtime.RunnerOptions { OptimizationLevel = level });
        var actual = Floats(runner.Run(feeds).Values.First());
        var rowMax = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, k).Max(i => Math.Abs(x[r * k + i]))).ToArray();
        var normalized = Enumerable.Range(0, rows * k).Select(i => x[i] / rowMax[i / k]).ToArray();
        float step = (Math.Max(normalized.Max(), 0) - Math.Min(normalized.Min(), 0)) / 255f;
        for (int r = 0; r < rows; r++)
        {
            // Centred rows fill [−1, 1]: the step is the row's own range / 255, as in asymmetric per-token quantization.
            float sx = centred
                ? (Enumerable.Range(0, k).Max(i => x[r * k + i]) - Enumerable.Range(0, k).Min(i => x[r * k + i])) / 255f
                : step * rowMax[r];
            for (int c = 0; c < n; c++)
            {
                double bound = 0;
                for (int i = 0; i < k; i++) bound += Math.Abs(x[r * k + i]) * q.Scales[c] / 2 + Math.Abs(wv[i * n + c]) * sx / 2 + sx * q.Scales[c] / 4;
                Assert.That(Math.Abs(actual[r * n + c] - expected[r * n + c]), Is.LessThanOrEqualTo(bound * 1.0001 + 1e-5), $"y[{r},{c}]");
            }
        }
    }

    [Test]
    public void OrtRunsItOnTheFusedKernel()
    {
        var model = MatMul(4, 16, 8);
        new DynamicQuantization(new QuantizationOptions { PerChannel = true, TokenScaledActivations = true }).Run(model);
        var ops = OptimizedOps(model);
        Assert.That(ops.GetValueOrDefault("DynamicQuantizeMatMul"), Is.EqualTo(1), string.Join(",", ops.Keys));
        Assert.That(ops.Keys, Does.Not.Contain("MatMulInteger"));
    }
}

public class DynamicQuantizationGraphFormTests
{
    [Test]
    public void ConstantNodeWeightsAndSharedInitializersAreQuantized()
    {
        // W in a Constant node (as some exporters write it) feeding one MatMul; V shared by two MatMuls.
        var g = new Graph("forms");
        var x = Support.GraphBuild.Input(g, "x", Support.ModelFactory.FloatType(2, 8));
        var w = Support.GraphBuild.ConstantTensor(g, "W", Support.GraphBuild.FloatTensor(new long[] { 8, 8 }, Random(64, 1)));
        var h = Support.GraphBuild.Op(g, "MatMul", new[] { x, w }, "h");
        var v = Support.GraphBuild.FloatInit(g, "V", new long[] { 8, 4 }, Random(32, 2));
        var y1 = Support.GraphBuild.Op(g, "MatMul", new[] { h, v }, "y1");
        var y2 = Support.GraphBuild.Op(g, "MatMul", new[] { x, v }, "y2");
        Support.GraphBuild.Output(g, y1, Support.ModelFactory.FloatType(2, 4));
        Support.GraphBuild.Output(g, y2, Support.ModelFactory.FloatType(2, 4));
        var model = Support.ModelFactory.Wrap(g, 13);
        var feeds = Feed("x", new long[] { 2, 8 }, Random(16, 3));
        var expected = Support.OrtCheck.Run(Serialization.ModelWriter.ToBytes(model), feeds);
        var pass = new DynamicQuantization(new QuantizationOptions { PerChannel = true });
        pass.Run(model);
        Assert.That(pass.QuantizedNodes, Has.Count.EqualTo(3));
        Assert.That(model.Graph.Initializers.Where(i => i.Initializer!.DataType == (int)Schema.TensorProto.Types.DataType.Float).Sum(i => i.Initializer!.ElementCount),
            Is.LessThan(64), "no float weight matrix is left");
        var actual = Support.OrtCheck.Run(Serialization.ModelWriter.ToBytes(model), feeds);
        foreach (var name in new[] { "y1", "y2" })
        {
            var a = Floats(actual[name]);
            var e = Floats(expected[name]);
            double scale = e.Max(Math.Abs);
            Assert.That(a.Zip(e).Max(p => Math.Abs(p.First - p.Second)), Is.LessThan(0.03 * scale), name);
        }
    }

    [Test]
    public void Opset8GemmModelIsUpgradedThenQuantized()
    {
        var model = Gemm(2, 16, 4);
        model.SetOpsetVersion("", 8);
        model.IrVersion = 3;
        var pass = new DynamicQuantization();
        pass.Run(model);
        Assert.That(model.OpsetVersion(""), Is.EqualTo(13));
        Assert.That(pass.QuantizedNodes, Has.Count.EqualTo(1));
        Assert.That(RunFirst(model, Feed("x", new long[] { 2, 16 }, Random(32, 4))), Has.Length.EqualTo(8));
    }
}

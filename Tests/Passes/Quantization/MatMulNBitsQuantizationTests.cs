using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>
/// The int4 pass in stock ONNX Runtime (CPU, graph optimizations off): the MatMulNBits model must agree with a float
/// model whose weights are the dequantized 4-bit values within 1e-5 relative (this checks the packing ORT reads,
/// apart from the rounding), and with the original within the rounding bound Σ_k |a_k|·err(n, k) (err = scale/2
/// symmetric, one scale asymmetric).
/// </summary>
public class MatMulNBitsQuantizationTests
{
    private static float[] Random(int n, int seed, float amp = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * amp).ToArray();
    }

    /// <summary>x [2, 3, K] · W [K, N] (+ a second MatMul sharing W) → y, z.</summary>
    private static Model MatMulModel(int k, int n, bool constantNode)
    {
        var g = new Graph("mm");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3, k));
        var wData = Random(k * n, 7);
        var w = constantNode ? ConstantTensor(g, "W", FloatTensor(new long[] { k, n }, wData)) : FloatInit(g, "W", new long[] { k, n }, wData);
        var y = Op(g, "MatMul", new[] { x, w }, "y");
        var r = Op(g, "Relu", new[] { x }, "r");
        var z = Op(g, "MatMul", new[] { r, w }, "z");
        Output(g, y, ModelFactory.FloatType(2, 3, n));
        Output(g, z, ModelFactory.FloatType(2, 3, n));
        return ModelFactory.Wrap(g);
    }

    private static Dictionary<string, double[]> RunAll(byte[] model, IReadOnlyDictionary<string, DataValue> feeds)
    {
        using var runner = new OrtRunner(model, OrtCheck.NoOpt, "int4 test");
        return runner.Run(feeds).ToDictionary(kv => kv.Key, kv => GradCheck.ToDoubles(kv.Value.AsTensor()));
    }

    /// <summary>The original model with each quantized weight replaced by its dequantized 4-bit values (read back from the packed bytes).</summary>
    private static Model Dequantized(Model original, Model quantized)
    {
        var m = ModelReader.FromProto(ModelWriter.ToProto(original), null, "copy");
        new OnnxRev.Passes.Cleanup.ConstantsToInitializers().Run(m);
        foreach (var node in quantized.Graph.Nodes.Where(n => n.OpType == "MatMulNBits"))
        {
            int k = (int)node.Attributes.GetInt("K", 0), n = (int)node.Attributes.GetInt("N", 0), bs = (int)node.Attributes.GetInt("block_size", 0);
            var q = new BlockQuantized(n, k, bs, node.Inputs[1]!.Initializer!.ReadRawBytes(), node.Inputs[2]!.Initializer!.ToFloatArray(),
                node.Inputs.Count > 3 ? node.Inputs[3]!.Initializer!.ReadRawBytes() : null);
            string weight = node.Inputs[1]!.Name[..node.Inputs[1]!.Name.LastIndexOf("_q4", StringComparison.Ordinal)];
            var v = m.Graph.Initializers.First(i => i.Name == weight);
            var kn = q.DequantizeKN();
            bool transposed = v.Initializer!.Dims[0] == n && v.Initializer.Dims[1] == k && !(k == n && v.Initializer.Dims[0] == k);
            float[] data = kn;
            if (transposed)
            {
                data = new float[kn.Length];
                for (int i = 0; i < k; i++) for (int j = 0; j < n; j++) data[(long)j * k + i] = kn[(long)i * n + j];
            }
            m.Graph.ReplaceInitializer(v, Tensor.FromFloats(weight, v.Initializer.Dims, data));
        }
        return m;
    }

    private static float[] QuantizationGraphWeights(Model original)
    {
        var m = ModelReader.FromProto(ModelWriter.ToProto(original), null, "copy");
        new OnnxRev.Passes.Cleanup.ConstantsToInitializers().Run(m);
        return m.Graph.Initializers.First(v => v.Name == "W").Initializer!.ToFloatArray();
    }

    private static void AssertClose(Dictionary<string, double[]> actual, Dictionary<string, double[]> expected, double rtol, string what)
    {
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            double scale = e.Max(Math.Abs);
            for (int i = 0; i < e.Length; i++)
                Assert.That(Math.Abs(a[i] - e[i]), Is.LessThanOrEqualTo(rtol * scale + 1e-6), $"{what}: output {name}[{i}] {a[i]} vs {e[i]}");
        }
    }

    [TestCase(64, 24, 32, true, false)]
    [TestCase(70, 24, 32, true, true)]      // K not a multiple of the block: the last block is padded
    [TestCase(70, 9, 16, false, false)]     // asymmetric: packed zero points, odd block count
    [TestCase(200, 33, 64, false, true)]
    [TestCase(48, 16, 128, true, false)]    // one block longer than K
    [TestCase(300, 20, 256, false, false)]
    public void MatMulAgreesWithTheDequantizedWeights(int k, int n, int blockSize, bool symmetric, bool constantNode)
    {
        var model = MatMulModel(k, n, constantNode);
        var originalBytes = ModelWriter.ToBytes(model);
        var original = ModelReader.FromProto(ModelWriter.ToProto(model), null, "original");
        var pass = new MatMulNBitsQuantization(new Int4Options(blockSize, symmetric));
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(pass.QuantizedNodes, Is.EqualTo(2));
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "MatMulNBits"), Is.EqualTo(2));
        Assert.That(model.Graph.Initializers.Count(v => v.Name.EndsWith("_q4", StringComparison.Ordinal)), Is.EqualTo(1), "the shared weight is quantized once");
        Assert.That(model.Graph.Initializers.Any(v => v.Name == "W"), Is.False, "the float weight is gone");
        var feeds = Feeds.Floats("x", new long[] { 2, 3, k }, Random(6 * k, 3));
        var actual = RunAll(ModelWriter.ToBytes(model), feeds);
        AssertClose(actual, RunAll(ModelWriter.ToBytes(Dequantized(original, model)), feeds), 1e-5, "vs dequantized float weights");

        // vs the original: within Σ_k |a_k|·|w_kn − ŵ_kn| (ŵ read back from the packed bytes), per output element.
        var expected = RunAll(originalBytes, feeds);
        var q = model.Graph.Nodes.First(x => x.OpType == "MatMulNBits");
        var bq = new BlockQuantized(n, k, blockSize, q.Inputs[1]!.Initializer!.ReadRawBytes(), q.Inputs[2]!.Initializer!.ToFloatArray(),
            q.Inputs.Count > 3 ? q.Inputs[3]!.Initializer!.ReadRawBytes() : null);
        var deq = bq.DequantizeKN();
        var w = QuantizationGraphWeights(original);
        for (int i = 0; i < w.Length; i++)
        {
            int kk = i / n, j = i % n, blk = kk / blockSize;
            float s = bq.Scales[j * bq.Blocks + blk];
            int zp = bq.ZeroPoint(j, blk);
            double lo = -zp * (double)s, hi = (15 - zp) * (double)s, clipped = Math.Max(0, Math.Max(w[i] - hi, lo - w[i]));
            Assert.That(Math.Abs(w[i] - deq[i]), Is.LessThanOrEqualTo(s * 0.5 * 1.0001 + clipped), "rounding error ≤ scale/2 except for values outside the block's (searched) range");
        }
        var xs = GradCheck.ToDoubles(feeds["x"].AsTensor());
        double worst = 0;
        foreach (var name in new[] { "y", "z" })
            for (int row = 0; row < 6; row++)
                for (int j = 0; j < n; j++)
                {
                    double bound = 1e-5;
                    for (int kk = 0; kk < k; kk++)
                    {
                        double a = xs[row * k + kk];
                        if (name == "z") a = Math.Max(a, 0);
                        bound += Math.Abs(a) * Math.Abs(w[kk * n + j] - deq[kk * n + j]) * 1.0001;
                    }
                    double err = Math.Abs(actual[name][row * n + j] - expected[name][row * n + j]);
                    worst = Math.Max(worst, err / bound);
                    Assert.That(err, Is.LessThanOrEqualTo(bound), $"{name}[{row},{j}] exceeds the rounding bound");
                }
        TestContext.Out.WriteLine($"K={k} N={n} block={blockSize} symmetric={symmetric}: worst error / bound = {worst:F3}");
    }

    [TestCase(1, 0.5f, 2f)]
    [TestCase(0, 1f, 1f)]
    [TestCase(1, 1f, 1f)]
    public void GemmWithBiasAlphaBetaAndTransB(int transB, float alpha, float beta)
    {
        const int m = 5, k = 40, n = 12;
        var g = new Graph("gemm");
        var x = Input(g, "x", ModelFactory.FloatType(m, k));
        var b = FloatInit(g, "B", transB == 1 ? new long[] { n, k } : new long[] { k, n }, Random(k * n, 4));
        var c = FloatInit(g, "C", new long[] { n }, Random(n, 5));
        var y = Op(g, "Gemm", new[] { x, b, c }, "y", Attr.FromInt("transB", transB), Attr.FromFloat("alpha", alpha), Attr.FromFloat("beta", beta));
        Output(g, y, ModelFactory.FloatType(m, n));
        var model = ModelFactory.Wrap(g, 13);
        var original = ModelReader.FromProto(ModelWriter.ToProto(model), null, "original");
        var pass = new MatMulNBitsQuantization();
        pass.Run(model);
        Assert.That(OpTypes(model), Does.Contain("MatMulNBits").And.Not.Contain("Gemm"));
        var feeds = Feeds.Floats("x", new long[] { m, k }, Random(m * k, 3));
        var reference = Dequantized(original, model);
        // α was folded into the scales; the dequantized reference carries it in its weights, so drop α from its Gemm.
        if (alpha != 1f)
        {
            var gemm = reference.Graph.Nodes.First(x => x.OpType == "Gemm");
            gemm.Attributes.Set(Attr.FromFloat("alpha", 1f));
        }
        AssertClose(RunAll(ModelWriter.ToBytes(model), feeds), RunAll(ModelWriter.ToBytes(reference), feeds), 1e-5, "vs dequantized");
        AssertClose(RunAll(ModelWriter.ToBytes(model), feeds), RunAll(ModelWriter.ToBytes(original), feeds), 0.15, "vs original");
    }

    /// <summary>
    /// Per-weight formats and float16 scales: one shared weight 8-bit, another 4-bit, scales stored as float16 behind a
    /// Cast. ORT's output must equal a float MatMul with the weights rebuilt from the stored codes, float16 scales and
    /// zero points (the layout ORT reads for 8 bits: one code per byte, one zero point per block); the stored bytes
    /// follow <see cref="WeightFormat.BitsPerWeight"/>; 8 bits lands far closer to the original than 4.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void EightBitAndHalfScaleFormatsAgreeWithTheStoredCodes(bool symmetric)
    {
        const int k = 96, n = 40;
        var g = new Graph("mixed");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3, k));
        var w8 = FloatInit(g, "W8", new long[] { k, n }, Random(k * n, 11));
        var w4 = FloatInit(g, "W4", new long[] { n, n }, Random(n * n, 12));
        var h = Op(g, "MatMul", new[] { x, w8 }, "h");
        Output(g, Op(g, "MatMul", new[] { h, w4 }, "y"), ModelFactory.FloatType(2, 3, n));
        var model = ModelFactory.Wrap(g);
        var original = ModelReader.FromProto(ModelWriter.ToProto(model), null, "original");
        var formats = new Dictionary<string, WeightFormat> { ["W8"] = new(8, 32), ["W4"] = new(4, 16) };
        var pass = new MatMulNBitsQuantization(new Int4Options(32, symmetric, HalfScales: true, PerWeight: formats));
        pass.Run(model);
        Assert.That(pass.QuantizedNodes, Is.EqualTo(2));
        // W8: K 96 = 3 blocks of 32, one byte per code and per zero point; W4: K 40 → 3 blocks of 16 (the last padded),
        // two codes per byte, zero points packed two per byte per row (⌈3/2⌉ = 2 bytes). Scales: 2 bytes per block.
        long expectedBytes = (n * 3 * 32 + 2 * n * 3 + (symmetric ? 0 : n * 3)) + (n * 3 * 8 + 2 * n * 3 + (symmetric ? 0 : n * 2));
        Assert.That(pass.WeightBytes.QuantizedBytes, Is.EqualTo(expectedBytes), "codes + float16 scales + zero points");
        Assert.That(formats["W8"].BitsPerWeight(true, symmetric) * k * n / 8, Is.EqualTo(n * 3 * 32 + 2 * n * 3 + (symmetric ? 0 : n * 3)), "no padding: the per-weight rate is exact");

        var reference = ModelReader.FromProto(ModelWriter.ToProto(original), null, "dequantized");
        foreach (var node in model.Graph.Nodes.Where(x => x.OpType == "MatMulNBits"))
        {
            int bits = (int)node.Attributes.GetInt("bits", 0), bs = (int)node.Attributes.GetInt("block_size", 0), nk = (int)node.Attributes.GetInt("K", 0), nn = (int)node.Attributes.GetInt("N", 0);
            var cast = node.Inputs[2]!.Producer;
            Assert.That(cast?.OpType, Is.EqualTo("Cast"), "float16 scales are read through a Cast");
            var half = cast!.Inputs[0]!.Initializer!;
            Assert.That(half.DataType, Is.EqualTo((int)OnnxRev.Schema.TensorProto.Types.DataType.Float16));
            var raw = half.ReadRawBytes();
            var scales = Enumerable.Range(0, raw.Length / 2).Select(i => (float)BitConverter.ToHalf(raw, 2 * i)).ToArray();
            var q = new BlockQuantized(nn, nk, bs, node.Inputs[1]!.Initializer!.ReadRawBytes(), scales,
                node.Inputs.Count > 3 ? node.Inputs[3]!.Initializer!.ReadRawBytes() : null, bits);
            Assert.That(node.Inputs[1]!.Initializer!.Dims, Is.EqualTo(new long[] { nn, q.Blocks, bs * bits / 8 }));
            string weight = nk == k ? "W8" : "W4";
            Assert.That(bits, Is.EqualTo(formats[weight].Bits));
            var v = reference.Graph.Initializers.First(i => i.Name == weight);
            reference.Graph.ReplaceInitializer(v, Tensor.FromFloats(weight, v.Initializer!.Dims, q.DequantizeKN()));
        }
        var feeds = Feeds.Floats("x", new long[] { 2, 3, k }, Random(6 * k, 3));
        var actual = RunAll(ModelWriter.ToBytes(model), feeds);
        AssertClose(actual, RunAll(ModelWriter.ToBytes(reference), feeds), 1e-5, "vs the stored codes");

        // 8 bits alone vs 4 bits alone on the first weight: relative output error of h.
        double Error(WeightFormat f)
        {
            var m = ModelReader.FromProto(ModelWriter.ToProto(original), null, "one");
            new MatMulNBitsQuantization(new Int4Options(32, symmetric, KeepFloat: new HashSet<string> { "W4" }, HalfScales: true, PerWeight: new Dictionary<string, WeightFormat> { ["W8"] = f })).Run(m);
            var a = RunAll(ModelWriter.ToBytes(m), feeds)["y"];
            var e = RunAll(ModelWriter.ToBytes(original), feeds)["y"];
            return Math.Sqrt(a.Zip(e).Sum(t => (t.First - t.Second) * (t.First - t.Second)) / e.Sum(t => t * t));
        }
        double e8 = Error(new WeightFormat(8, 32)), e4 = Error(new WeightFormat(4, 32));
        TestContext.Out.WriteLine($"symmetric={symmetric}: relative error 8-bit {e8:E2}, 4-bit {e4:E2}");
        Assert.That(e8, Is.LessThan(e4 / 8), "255 steps instead of 15: the error shrinks by about 16×");
    }

    [Test]
    public void MatMulWeightsAreOverSixTimesSmaller()
    {
        var model = MatMulModel(256, 64, false);
        var pass = new MatMulNBitsQuantization();
        pass.Run(model);
        var (f, q) = pass.WeightBytes;
        Assert.That(f, Is.EqualTo(256 * 64 * 4));
        Assert.That((double)f / q, Is.GreaterThanOrEqualTo(6.0), $"{f} → {q} bytes");
    }

    [Test]
    public void AccuracyLevelFourRunsInOrt()
    {
        StandardPasses.Register();
        var model = MatMulModel(64, 16, false);
        var original = ModelWriter.ToBytes(model);
        PassRegistry.Create("int4", new PassOptions(new Dictionary<string, string?> { ["accuracy-level"] = "4", ["block-size"] = "16" })).Run(model);
        var feeds = Feeds.Floats("x", new long[] { 2, 3, 64 }, Random(6 * 64, 3));
        AssertClose(RunAll(ModelWriter.ToBytes(model), feeds), RunAll(original, feeds), 0.1, "accuracy level 4");
    }

    [Test]
    public void KeepFloatAndIneligibleWeightsStay()
    {
        var model = MatMulModel(64, 16, false);
        var pass = new MatMulNBitsQuantization(new Int4Options(KeepFloat: new HashSet<string> { "y_node" }));
        pass.Run(model);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "MatMul", "Relu", "MatMulNBits" }));
        var g = new Graph("dyn");
        var a = Input(g, "a", ModelFactory.FloatType(3, 4));
        var b = Input(g, "b", ModelFactory.FloatType(4, 5));
        Output(g, Op(g, "MatMul", new[] { a, b }, "y"), ModelFactory.FloatType(3, 5));
        var dyn = ModelFactory.Wrap(g);
        Assert.That(new MatMulNBitsQuantization().Run(dyn).Modified, Is.False, "a weight that is a graph input is not constant");
    }

    [Test]
    public void BadBlockSizeIsRefused()
    {
        StandardPasses.Register();
        Assert.That(() => PassRegistry.Create("int4", new PassOptions(new Dictionary<string, string?> { ["block-size"] = "24" })),
            Throws.TypeOf<OnnxRevException>().With.Message.Contains("--block-size"));
        Assert.That(() => new MatMulNBitsQuantization(new Int4Options(PerWeight: new Dictionary<string, WeightFormat> { ["W"] = new(3, 32) })),
            Throws.TypeOf<OnnxRevException>().With.Message.Contains("4 or 8 bits"));
    }
}

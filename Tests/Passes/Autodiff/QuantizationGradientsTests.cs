using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>
/// Gradient rules of the quantization ops, by finite differences in ORT. DequantizeLinear and MatMulNBits have
/// float32 kernels only, so these checks run in float32: the losses are linear in the checked input, so central
/// differences with ε = 0.1 are exact up to float32 rounding (a large step keeps that rounding small), and the tolerance is |analytic − numeric| ≤
/// 1e-4 + 1e-3·|numeric|. The straight-through estimator of QuantizeLinear → DequantizeLinear is compared with
/// finite differences of its surrogate, Clip(x, (q_min − z)·s, (q_max − z)·s).
/// </summary>
public class QuantizationGradientsTests
{
    private const int F = (int)DT.Float;

    private static GradCheck Float32(string op, IReadOnlyList<GradInput?> inputs, Func<Graph, IReadOnlyList<Value?>, IReadOnlyList<Value>> build, int opset = 19) => new()
    {
        Op = op, Inputs = inputs, Build = build, Opset = opset, FloatType = F, Eps = 1e-1, Rtol = 1e-3, Atol = 1e-4,
    };

    private static double[] Ints(int n, int lo, int hi, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (double)rng.Next(lo, hi + 1)).ToArray();
    }

    private static Value Node(Graph g, string op, Value?[] inputs, params Attr[] attrs)
    {
        var o = new Value(g.Model!.Names.Fresh(op.ToLowerInvariant()));
        var n = new Node(op, inputs, new[] { o }, name: g.Model.Names.Fresh(op + "_node"));
        n.Attributes.AddRange(attrs);
        g.Append(n);
        return o;
    }

    [TestCase(new long[] { 3, 4 }, new long[0], 1, (int)DT.Int8)]
    [TestCase(new long[] { 3, 4 }, new long[] { 4 }, 1, (int)DT.Uint8)]
    [TestCase(new long[] { 3, 4 }, new long[] { 3 }, 0, (int)DT.Int8)]
    [TestCase(new long[] { 2, 3, 4 }, new long[] { 3 }, 1, (int)DT.Uint8)]
    [TestCase(new long[] { 5 }, new long[] { 5 }, 0, (int)DT.Int8)]
    [TestCase(new long[] { 2, 3 }, new long[] { 1 }, 1, (int)DT.Int8)]
    public void DequantizeLinearScale(long[] x, long[] s, int axis, int codeType)
    {
        long n = x.Aggregate(1L, (a, b) => a * b), c = s.Aggregate(1L, (a, b) => a * b);
        var (lo, hi) = codeType == (int)DT.Int8 ? (-128, 127) : (0, 255);
        Float32("DequantizeLinear", new GradInput?[]
        {
            new(x, Differentiable: false, Values: Ints((int)n, lo, hi, 1), ElemType: codeType),
            new(s),
            new(s, Differentiable: false, Values: Ints((int)c, lo / 4, hi / 4, 2), ElemType: codeType),
        }, (g, i) => new[] { Node(g, "DequantizeLinear", new[] { i[0], i[1], i[2] }, Attr.FromInt("axis", axis)) }).Run();
    }

    [Test]
    public void MatMulThroughAFrozenDequantizedWeight() => Float32("MatMul(A, DequantizeLinear(Wq))", new GradInput?[]
    {
        new(new long[] { 2, 3, 4 }),
        new(new long[] { 4, 5 }, Differentiable: false, Values: Ints(20, -127, 127, 3), ElemType: (int)DT.Int8),
        new(new long[] { 5 }, Differentiable: false, Values: new[] { 0.01, 0.02, 0.005, 0.03, 0.015 }),
    }, (g, i) => new[] { Node(g, "MatMul", new[] { i[0], Node(g, "DequantizeLinear", new[] { i[1], i[2] }, Attr.FromInt("axis", 1)) }) }).Run();

    [TestCase(40, 6, 16, true, false)]
    [TestCase(64, 7, 32, false, false)]
    [TestCase(50, 5, 16, false, true)]
    [TestCase(32, 9, 32, true, true)]
    public void MatMulNBitsInputAndBias(int k, int n, int blockSize, bool symmetric, bool bias)
    {
        var rng = new Random(k + n);
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var q = BlockQuantizer.Quantize(w, n, k, blockSize, symmetric);
        var inputs = new List<GradInput?>
        {
            new(new long[] { 2, 3, k }),
            new(new long[] { n, q.Blocks, q.BlobSize }, Differentiable: false, Values: q.Packed.Select(b => (double)b).ToArray(), ElemType: (int)DT.Uint8),
            new(new long[] { q.Scales.Length }, Differentiable: false, Values: q.Scales.Select(x => (double)x).ToArray()),
            symmetric ? null : new GradInput(new long[] { q.ZeroPoints!.Length }, Differentiable: false, Values: q.ZeroPoints.Select(b => (double)b).ToArray(), ElemType: (int)DT.Uint8),
            null,
        };
        if (bias) inputs.Add(new GradInput(new long[] { n }));
        Float32("MatMulNBits", inputs, (g, i) =>
        {
            g.Model!.SetOpsetVersion("com.microsoft", 1);
            var o = new Value("nbits_y");
            var node = new Node("MatMulNBits", i, new[] { o }, "com.microsoft", "nbits");
            node.Attributes.AddRange(new[] { Attr.FromInt("K", k), Attr.FromInt("N", n), Attr.FromInt("bits", 4), Attr.FromInt("block_size", blockSize) });
            g.Append(node);
            return new[] { o };
        }).Run();
    }

    /// <summary>Q → DQ with per-axis int8 and per-tensor uint8 parameters: the STE gradient equals the clip surrogate's, by finite differences.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public void FakeQuantStraightThroughMatchesItsClipSurrogate(bool perAxis)
    {
        const int rows = 3, cols = 4;
        var rng = new Random(5);
        var x = Enumerable.Range(0, rows * cols).Select(_ => (rng.NextDouble() * 2 - 1) * 2.5).ToArray();
        double[] scale = perAxis ? new[] { 0.01, 0.015, 0.02, 0.008 } : new[] { 0.012 };
        double[] zp = perAxis ? new double[] { 0, 5, -3, 0 } : new double[] { 128 };
        int codeType = perAxis ? (int)DT.Int8 : (int)DT.Uint8;
        var (qmin, qmax) = perAxis ? (-128.0, 127.0) : (0.0, 255.0);
        var r = Enumerable.Range(0, rows * cols).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

        // Forward Y = DQ(Q(x)), loss = Σ Y·R, gradient by the engine, run in ORT.
        var g = new Graph("fq");
        var xv = GraphBuild.Input(g, "x", ModelFactory.FloatType(rows, cols));
        var model = ModelFactory.Wrap(g, 19);
        var sv = g.AddInitializer(new Value("s"), new Tensor(GradCheck.Make("s", F, perAxis ? new long[] { cols } : Array.Empty<long>(), scale)));
        var zv = g.AddInitializer(new Value("z"), new Tensor(GradCheck.Make("z", codeType, perAxis ? new long[] { cols } : Array.Empty<long>(), zp)));
        var axis = Attr.FromInt("axis", 1);
        var y = Node(g, "DequantizeLinear", new[] { Node(g, "QuantizeLinear", new[] { xv, sv, zv }, axis), sv, zv }, axis);
        var rv = g.AddInitializer(new Value("r"), new Tensor(GradCheck.Make("r", F, new long[] { rows, cols }, r)));
        var loss = Node(g, "ReduceSum", new[] { Node(g, "Mul", new[] { y, rv }) }, Attr.FromInt("keepdims", 0));
        var one = g.AddInitializer(new Value("one"), Tensor.FromFloats("one", Array.Empty<long>(), new[] { 1f }));
        var result = GradientEngine.Build(model, new Dictionary<Value, Value> { [loss] = one }, new[] { xv }, StandardGradients.Registry);
        g.Outputs.Add(result.Gradients[0].Gradient);
        using var runner = new OrtRunner(ModelWriter.ToBytes(model), OrtCheck.NoOpt, "fake quant gradient");
        var feeds = new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(GradCheck.Make("x", F, new long[] { rows, cols }, x)) };
        var analytic = GradCheck.ToDoubles(runner.Run(feeds).Values.Single().AsTensor());

        // Surrogate: Clip(x, (q_min − z)·s, (q_max − z)·s) per column; its gradient by central differences in ORT.
        int inside = 0, outside = 0;
        for (int i = 0; i < rows * cols; i++)
        {
            int col = i % cols;
            double s = perAxis ? scale[col] : scale[0], z = perAxis ? zp[col] : zp[0];
            double lo = (qmin - z) * s, hi = (qmax - z) * s;
            if (Math.Abs(x[i] - lo) < 2e-3 || Math.Abs(x[i] - hi) < 2e-3) continue;   // finite differences straddle the clip
            double numeric = (ClipLoss(x[i] + 1e-3, lo, hi) - ClipLoss(x[i] - 1e-3, lo, hi)) / 2e-3 * r[i];
            if (numeric == 0) outside++; else inside++;
            Assert.That(analytic[i], Is.EqualTo(numeric).Within(1e-4 + 1e-3 * Math.Abs(numeric)), $"d loss / d x[{i}] (x = {x[i]}, range [{lo}, {hi}])");
        }
        Assert.That(inside, Is.GreaterThan(0), "some elements inside the range");
        Assert.That(outside, Is.GreaterThan(0), "some elements clipped");
    }

    private static double ClipLoss(double x, double lo, double hi)
    {
        var g = new Graph("clip");
        var xv = GraphBuild.Input(g, "x", ModelFactory.FloatType(1));
        var model = ModelFactory.Wrap(g, 19);
        var lov = g.AddInitializer(new Value("lo"), Tensor.FromFloats("lo", Array.Empty<long>(), new[] { (float)lo }));
        var hiv = g.AddInitializer(new Value("hi"), Tensor.FromFloats("hi", Array.Empty<long>(), new[] { (float)hi }));
        g.Outputs.Add(Node(g, "Clip", new[] { xv, lov, hiv }));
        using var runner = new OrtRunner(ModelWriter.ToBytes(model), OrtCheck.NoOpt, "clip");
        return GradCheck.ToDoubles(runner.Run(new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(GradCheck.Make("x", F, new long[] { 1 }, new[] { x })) }).Values.Single().AsTensor())[0];
    }
}

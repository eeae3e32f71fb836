using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>Small models for the compression tests, built with the project's graph builder.</summary>
internal static class CompressionModels
{
    /// <summary>Seeded uniform floats in [−1, 1).</summary>
    public static float[] Random(int count, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>
    /// x[n,3,8,8] → Conv(3→C1, 3×3, pad 1) → BatchNormalization → Relu → Conv(C1→C2, 3×3, pad 1) → Relu → MaxPool 2 → Flatten →
    /// Gemm(C2·16 → 5, transB) → y. Channels listed in <paramref name="dead1"/> / <paramref name="dead2"/> have zero weights and
    /// bias (and, after the first conv, BN mean 0 and β 0), so they output exactly 0 after the ReLU.
    /// </summary>
    public static Model ConvBnReluConv(int c1 = 6, int c2 = 4, int[]? dead1 = null, int[]? dead2 = null, int seed = 1)
    {
        var g = new Graph("conv_bn_relu_conv");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(2, 3, 8, 8));
        var model = ModelFactory.Wrap(g);
        var b = new GraphBuilder(g);
        var w1 = Random(c1 * 3 * 9, seed);
        var b1 = Random(c1, seed + 1);
        var gamma = Random(c1, seed + 2).Select(v => 1 + 0.5f * v).ToArray();
        var beta = Random(c1, seed + 3);
        var mean = Random(c1, seed + 4);
        var variance = Random(c1, seed + 5).Select(v => 1 + 0.5f * v).ToArray();
        foreach (int c in dead1 ?? Array.Empty<int>())
        {
            Array.Clear(w1, c * 27, 27);
            b1[c] = 0; beta[c] = 0; mean[c] = 0;
        }
        var w2 = Random(c2 * c1 * 9, seed + 6);
        var b2 = Random(c2, seed + 7);
        foreach (int c in dead2 ?? Array.Empty<int>()) { Array.Clear(w2, c * c1 * 9, c1 * 9); b2[c] = 0; }
        Value F(string name, long[] dims, float[] data) => g.AddInitializer(new Value(name), Tensor.FromFloats(name, dims, data));
        var convAttrs = new[] { Attr.FromInts("kernel_shape", new long[] { 3, 3 }), Attr.FromInts("pads", new long[] { 1, 1, 1, 1 }) };
        var h = b.Op("Conv", new[] { x, F("conv1.weight", new long[] { c1, 3, 3, 3 }, w1), F("conv1.bias", new long[] { c1 }, b1) }, convAttrs, hint: "conv1");
        h = b.Op("BatchNormalization", new[] { h, F("bn.scale", new long[] { c1 }, gamma), F("bn.bias", new long[] { c1 }, beta), F("bn.mean", new long[] { c1 }, mean), F("bn.var", new long[] { c1 }, variance) }, hint: "bn");
        h = b.Op("Relu", new[] { h });
        h = b.Op("Conv", new[] { h, F("conv2.weight", new long[] { c2, c1, 3, 3 }, w2), F("conv2.bias", new long[] { c2 }, b2) }, convAttrs, hint: "conv2");
        h = b.Op("Relu", new[] { h });
        h = b.Op("MaxPool", new[] { h }, new[] { Attr.FromInts("kernel_shape", new long[] { 2, 2 }), Attr.FromInts("strides", new long[] { 2, 2 }) });
        h = b.Op("Flatten", new[] { h }, new[] { Attr.FromInt("axis", 1) });
        var y = b.Op("Gemm", new[] { h, F("fc.weight", new long[] { 5, c2 * 16 }, Random(5 * c2 * 16, seed + 8)), F("fc.bias", new long[] { 5 }, Random(5, seed + 9)) },
            new[] { Attr.FromInt("transB", 1) }, hint: "fc");
        GraphBuild.Output(g, y, ModelFactory.FloatType(2, 5));
        return model;
    }

    /// <summary>
    /// x[2,3,6,6] → Conv(3→C, 1×1) → Relu → depthwise Conv(C, 3×3, group C, pad 1) → Relu → Conv(C→4, 1×1) → y, where the first
    /// conv and the depthwise conv share one bias initializer with a third consumer (an Add to the output), and channels in
    /// <paramref name="dead"/> have zero weights and bias in the first conv (so the depthwise conv sees 0 there; its own bias
    /// for them is 0 too).
    /// </summary>
    public static Model Depthwise(int c = 6, int[]? dead = null, int seed = 4)
    {
        var g = new Graph("depthwise");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(2, 3, 6, 6));
        var model = ModelFactory.Wrap(g);
        var b = new GraphBuilder(g);
        var w1 = Random(c * 3, seed);
        var dw = Random(c * 9, seed + 1);
        var bias = Random(c, seed + 2);
        foreach (int k in dead ?? Array.Empty<int>()) { Array.Clear(w1, k * 3, 3); bias[k] = 0; }
        Value F(string name, long[] dims, float[] data) => g.AddInitializer(new Value(name), Tensor.FromFloats(name, dims, data));
        var shared = F("shared.bias", new long[] { c }, bias);
        var h = b.Op("Conv", new[] { x, F("pw1.weight", new long[] { c, 3, 1, 1 }, w1), shared }, new[] { Attr.FromInts("kernel_shape", new long[] { 1, 1 }) }, hint: "pw1");
        h = b.Op("Relu", new[] { h });
        h = b.Op("Conv", new[] { h, F("dw.weight", new long[] { c, 1, 3, 3 }, dw), shared }, new[]
        {
            Attr.FromInts("kernel_shape", new long[] { 3, 3 }), Attr.FromInts("pads", new long[] { 1, 1, 1, 1 }), Attr.FromInt("group", c),
        }, hint: "dw");
        h = b.Op("Relu", new[] { h });
        var y = b.Op("Conv", new[] { h, F("pw2.weight", new long[] { 4, c, 1, 1 }, Random(4 * c, seed + 3)) }, new[] { Attr.FromInts("kernel_shape", new long[] { 1, 1 }) }, hint: "pw2");
        var side = b.Op("ReduceSum", new[] { shared }, new[] { Attr.FromInt("keepdims", 0) }, hint: "side");
        var z = b.Op("Add", new[] { y, side }, hint: "z");
        GraphBuild.Output(g, z, ModelFactory.FloatType(2, 4, 6, 6));
        return model;
    }

    /// <summary>
    /// x[n,8] → MatMul(W [8,6]) (+ bias via Gemm when <paramref name="gemm"/>) → y, W exactly zero outside two groups:
    /// inputs {0,2,5,7} × outputs {1,3,4} and inputs {1,3,4,6} × outputs {0,2,5}.
    /// </summary>
    public static Model TwoBlocks(bool gemm, int seed = 3)
    {
        var g = new Graph("two_blocks");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(4, 8));
        var model = ModelFactory.Wrap(g);
        var w = Random(48, seed);
        int[] inA = { 0, 2, 5, 7 }, outA = { 1, 3, 4 };
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 6; j++)
                if (inA.Contains(i) != outA.Contains(j)) w[i * 6 + j] = 0;
        var b = new GraphBuilder(g);
        Value y;
        if (gemm)
        {
            // Gemm stores W transposed ([6, 8], transB = 1).
            var wt = new float[48];
            for (int i = 0; i < 8; i++) for (int j = 0; j < 6; j++) wt[j * 8 + i] = w[i * 6 + j];
            y = b.Op("Gemm", new[] { x, g.AddInitializer(new Value("W"), Tensor.FromFloats("W", new long[] { 6, 8 }, wt)), g.AddInitializer(new Value("B"), Tensor.FromFloats("B", new long[] { 6 }, Random(6, seed + 1))) },
                new[] { Attr.FromInt("transB", 1) }, hint: "layer");
        }
        else y = b.Op("MatMul", new[] { x, g.AddInitializer(new Value("W"), Tensor.FromFloats("W", new long[] { 8, 6 }, w)) }, hint: "layer");
        var z = b.Op("Relu", new[] { y }, hint: "z");
        GraphBuild.Output(g, z, ModelFactory.FloatType(4, 6));
        return model;
    }
}

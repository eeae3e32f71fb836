using OnnxRev.Ir;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Quantized tensors in training graphs. s is the scale and z the zero point, both broadcast along 'axis'
/// when per-axis; [q_min, q_max] is the range of the code type.
/// <code>
/// QuantizeLinear (straight-through estimator): q = clamp(round(x/s) + z); its integer output carries a gradient
///     (registered straight-through) and dx = dq / s · 1[q_min ≤ round(x/s) + z ≤ q_max]; s and z get none.
/// DequantizeLinear: y = (q − z)·s; dq = dY·s (reaches a QuantizeLinear before it, so Q→DQ gives
///     dx = dY inside the range, 0 outside: fake quantization for QAT); ds = Σ dY·(q − z) over the non-axis axes,
///     except in a Q(x, s) → DQ(·, s) pair, whose scale the estimator treats as a constant (it may be computed from x).
/// com.microsoft MatMulNBits: Y = A·Wᵀ (+ bias) with W [N, K] the dequantized blocks (code − z)·s;
///     dA = dY·W, with W rebuilt from the packed codes by standard ops (4-bit codes: ⌊b/16⌋ and b mod 16);
///     dbias = dY summed to [N].
/// </code>
/// A frozen quantized weight (an integer initializer) needs none of this: MatMul(A, DequantizeLinear(Wq)) gives dA
/// through the MatMul rule and nothing flows into the constant codes.
/// </summary>
public static class QuantizationGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("QuantizeLinear", 10, Quantize);
        r.StraightThrough(OpKey.Onnx("QuantizeLinear"));
        r.Register("DequantizeLinear", 10, Dequantize);
        r.Register(new OpKey("com.microsoft", "MatMulNBits"), 1, MatMulNBits);
    }

    /// <summary>The code range of a quantized element type.</summary>
    public static (double Min, double Max) Range(int elemType) => (DT)elemType switch
    {
        DT.Int8 => (-128, 127),
        DT.Uint8 => (0, 255),
        DT.Int16 => (-32768, 32767),
        DT.Uint16 => (0, 65535),
        DT.Int4 => (-8, 7),
        DT.Uint4 => (0, 15),
        _ => throw new OnnxRevException($"quantized element type {TensorEncoding.TypeName(elemType)} has no gradient rule"),
    };

    /// <summary>Scale or zero point shaped to broadcast against x (per-axis: [1, …, C, …, 1]).</summary>
    private static Value AlongAxis(GradientContext g, Value v, Value x)
    {
        if (g.Int("block_size", 0) != 0) throw new OnnxRevException($"the gradient of {g.Node.Describe()}: blocked quantization (block_size) is not supported");
        int rv = g.RankOf(v);
        if (rv == 0) return v;
        int rx = g.RankOf(x);
        if (rx <= 1) return v;
        int axis = GradientHelpers.Axis(g, g.Int("axis", 1), rx);
        var shape = Enumerable.Repeat(1L, rx).ToArray();
        shape[axis] = -1;
        return GradientHelpers.ReshapeTo(g, v, shape);
    }

    private static Value ZeroPointAsFloat(GradientContext g, Value x, Value like)
    {
        var zp = g.Input(2);
        return zp is null ? g.Scalar(0, like) : g.Ops.Cast(AlongAxis(g, zp, x), g.ElemType(like) == 0 ? (int)DT.Float : g.ElemType(like));
    }

    private static void Quantize(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        var x = g.X(0);
        var s = AlongAxis(g, g.X(1), x);
        int codeType = g.Int("output_dtype", 0) is var od and not 0 ? (int)od : g.Input(2) is { } zp ? g.ElemType(zp) : (int)DT.Uint8;
        var (lo, hi) = Range(codeType);
        var r = g.Op("Add", g.Op("Round", g.Op("Div", x, s)), ZeroPointAsFloat(g, x, x));
        var inside = g.Op("And", g.Op("Not", g.Op("Less", r, g.Scalar(lo, x))), g.Op("Not", g.Op("Greater", r, g.Scalar(hi, x))));
        var dx = g.Op("Mul", g.Op("Div", g.dY, s), g.Ops.Cast(inside, g.ElemType(x) == 0 ? (int)DT.Float : g.ElemType(x)));
        g.SetInputGrad(0, dx);
    }

    private static void Dequantize(GradientContext g)
    {
        var q = g.X(0);
        var y = g.Output(0);
        var s = AlongAxis(g, g.X(1), q);
        if (g.NeedsGrad(0)) g.SetInputGrad(0, g.Op("Mul", g.dY, s));
        // In a fake-quantization pair Q(x, s) → DQ(·, s) the scale is a constant of the estimator: no ds.
        bool pair = g.Node.Inputs[0]?.Producer is { OpType: "QuantizeLinear" } qn && ReferenceEquals(qn.Inputs[1], g.Node.Inputs[1]);
        if (g.NeedsGrad(1) && !pair)
        {
            var diff = g.Op("Sub", g.Ops.Cast(q, g.ElemType(y) == 0 ? (int)DT.Float : g.ElemType(y)), ZeroPointAsFloat(g, q, y));
            var prod = g.Op("Mul", g.dY, diff);
            int rx = g.RankOf(q), rs = g.RankOf(g.X(1));
            bool perTensor = rs == 0 || GradientHelpers.Dims(g, g.X(1)) is [var only] && only.Is(1);
            int axis = perTensor ? -1 : GradientHelpers.Axis(g, g.Int("axis", 1), rx);
            var axes = Enumerable.Range(0, rx).Where(a => a != axis).Select(a => (long)a).ToArray();
            var ds = axes.Length == 0 ? prod : g.Ops.ReduceSum(prod, axes, keepDims: false);
            g.SetInputGrad(1, perTensor && rs == 1 ? GradientHelpers.ReshapeTo(g, ds, 1) : ds);
        }
    }

    private static void MatMulNBits(GradientContext g)
    {
        if (g.Input(4) is not null) throw new OnnxRevException($"the gradient of {g.Node.Describe()}: g_idx (act-order) is not supported");
        if (g.NeedsGrad(0)) g.SetInputGrad(0, g.Op("MatMul", g.dY, DequantizedWeight(g)));
        if (g.Input(5) is not null && g.NeedsGrad(5)) g.SetInputGradBroadcast(5, g.dY, g.Output(0));
    }

    /// <summary>W [N, K] = (code − z)·s rebuilt in the backward graph from MatMulNBits' packed inputs.</summary>
    public static Value DequantizedWeight(GradientContext g)
    {
        long k = g.Int("K", 0), n = g.Int("N", 0), bs = g.Int("block_size", 0), bits = g.Int("bits", 4);
        if (bits is not (4 or 8)) throw new OnnxRevException($"the gradient of {g.Node.Describe()}: bits = {bits} is not supported (4 or 8)");
        long nb = (k + bs - 1) / bs;
        var a = g.X(0);
        int ft = g.ElemType(a) == 0 ? (int)DT.Float : g.ElemType(a);
        var codes = Unpack(g, g.X(1), bits, new[] { n, nb, bs });
        Value zp;
        if (g.Input(3) is not { } z) zp = g.Scalar(1 << (int)(bits - 1), a);
        else if (g.ElemType(z) == (int)DT.Uint8)
        {
            long perRow = (nb * bits + 7) / 8 * 8 / bits;
            var unpacked = Unpack(g, z, bits, new[] { n, perRow });
            if (perRow != nb) unpacked = g.Ops.Slice(unpacked, new long[] { 0 }, new long[] { nb }, new long[] { 1 });
            zp = g.Ops.Cast(GradientHelpers.ReshapeTo(g, unpacked, n, nb, 1), ft);
        }
        else zp = GradientHelpers.ReshapeTo(g, z, n, nb, 1);
        var s = GradientHelpers.ReshapeTo(g, g.X(2), n, nb, 1);
        var w = GradientHelpers.ReshapeTo(g, g.Op("Mul", g.Op("Sub", g.Ops.Cast(codes, ft), zp), s), n, nb * bs);
        return nb * bs == k ? w : g.Ops.Slice(w, new long[] { 0 }, new long[] { k }, new long[] { 1 });
    }

    /// <summary>Packed uint8 codes → int32 codes reshaped to <paramref name="shape"/> (4-bit: low nibble first).</summary>
    private static Value Unpack(GradientContext g, Value packed, long bits, long[] shape)
    {
        var b = g.Ops.Cast(packed, (int)DT.Int32);
        if (bits == 8) return GradientHelpers.ReshapeTo(g, b, shape);
        var sixteen = g.B.Initializer(Tensor.FromRawBytes("", (int)DT.Int32, Array.Empty<long>(), BitConverter.GetBytes(16)), "grad_const");
        var hi = g.Op("Div", b, sixteen);
        var lo = g.Op("Sub", b, g.Op("Mul", hi, sixteen));
        var pairs = g.Op("Concat", new[] { g.Ops.Unsqueeze(lo, -1), g.Ops.Unsqueeze(hi, -1) }, Attr.FromInt("axis", -1));
        return GradientHelpers.ReshapeTo(g, pairs, shape);
    }
}

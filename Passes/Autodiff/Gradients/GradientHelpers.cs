using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Shapes;
using OnnxRev.Schema;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>Small building blocks shared by the convolution, pooling and shape rules.</summary>
internal static class GradientHelpers
{
    /// <summary>The inferred dimensions of a forward value, or null when its rank is unknown.</summary>
    public static Dim[]? Dims(GradientContext g, Value v)
    {
        if (g.Shapes.TryGetType(v, out _, out var d) && d is not null) return d;
        return v.Shape?.Select(x => x is null ? Dim.Unknown : Dim.Of(x.Value)).ToArray();
    }

    /// <summary>Dimensions <paramref name="from"/>… of a forward value, which must be known statically.</summary>
    public static long[] StaticDims(GradientContext g, Value v, int from, string why)
    {
        var d = Dims(g, v);
        var known = d is null ? null : Dim.Values(d[Math.Min(from, d.Length)..]);
        return known ?? throw new OnnxRevException(
            $"the gradient of {g.Node.Describe()} needs the static {why} of '{v.Name}', but its shape is {g.Shapes.Describe(v)}");
    }

    /// <summary>The values of a constant integer input (initializer, Constant node or shape-folded data), or null.</summary>
    public static long[]? ConstInts(GradientContext g, Value? v)
    {
        if (v is null) return null;
        if (v.Initializer is { } t) return ToInt64s(t.ToInlineProto());
        if (v.Producer is { OpType: "Constant" } p && p.Attributes.Find("value")?.TensorValue is { } tp) return ToInt64s(tp);
        if (g.Shapes.TryGetData(v, out var d) && Dim.Values(d) is { } vals) return vals;
        return null;
    }

    /// <summary>Like <see cref="ConstInts"/>, failing with a message naming <paramref name="what"/> when not constant.</summary>
    public static long[] RequireConstInts(GradientContext g, Value? v, string what) =>
        ConstInts(g, v) ?? throw new OnnxRevException($"the gradient of {g.Node.Describe()} needs constant {what}");

    private static long[] ToInt64s(TensorProto t)
    {
        var raw = TensorEncoding.InlineRawBytes(t);
        return t.DataType switch
        {
            (int)DT.Int64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(raw).ToArray(),
            (int)DT.Int32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(x => (long)x).ToArray(),
            _ => throw new OnnxRevException($"expected an integer tensor, got {TensorEncoding.TypeName(t.DataType)}"),
        };
    }

    /// <summary>A floating-point constant initializer of the element type of <paramref name="like"/>.</summary>
    public static Value FloatConst(GradientContext g, Value like, long[] dims, double[] values)
    {
        int type = g.ElemType(like) == 0 ? (int)DT.Float : g.ElemType(like);
        byte[] raw = type switch
        {
            (int)DT.Double => values.SelectMany(BitConverter.GetBytes).ToArray(),
            (int)DT.Float16 => values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray(),
            (int)DT.Float => values.SelectMany(v => BitConverter.GetBytes((float)v)).ToArray(),
            _ => throw new OnnxRevException($"the gradient of {g.Node.Describe()} cannot build constants of element type {TensorEncoding.TypeName(type)}"),
        };
        return g.B.Initializer(Tensor.FromRawBytes("", type, dims, raw), "grad_const");
    }

    /// <summary>A scalar int64 constant.</summary>
    public static Value Int64Scalar(GradientContext g, long value) =>
        g.B.Initializer(Tensor.FromInt64s("", Array.Empty<long>(), new[] { value }), "grad_const");

    /// <summary>Zeros of element type <paramref name="elemType"/> shaped by the 1-D int64 tensor <paramref name="shape"/>.</summary>
    public static Value ZerosOfShape(GradientContext g, Value shape, int elemType)
    {
        var t = new TensorProto { DataType = elemType };
        t.Dims.Add(1);
        t.RawData = Google.Protobuf.ByteString.CopyFrom(elemType switch
        {
            (int)DT.Double => new byte[8],
            (int)DT.Float16 or (int)DT.Bfloat16 => new byte[2],
            _ => new byte[4],
        });
        return g.Op("ConstantOfShape", new[] { shape }, Attr.FromTensor("value", t));
    }

    /// <summary>Reshape to a constant shape (input from opset 5, attribute before).</summary>
    public static Value ReshapeTo(GradientContext g, Value x, params long[] shape) =>
        g.Opset >= 5 ? g.Op("Reshape", x, g.Ints64(shape)) : g.Op("Reshape", new[] { x }, Attr.FromInts("shape", shape));

    /// <summary>Constant-mode zero padding (pads as input from opset 11, attribute before).</summary>
    public static Value PadZeros(GradientContext g, Value x, long[] pads)
    {
        if (g.Opset >= 11) return g.Op("Pad", x, g.Ints64(pads));
        return g.Op("Pad", new[] { x }, Attr.FromInts(g.Opset >= 2 ? "pads" : "paddings", pads));
    }

    /// <summary>The inverse of a permutation.</summary>
    public static long[] Inverse(IReadOnlyList<long> perm)
    {
        var inv = new long[perm.Count];
        for (int i = 0; i < perm.Count; i++) inv[perm[i]] = i;
        return inv;
    }

    /// <summary>Normalizes a possibly negative axis to [0, rank).</summary>
    public static int Axis(GradientContext g, long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new OnnxRevException($"{g.Node.Describe()}: axis {axis} is out of range for rank {rank}");
        return (int)a;
    }

    /// <summary>0, 1, …, n−1 as longs.</summary>
    public static long[] Iota(int from, int count) => Enumerable.Range(from, count).Select(i => (long)i).ToArray();
}

using OnnxRev.Ir;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;
using static OnnxRev.Passes.Autodiff.Gradients.GradientHelpers;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Slicing and gathering (the shape family's indexing half). Indices are normalized to [0, D) first.
/// <code>
/// Slice:  along step-1 axes   dX = Pad(dY, begin = start, end = D − start − n)
///         along other steps   dX = dY ·ₐ P, P[j, start + j·step] = 1 (a constant n × D selection, any sign of step)
/// Gather(axis a): dX = ScatterND(0, I, dY; reduction add) with axis a moved first (opset ≥ 16),
///                 or (I == 0…D−1)ᵀ · Flatten(dY) (opsets 9–15); repeated indices accumulate
/// GatherElements(axis a): dX = ScatterElements(0, I, dY; axis a, reduction add) (opset ≥ 16)
/// </code>
/// </summary>
public static class IndexingGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("Slice", 1, Slice);
        r.Register("Gather", 1, Gather);
        r.Register("GatherElements", 11, GatherElements);
    }

    private static void Slice(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        var x = g.X(0);
        int rank = g.RankOf(x);
        long[] starts, ends, axes;
        long[]? steps = null;
        var inputs = g.Node.Inputs;
        if (g.Opset >= 10)
        {
            starts = RequireConstInts(g, inputs[1], "starts");
            ends = RequireConstInts(g, inputs[2], "ends");
            axes = inputs.Count > 3 && inputs[3] is { } a ? RequireConstInts(g, a, "axes") : Iota(0, starts.Length);
            if (inputs.Count > 4 && inputs[4] is { } s) steps = RequireConstInts(g, s, "steps");
        }
        else
        {
            starts = g.Ints("starts")?.ToArray() ?? throw new OnnxRevException($"{g.Node.Describe()} has no starts");
            ends = g.Ints("ends")?.ToArray() ?? throw new OnnxRevException($"{g.Node.Describe()} has no ends");
            axes = g.Ints("axes")?.ToArray() ?? Iota(0, starts.Length);
        }
        var dims = Dims(g, x);

        var pads = new long[2 * rank];
        var dy = g.dY;
        for (int i = 0; i < axes.Length; i++)
        {
            int axis = Axis(g, axes[i], rank);
            if (dims is null || !dims[axis].IsKnown)
                throw new OnnxRevException($"the gradient of {g.Node.Describe()} needs the static size of axis {axis} of '{x.Name}', but its shape is {g.Shapes.Describe(x)}");
            long d = dims[axis].Value;
            long step = steps?[i] ?? 1;
            if (step == 0) throw new OnnxRevException($"{g.Node.Describe()} has a zero step");
            var (start, count) = SliceRange.Of(d, starts[i], ends[i], step);
            if (step == 1)
            {
                pads[axis] = start;
                pads[axis + rank] = d - start - count;
                continue;
            }
            // Scatter the picked positions back with a constant 0/1 selection matrix on the last axis.
            var select = new double[count * d];
            for (long j = 0; j < count; j++) select[j * d + start + j * step] = 1;
            var p = FloatConst(g, x, new[] { count, d }, select);
            var swap = Iota(0, rank);
            (swap[axis], swap[rank - 1]) = (swap[rank - 1], swap[axis]);
            dy = axis == rank - 1
                ? g.Op("MatMul", dy, p)
                : g.Ops.Transpose(g.Op("MatMul", g.Ops.Transpose(dy, swap), p), swap);
        }
        g.SetInputGrad(0, pads.Any(v => v != 0) ? PadZeros(g, dy, pads) : dy);
    }

    /// <summary>Indices as int64 in [0, D): negative ones counted from the end of <paramref name="data"/>'s axis.</summary>
    private static Value NormalizedIndices(GradientContext g, Value indices, Value data, int axis)
    {
        var idx = g.ElemType(indices) == (int)DT.Int64 ? indices : g.Ops.Cast(indices, (int)DT.Int64);
        var size = g.Op("Gather", g.Ops.Shape(data), Int64Scalar(g, axis));
        return g.Op("Where", g.Op("Less", idx, Int64Scalar(g, 0)), g.Op("Add", idx, size), idx);
    }

    private static void Gather(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        if (g.Opset < 9)
            throw new OnnxRevException($"the gradient of {g.Node.Describe()} needs Where and OneHot (opset 9) or ScatterND with reduction (opset 16); the model has opset {g.Opset}");
        var data = g.X(0);
        var indices = g.X(1);
        int r = g.RankOf(data);
        int q = g.RankOf(indices);
        int axis = Axis(g, g.Int("axis", 0), r);
        var idx = NormalizedIndices(g, indices, data, axis);

        // Work with the gathered axis first: data [D, rest…], dY [index dims…, rest…].
        var dataPerm = new long[] { axis }.Concat(Iota(0, axis)).Concat(Iota(axis + 1, r - axis - 1)).ToArray();
        var dyPerm = Iota(axis, q).Concat(Iota(0, axis)).Concat(Iota(axis + q, r - axis - 1)).ToArray();
        var dy = axis == 0 ? g.dY : g.Ops.Transpose(g.dY, dyPerm);
        var permShape = axis == 0 ? g.Ops.Shape(data) : g.Op("Gather", g.Ops.Shape(data), g.Ints64(dataPerm));
        Value scattered;
        if (g.Opset >= 16)
        {
            var zeros = ZerosOfShape(g, permShape, g.ElemType(data));
            scattered = g.Op("ScatterND", new[] { zeros, g.Ops.Unsqueeze(idx, q), dy }, Attr.FromString("reduction", "add"));
        }
        else
        {
            // Row d of the result sums the dY rows whose index is d: OneHot(I)ᵀ · dY, the one-hot matrix built as
            // (I[:, None] == 0…D−1) since ONNX Runtime's OneHot has no double kernel.
            var d = Dims(g, data)?[axis];
            var iota = d is { IsKnown: true } known ? g.Ints64(Iota(0, (int)known.Value))
                : g.Opset >= 11 ? g.Op("Range", Int64Scalar(g, 0), g.Op("Gather", g.Ops.Shape(data), Int64Scalar(g, axis)), Int64Scalar(g, 1))
                : throw new OnnxRevException($"the gradient of {g.Node.Describe()} needs the static size of axis {axis} of '{data.Name}' before opset 11");
            var oneHot = g.Ops.Cast(g.Op("Equal", ReshapeTo(g, idx, -1, 1), iota), g.ElemType(data));
            var rows = g.Op("Flatten", new[] { dy }, Attr.FromInt("axis", q));
            scattered = g.Op("Reshape", g.Op("MatMul", g.Ops.Transpose(oneHot, new long[] { 1, 0 }), rows), permShape);
        }
        g.SetInputGrad(0, axis == 0 ? scattered : g.Ops.Transpose(scattered, Inverse(dataPerm)));
    }

    private static void GatherElements(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        if (g.Opset < 16)
            throw new OnnxRevException($"the gradient of {g.Node.Describe()} needs ScatterElements with reduction=\"add\" (opset 16); the model has opset {g.Opset}");
        var data = g.X(0);
        int axis = Axis(g, g.Int("axis", 0), g.RankOf(data));
        var idx = NormalizedIndices(g, g.X(1), data, axis);
        var zeros = g.Ops.Fill(data, 0, g.ElemType(data));
        g.SetInputGrad(0, g.Op("ScatterElements", new[] { zeros, idx, g.dY }, Attr.FromInt("axis", axis), Attr.FromString("reduction", "add")));
    }
}

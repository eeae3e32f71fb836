using OnnxRev.Ir;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;
using static OnnxRev.Passes.Autodiff.Gradients.GradientHelpers;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Pooling over the spatial axes of X [N, C, D…].
/// <code>
/// MaxPool:           (_, I) = MaxPool(X) with the same attributes (I: flat row-major indices into X)
///                    dX = Reshape(ScatterElements(0[N·C·ΠD], I, dY; reduction add), Shape(X))
///                    (opset ≥ 16; opsets 11–15 only when windows cannot overlap, so no index repeats)
/// AveragePool:       dX = ConvTranspose(dY / count, ones[1, 1, K…]) over [N·C, 1, O…], same strides,
///                    dilations and pads; count(o) = taps of window o inside X (count_include_pad = 0)
///                    or inside the padded X (count_include_pad = 1)
/// GlobalAveragePool: dX = Expand(dY, Shape(X)) / ΠD
/// GlobalMaxPool:     dX = dY · m / Σm, m = (X == Y), ties sharing the gradient equally
/// </code>
/// </summary>
public static class PoolingGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("MaxPool", 1, MaxPool);
        r.Register("AveragePool", 1, AveragePool);
        r.Register("GlobalAveragePool", 1, GlobalAveragePool);
        r.Register("GlobalMaxPool", 1, GlobalMaxPool);
    }

    private static void MaxPool(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        var x = g.X(0);
        if (g.Opset < 8)
            throw new OnnxRevException($"the gradient of {g.Node.Describe()} needs MaxPool's Indices output, which exists from opset 8; the model has opset {g.Opset}");
        var kernel = g.Ints("kernel_shape")?.ToArray() ?? throw new OnnxRevException($"{g.Node.Describe()} has no kernel_shape");
        // Windows overlap when a stride is shorter than the dilated kernel; no static input shape is needed.
        var strides = g.Ints("strides") is { Count: > 0 } s ? s.ToArray() : Enumerable.Repeat(1L, kernel.Length).ToArray();
        var dilations = g.Ints("dilations") is { Count: > 0 } d ? d.ToArray() : Enumerable.Repeat(1L, kernel.Length).ToArray();
        bool overlapping = Enumerable.Range(0, kernel.Length).Any(i => strides[i] < (kernel[i] - 1) * dilations[i] + 1);
        string? reduction = g.Opset >= 16 ? "add" : null;
        if (g.Opset < 11 || (overlapping && reduction is null))
            throw new OnnxRevException(
                $"the gradient of {g.Node.Describe()} needs ScatterElements with reduction=\"add\" (opset 16) for overlapping windows, or ScatterElements (opset 11) for non-overlapping ones; the model has opset {g.Opset}");

        // Recompute the argmax positions (row-major, storage_order 0) with a second MaxPool.
        var attrs = g.Node.Attributes.Where(a => a.Name != "storage_order").ToArray();
        var indices = g.B.Ops("MaxPool", new[] { x }, 2, attrs, hint: "maxpool_argmax")[1];
        var flatIdx = ReshapeTo(g, indices, -1);
        var flatDy = ReshapeTo(g, g.dY, -1);
        var zeros = ZerosOfShape(g, ReshapeTo(g, g.Op("Size", x), 1), g.ElemType(x));
        var scatterAttrs = new List<Attr> { Attr.FromInt("axis", 0) };
        if (reduction is not null) scatterAttrs.Add(Attr.FromString("reduction", reduction));
        var flat = g.Op("ScatterElements", new[] { zeros, flatIdx, flatDy }, scatterAttrs.ToArray());
        g.SetInputGrad(0, g.Ops.ReshapeLike(flat, x));
    }

    private static void AveragePool(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        var x = g.X(0);
        var y = g.Output(0);
        var kernel = g.Ints("kernel_shape")?.ToArray() ?? throw new OnnxRevException($"{g.Node.Describe()} has no kernel_shape");
        int k = kernel.Length;
        var spatial = StaticDims(g, x, 2, "spatial size");
        // With ceil_mode the exact output size follows the runtime's rule: take it from inference when known.
        var yDims = Dims(g, y);
        var outSize = yDims is { Length: > 2 } && Cleanup.Shapes.Dim.Values(yDims[2..]) is { } o ? o : null;
        var win = ConvGradients.Resolve(g, spatial, kernel, outSize);
        bool includePad = g.Int("count_include_pad", 0) != 0;

        // 1/count per output position: the count is a product over axes (windows are boxes).
        var perAxis = new double[k][];
        for (int i = 0; i < k; i++)
        {
            perAxis[i] = new double[win.Out[i]];
            long limit = includePad ? spatial[i] + win.End[i] : spatial[i];
            long low = includePad ? -win.Begin[i] : 0;
            for (long p = 0; p < win.Out[i]; p++)
            {
                long start = p * win.Strides[i] - win.Begin[i], n = 0;
                for (long j = 0; j < kernel[i]; j++)
                {
                    long at = start + j * win.Dilations[i];
                    if (at >= low && at < limit) n++;
                }
                perAxis[i][p] = n;
            }
        }
        long total = win.Out.Aggregate(1L, (a, b) => a * b);
        var inv = new double[total];
        for (long flat = 0; flat < total; flat++)
        {
            double c = 1;
            long rest = flat;
            for (int i = k - 1; i >= 0; i--)
            {
                c *= perAxis[i][rest % win.Out[i]];
                rest /= win.Out[i];
            }
            inv[flat] = c == 0 ? 0 : 1 / c; // a window wholly in the padding averages nothing
        }

        var dy = g.dY;
        var scaled = inv.Distinct().Count() == 1
            ? g.Op("Mul", dy, g.Scalar(inv[0], x))
            : g.Op("Mul", dy, FloatConst(g, x, win.Out, inv));
        // Every channel pools alike: fold channels into the batch and spread with a one-channel all-ones kernel.
        var planes = ReshapeTo(g, scaled, new long[] { -1, 1 }.Concat(win.Out).ToArray());
        var ones = FloatConst(g, x, new long[] { 1, 1 }.Concat(kernel).ToArray(), Enumerable.Repeat(1.0, (int)kernel.Aggregate(1L, (a, b) => a * b)).ToArray());
        var (end, outPad) = win.Transposed();
        var dx = g.Op("ConvTranspose", new[] { planes, ones }, new[]
        {
            Attr.FromInts("kernel_shape", kernel), Attr.FromInts("strides", win.Strides), Attr.FromInts("dilations", win.Dilations),
            Attr.FromInts("pads", win.Begin.Concat(end)), Attr.FromInts("output_padding", outPad),
        });
        g.SetInputGrad(0, g.Ops.ReshapeLike(dx, x));
    }

    private static void GlobalAveragePool(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        var x = g.X(0);
        int t = g.ElemType(x);
        var count = g.Op("Div", g.Ops.Cast(g.Op("Size", x), t), g.Ops.Cast(g.Op("Size", g.Output(0)), t));
        g.SetInputGrad(0, g.Op("Div", g.Op("Expand", g.dY, g.Ops.Shape(x)), count));
    }

    private static void GlobalMaxPool(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        var x = g.X(0);
        var y = g.Output(0);
        int rank = g.RankOf(x);
        // Equal accepts floating point from opset 11; before, 1 + Sign(X − Y) is 1 exactly at the maxima.
        var mask = g.Opset >= 11
            ? g.Ops.Cast(g.Op("Equal", x, y), g.ElemType(x))
            : g.Op("Add", g.Op("Sign", g.Op("Sub", x, y)), g.Scalar(1, x));
        var count = g.Ops.ReduceSum(mask, Iota(2, rank - 2), keepDims: true);
        g.SetInputGrad(0, g.Op("Mul", mask, g.Op("Div", g.dY, count)));
    }
}

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>Kernels that change shape or layout without computing: Identity, Shape, Size, Reshape,
/// Flatten, Unsqueeze, Squeeze, Transpose, Expand, Tile.</summary>
internal static class ShapeKernels
{
    public static HostTensor[] Identity(EvalContext ctx) => [ctx.Input(0)];

    public static HostTensor[] Shape(EvalContext ctx)
    {
        long[] dims = ctx.Input(0).Dims;
        int r = dims.Length;
        long start = 0, end = r;
        if (ctx.Opset >= 15)
        {
            start = Clamp(ctx.Int("start", 0), r);
            end = ctx.Has("end") ? Clamp(ctx.Int("end"), r) : r;
        }
        long[] result = end > start ? dims[(int)start..(int)end] : [];
        return [HostTensor.Vector(result)];

        static long Clamp(long v, int rank) => Math.Clamp(v < 0 ? v + rank : v, 0, rank);
    }

    public static HostTensor[] Size(EvalContext ctx) => [HostTensor.Scalar((long)ctx.Input(0).ElementCount)];

    public static HostTensor[] Reshape(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        long[] requested;
        if (ctx.Opset < 5)
            requested = ctx.Ints("shape") ?? throw new FoldDeclinedException("attribute 'shape' is missing");
        else
            requested = Elements.ToLongs(ctx.Input(1), "the shape input");
        bool allowZero = ctx.Opset >= 14 && ctx.Int("allowzero", 0) != 0;
        var dims = new long[requested.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < requested.Length; i++)
        {
            long d = requested[i];
            if (d == 0 && !allowZero)
            {
                if (i >= x.Rank) throw new FoldDeclinedException($"shape entry {i} is 0 but the input has rank {x.Rank}");
                d = x.Dims[i];
            }
            else if (d == -1)
            {
                if (inferred >= 0) throw new FoldDeclinedException("more than one -1 in the shape");
                inferred = i;
                continue;
            }
            else if (d < -1) throw new FoldDeclinedException($"invalid shape entry {d}");
            dims[i] = d;
            known *= d;
        }
        if (inferred >= 0)
        {
            if (known == 0 || x.ElementCount % known != 0)
                throw new FoldDeclinedException($"cannot infer -1 reshaping {Shapes.Format(x.Dims)} to {Shapes.Format(requested)}");
            dims[inferred] = x.ElementCount / known;
        }
        if (Shapes.Count(dims) != x.ElementCount)
            throw new FoldDeclinedException($"cannot reshape {Shapes.Format(x.Dims)} to {Shapes.Format(requested)}");
        return [new HostTensor(x.DataType, dims, x.Data)];
    }

    public static HostTensor[] Flatten(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        long axis = ctx.Int("axis", 1);
        if (axis < -x.Rank || axis > x.Rank) throw new FoldDeclinedException($"axis {axis} is out of range for rank {x.Rank}");
        int a = (int)(axis < 0 ? axis + x.Rank : axis);
        return [new HostTensor(x.DataType, [Shapes.Product(x.Dims, 0, a), Shapes.Product(x.Dims, a, x.Rank)], x.Data)];
    }

    private static long[] AxesFromAttrOrInput(EvalContext ctx, int fromOpset)
    {
        if (ctx.Opset >= fromOpset)
        {
            HostTensor? t = ctx.OptionalInput(1);
            return t is null ? [] : Elements.ToLongs(t, "the axes input");
        }
        return ctx.Ints("axes") ?? [];
    }

    public static HostTensor[] Unsqueeze(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        long[] axes = AxesFromAttrOrInput(ctx, 13);
        if (axes.Length == 0) throw new FoldDeclinedException("axes are required");
        int rank = x.Rank + axes.Length;
        int[] norm = Shapes.Axes(axes, rank);
        var dims = new long[rank];
        int src = 0;
        for (int i = 0; i < rank; i++) dims[i] = norm.Contains(i) ? 1 : x.Dims[src++];
        return [new HostTensor(x.DataType, dims, x.Data)];
    }

    public static HostTensor[] Squeeze(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        long[] axes = AxesFromAttrOrInput(ctx, 13);
        int[] norm = axes.Length == 0
            ? Enumerable.Range(0, x.Rank).Where(i => x.Dims[i] == 1).ToArray()
            : Shapes.Axes(axes, x.Rank);
        foreach (int a in norm)
            if (x.Dims[a] != 1) throw new FoldDeclinedException($"cannot squeeze axis {a} of size {x.Dims[a]}");
        long[] dims = x.Dims.Where((_, i) => !norm.Contains(i)).ToArray();
        return [new HostTensor(x.DataType, dims, x.Data)];
    }

    public static HostTensor[] Transpose(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        long[] perm = ctx.Ints("perm") ?? Enumerable.Range(0, x.Rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != x.Rank) throw new FoldDeclinedException($"perm has {perm.Length} entries for rank {x.Rank}");
        int[] p = Shapes.Axes(perm, x.Rank);
        long[] inStrides = Shapes.Strides(x.Dims);
        long[] dims = p.Select(i => x.Dims[i]).ToArray();
        long[] strides = p.Select(i => inStrides[i]).ToArray();
        return [Elements.Take(x, Shapes.StridedMap(dims, strides, 0), dims)];
    }

    public static HostTensor[] Expand(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        long[] shape = Elements.ToLongs(ctx.Input(1), "the shape input");
        long[] dims = Shapes.Broadcast(x.Dims, shape);
        return [Elements.Take(x, Shapes.BroadcastMap(x.Dims, dims), dims)];
    }

    public static HostTensor[] Tile(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        long[] repeats = Elements.ToLongs(ctx.Input(1), "the repeats input");
        if (repeats.Length != x.Rank) throw new FoldDeclinedException($"repeats has {repeats.Length} entries for rank {x.Rank}");
        if (repeats.Any(r => r < 0)) throw new FoldDeclinedException("repeats must be non-negative");
        long[] dims = x.Dims.Select((d, i) => d * repeats[i]).ToArray();
        int n = Shapes.Count(dims);
        long[] inStrides = Shapes.Strides(x.Dims);
        var map = new int[n];
        var idx = new long[dims.Length];
        for (int i = 0; i < n; i++)
        {
            long off = 0;
            for (int k = 0; k < dims.Length; k++) off += idx[k] % x.Dims[k] * inStrides[k];
            map[i] = (int)off;
            for (int k = dims.Length - 1; k >= 0 && ++idx[k] == dims[k]; k--) idx[k] = 0;
        }
        return [Elements.Take(x, map, dims)];
    }
}

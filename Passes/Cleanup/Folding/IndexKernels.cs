namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>Kernels that select or combine elements by index: Gather, Concat, Split, Slice.</summary>
internal static class IndexKernels
{
    public static HostTensor[] Gather(EvalContext ctx)
    {
        HostTensor data = ctx.Input(0);
        HostTensor indicesT = ctx.Input(1);
        long[] indices = Elements.ToLongs(indicesT, "the indices input");
        if (data.Rank == 0) throw new FoldDeclinedException("data must have rank >= 1");
        int axis = Shapes.Axis(ctx.Int("axis", 0), data.Rank);
        long axisDim = data.Dims[axis];
        long outer = Shapes.Product(data.Dims, 0, axis);
        long inner = Shapes.Product(data.Dims, axis + 1, data.Rank);
        long[] dims = [.. data.Dims[..axis], .. indicesT.Dims, .. data.Dims[(axis + 1)..]];
        var map = new int[Shapes.Count(dims)];
        int at = 0;
        for (long o = 0; o < outer; o++)
        {
            foreach (long raw in indices)
            {
                long j = raw < 0 ? raw + axisDim : raw;
                if (j < 0 || j >= axisDim) throw new FoldDeclinedException($"index {raw} is out of range for axis size {axisDim}");
                long baseOff = (o * axisDim + j) * inner;
                for (long t = 0; t < inner; t++) map[at++] = (int)(baseOff + t);
            }
        }
        return [Elements.Take(data, map, dims)];
    }

    public static HostTensor[] Concat(EvalContext ctx)
    {
        IReadOnlyList<HostTensor> xs = ctx.AllInputs();
        ctx.RequireSameType(xs);
        int rank = xs[0].Rank;
        if (rank == 0) throw new FoldDeclinedException("cannot concatenate scalars");
        long axisAttr = ctx.Opset < 4 ? ctx.Int("axis", 1) : ctx.Int("axis");
        int axis = Shapes.Axis(axisAttr, rank);
        long[] dims = (long[])xs[0].Dims.Clone();
        dims[axis] = 0;
        foreach (HostTensor x in xs)
        {
            bool ok = x.Rank == rank && Enumerable.Range(0, rank).All(i => i == axis || x.Dims[i] == dims[i]);
            if (!ok) throw new FoldDeclinedException($"shapes {string.Join(", ", xs.Select(t => Shapes.Format(t.Dims)))} do not concatenate on axis {axis}");
            dims[axis] += x.Dims[axis];
        }
        long outer = Shapes.Product(dims, 0, axis);
        var map = new int[Shapes.Count(dims)];
        int at = 0;
        for (long o = 0; o < outer; o++)
        {
            long partBase = 0;
            foreach (HostTensor x in xs)
            {
                long block = x.ElementCount / Math.Max(outer, 1);
                for (long t = 0; t < block; t++) map[at++] = (int)(partBase + o * block + t);
                partBase += x.ElementCount;
            }
        }
        return [new HostTensor(xs[0].DataType, dims, Elements.Take(Elements.Join(xs.Select(x => x.Data).ToArray()), map))];
    }

    public static HostTensor[] Split(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        if (x.Rank == 0) throw new FoldDeclinedException("cannot split a scalar");
        int axis = Shapes.Axis(ctx.Int("axis", 0), x.Rank);
        long dim = x.Dims[axis];
        long[]? sizes = ctx.Opset >= 13
            ? (ctx.OptionalInput(1) is { } s ? Elements.ToLongs(s, "the split input") : null)
            : ctx.Ints("split");
        if (sizes is null)
        {
            int n = ctx.Opset >= 18 && ctx.Has("num_outputs") ? (int)ctx.Int("num_outputs") : ctx.OutputCount;
            if (n <= 0) throw new FoldDeclinedException("split sizes are not given and the output count is unknown");
            if (ctx.Opset >= 18 && ctx.Has("num_outputs"))
            {
                long chunk = (dim + n - 1) / n;
                sizes = Enumerable.Range(0, n).Select(i => Math.Max(0, Math.Min(chunk, dim - i * chunk))).ToArray();
            }
            else
            {
                if (dim % n != 0) throw new FoldDeclinedException($"axis size {dim} does not split into {n} equal parts");
                sizes = Enumerable.Repeat(dim / n, n).ToArray();
            }
        }
        if (sizes.Any(v => v < 0) || sizes.Sum() != dim)
            throw new FoldDeclinedException($"split sizes [{string.Join(",", sizes)}] do not add up to axis size {dim}");
        if (ctx.OutputCount >= 0 && ctx.OutputCount != sizes.Length)
            throw new FoldDeclinedException($"{sizes.Length} split sizes for {ctx.OutputCount} outputs");
        long[] strides = Shapes.Strides(x.Dims);
        var outputs = new HostTensor[sizes.Length];
        long start = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            long[] dims = (long[])x.Dims.Clone();
            dims[axis] = sizes[i];
            outputs[i] = Elements.Take(x, Shapes.StridedMap(dims, strides, start * strides[axis]), dims);
            start += sizes[i];
        }
        return outputs;
    }

    public static HostTensor[] Slice(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        long[] starts, ends;
        long[]? axes, steps = null;
        if (ctx.Opset < 10)
        {
            starts = ctx.Ints("starts") ?? throw new FoldDeclinedException("attribute 'starts' is missing");
            ends = ctx.Ints("ends") ?? throw new FoldDeclinedException("attribute 'ends' is missing");
            axes = ctx.Ints("axes");
        }
        else
        {
            starts = Elements.ToLongs(ctx.Input(1), "the starts input");
            ends = Elements.ToLongs(ctx.Input(2), "the ends input");
            axes = ctx.OptionalInput(3) is { } a ? Elements.ToLongs(a, "the axes input") : null;
            steps = ctx.OptionalInput(4) is { } s ? Elements.ToLongs(s, "the steps input") : null;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new FoldDeclinedException("starts, ends, axes and steps differ in length");
        int[] norm = Shapes.Axes(axes, x.Rank);
        long[] dims = (long[])x.Dims.Clone();
        long[] inStrides = Shapes.Strides(x.Dims);
        long[] strides = (long[])inStrides.Clone();
        long offset = 0;
        for (int i = 0; i < norm.Length; i++)
        {
            int ax = norm[i];
            long d = x.Dims[ax], step = steps[i];
            if (step == 0) throw new FoldDeclinedException("slice step 0");
            var (start, count) = SliceRange.Of(d, starts[i], ends[i], step);
            dims[ax] = count;
            strides[ax] = inStrides[ax] * step;
            if (count > 0) offset += start * inStrides[ax];
        }
        return [Elements.Take(x, Shapes.StridedMap(dims, strides, offset), dims)];
    }
}

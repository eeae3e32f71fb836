using System.Numerics;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>
/// ReduceSum/Prod/Min/Max/Mean. Axes are an attribute before opset 13 (ReduceSum) or 18 (the others) and an
/// optional input from then on; keepdims defaults to 1; with no axes every axis is reduced unless
/// noop_with_empty_axes is set. Elements are accumulated in the input type, in row-major order.
/// </summary>
internal static class ReduceKernels
{
    private enum Kind { Sum, Prod, Min, Max, Mean }

    public static HostTensor[] ReduceSum(EvalContext ctx) => [Reduce(ctx, Kind.Sum, 13)];

    public static HostTensor[] ReduceProd(EvalContext ctx) => [Reduce(ctx, Kind.Prod, 18)];

    public static HostTensor[] ReduceMin(EvalContext ctx) => [Reduce(ctx, Kind.Min, 18)];

    public static HostTensor[] ReduceMax(EvalContext ctx) => [Reduce(ctx, Kind.Max, 18)];

    public static HostTensor[] ReduceMean(EvalContext ctx) => [Reduce(ctx, Kind.Mean, 18)];

    private static HostTensor Reduce(EvalContext ctx, Kind kind, int axesInputOpset)
    {
        HostTensor x = ctx.Input(0);
        long[] axes;
        if (ctx.Opset >= axesInputOpset)
            axes = ctx.OptionalInput(1) is { } a ? Elements.ToLongs(a, "the axes input") : [];
        else
            axes = ctx.Ints("axes") ?? [];
        bool keepDims = ctx.Int("keepdims", 1) != 0;
        if (axes.Length == 0)
        {
            if (ctx.Opset >= axesInputOpset && ctx.Int("noop_with_empty_axes", 0) != 0) return x;
            axes = Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
        }
        bool[] reduced = new bool[x.Rank];
        foreach (int ax in Shapes.Axes(axes, Math.Max(x.Rank, 1)))
            if (ax < x.Rank) reduced[ax] = true;
        long[] keptDims = x.Dims.Select((d, i) => reduced[i] ? 1 : d).ToArray();
        long[] dims = keepDims ? keptDims : x.Dims.Where((_, i) => !reduced[i]).ToArray();
        // For every input element, the flat index of the output element it folds into.
        long[] outStrides = Shapes.Strides(keptDims);
        long[] strides = outStrides.Select((s, i) => reduced[i] ? 0 : s).ToArray();
        int[] target = Shapes.StridedMap(x.Dims, strides, 0);
        int outCount = Shapes.Count(dims);
        int groupSize = outCount == 0 ? 0 : x.ElementCount / outCount;
        if (groupSize == 0 && outCount > 0 && kind is Kind.Min or Kind.Max or Kind.Mean)
            throw new FoldDeclinedException($"reducing an empty set with '{ctx.OpType}'");
        Array result = Elements.VisitNumeric(x, new ReduceFunc(kind, target, outCount, groupSize), $"'{ctx.OpType}'");
        return new HostTensor(x.DataType, dims, result);
    }

    private sealed class ReduceFunc(Kind kind, int[] target, int outCount, int groupSize) : INumericFunc<Array>
    {
        public Array Invoke<T>(T[] data) where T : unmanaged, INumber<T>
        {
            var acc = new T[outCount];
            var seen = new bool[outCount];
            T init = kind == Kind.Prod ? T.One : T.Zero;
            for (int o = 0; o < outCount; o++) acc[o] = init;
            for (int i = 0; i < data.Length; i++)
            {
                int o = target[i];
                T v = data[i];
                switch (kind)
                {
                    case Kind.Sum or Kind.Mean: acc[o] += v; break;
                    case Kind.Prod: acc[o] *= v; break;
                    case Kind.Min: acc[o] = !seen[o] || v < acc[o] || T.IsNaN(v) && !T.IsNaN(acc[o]) ? v : acc[o]; break;
                    case Kind.Max: acc[o] = !seen[o] || v > acc[o] || T.IsNaN(v) && !T.IsNaN(acc[o]) ? v : acc[o]; break;
                }
                seen[o] = true;
            }
            if (kind == Kind.Mean)
            {
                T n = T.CreateTruncating(groupSize);
                for (int o = 0; o < outCount; o++) acc[o] /= n;
            }
            return acc;
        }
    }
}

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>Shape arithmetic shared by the kernels: element counts, strides, axis normalization,
/// numpy-style multidirectional broadcasting and strided index maps.</summary>
internal static class Shapes
{
    /// <summary>The largest tensor (in elements) the evaluator will materialize.</summary>
    public const long MaxElements = 1L << 27;

    /// <summary>Element count of <paramref name="dims"/>; declines past <see cref="MaxElements"/> or on negative dims.</summary>
    public static int Count(IReadOnlyList<long> dims)
    {
        long n = 1;
        bool zero = false;
        foreach (long d in dims)
        {
            if (d < 0) throw new FoldDeclinedException($"negative dimension {d} in [{string.Join(",", dims)}]");
            if (d == 0) zero = true;
            else if (!zero && (n *= d) > MaxElements) n = MaxElements + 1;
        }
        if (zero) return 0;
        if (n > MaxElements) throw new FoldDeclinedException($"result shape [{string.Join(",", dims)}] exceeds {MaxElements} elements");
        return (int)n;
    }

    /// <summary>Product of dims[from..to).</summary>
    public static long Product(IReadOnlyList<long> dims, int from, int to)
    {
        long n = 1;
        for (int i = from; i < to; i++) n *= dims[i];
        return n;
    }

    /// <summary>Row-major strides.</summary>
    public static long[] Strides(IReadOnlyList<long> dims)
    {
        var s = new long[dims.Count];
        long acc = 1;
        for (int i = dims.Count - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
        return s;
    }

    /// <summary>Maps an axis in [-rank, rank) to [0, rank); declines otherwise.</summary>
    public static int Axis(long axis, int rank, string what = "axis")
    {
        if (axis < -rank || axis >= rank) throw new FoldDeclinedException($"{what} {axis} is out of range for rank {rank}");
        return (int)(axis < 0 ? axis + rank : axis);
    }

    /// <summary>Normalizes a list of axes and declines on duplicates.</summary>
    public static int[] Axes(IEnumerable<long> axes, int rank)
    {
        int[] result = axes.Select(a => Axis(a, rank)).ToArray();
        if (result.Distinct().Count() != result.Length) throw new FoldDeclinedException($"repeated axis in [{string.Join(",", axes)}]");
        return result;
    }

    /// <summary>The numpy broadcast of several shapes; declines when incompatible.</summary>
    public static long[] Broadcast(params IReadOnlyList<long>[] shapes)
    {
        int rank = shapes.Max(s => s.Count);
        var result = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long d = 1;
            foreach (var s in shapes)
            {
                int j = i - (rank - s.Count);
                if (j < 0) continue;
                long sd = s[j];
                if (sd == 1) continue;
                if (d != 1 && d != sd)
                    throw new FoldDeclinedException($"shapes {string.Join(" and ", shapes.Select(x => $"[{string.Join(",", x)}]"))} do not broadcast");
                d = sd;
            }
            result[i] = d;
        }
        return result;
    }

    /// <summary>For each element of a tensor of shape <paramref name="outDims"/>, the flat index of the element
    /// of a tensor of shape <paramref name="inDims"/> that broadcasts onto it (dims right-aligned).</summary>
    public static int[] BroadcastMap(IReadOnlyList<long> inDims, long[] outDims)
    {
        long[] inStrides = Strides(inDims);
        var strides = new long[outDims.Length];
        int offset = outDims.Length - inDims.Count;
        for (int i = 0; i < inDims.Count; i++) strides[i + offset] = inDims[i] == 1 ? 0 : inStrides[i];
        return StridedMap(outDims, strides, 0);
    }

    /// <summary>Flat input indices <c>offset + Σ index_k * strides[k]</c> for every output index in row-major order.</summary>
    public static int[] StridedMap(long[] outDims, long[] strides, long offset)
    {
        int n = Count(outDims);
        var map = new int[n];
        int rank = outDims.Length;
        var idx = new long[rank];
        long cur = offset;
        for (int i = 0; i < n; i++)
        {
            map[i] = (int)cur;
            for (int k = rank - 1; k >= 0; k--)
            {
                cur += strides[k];
                if (++idx[k] < outDims[k]) break;
                cur -= strides[k] * outDims[k];
                idx[k] = 0;
            }
        }
        return map;
    }

    /// <summary>Formats dims for messages.</summary>
    public static string Format(IReadOnlyList<long> dims) => $"[{string.Join(",", dims)}]";
}

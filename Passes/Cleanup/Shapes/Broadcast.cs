namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Numpy-style (multidirectional) broadcasting over shapes of <see cref="Dim"/>, and over small known data.</summary>
internal static class Broadcast
{
    /// <summary>
    /// The broadcast of two dimensions, assuming the model is valid: equal sizes stay, a 1 yields the
    /// other, a known size other than 1 wins over a symbol or unknown (the other must be 1 or equal).
    /// </summary>
    public static Dim Pair(Dim a, Dim b)
    {
        if (a.SameAs(b)) return a;
        if (a.Is(1)) return b;
        if (b.Is(1)) return a;
        if (a.IsKnown && b.IsKnown) throw new ArgumentException($"dimensions {a} and {b} do not broadcast");
        if (a.IsKnown) return a;
        if (b.IsKnown) return b;
        return Dim.Unknown;
    }

    /// <summary>The broadcast shape of all <paramref name="shapes"/>; null when any rank is unknown.</summary>
    public static Dim[]? Shapes(params Dim[]?[] shapes)
    {
        if (shapes.Length == 0 || shapes.Any(s => s is null)) return null;
        int rank = shapes.Max(s => s!.Length);
        var r = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            Dim acc = Dim.Of(1);
            foreach (var s in shapes)
            {
                int j = i - (rank - s!.Length);
                if (j >= 0) acc = Pair(acc, s[j]);
            }
            r[i] = acc;
        }
        return r;
    }

    /// <summary>
    /// Applies <paramref name="op"/> element-wise over inputs of known static shapes, broadcasting;
    /// null when a shape is not fully known or the result has more than <paramref name="maxElements"/> elements.
    /// </summary>
    public static Dim[]? Data(IReadOnlyList<(Dim[] Shape, Dim[] Data)> inputs, Func<Dim[], Dim> op, int maxElements, out long[] outShape)
    {
        outShape = Array.Empty<long>();
        var shapes = inputs.Select(i => Dim.Values(i.Shape)).ToArray();
        if (shapes.Any(s => s is null)) return null;
        var outDims = Shapes(inputs.Select(i => i.Shape).ToArray());
        if (outDims is null || Dim.Values(outDims) is not { } os) return null;
        long count = os.Aggregate(1L, (a, b) => a * b);
        if (count > maxElements) return null;
        outShape = os;
        var result = new Dim[count];
        var args = new Dim[inputs.Count];
        var index = new long[os.Length];
        for (long flat = 0; flat < count; flat++)
        {
            long rem = flat;
            for (int d = os.Length - 1; d >= 0; d--) { index[d] = rem % os[d]; rem /= os[d]; }
            for (int k = 0; k < inputs.Count; k++) args[k] = inputs[k].Data[SourceIndex(shapes[k]!, index)];
            result[flat] = op(args);
        }
        return result;
    }

    private static long SourceIndex(long[] shape, long[] outIndex)
    {
        long flat = 0;
        int offset = outIndex.Length - shape.Length;
        for (int d = 0; d < shape.Length; d++)
            flat = flat * shape[d] + (shape[d] == 1 ? 0 : outIndex[d + offset]);
        return flat;
    }
}

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Shape rules of operators that select parts of a tensor: Slice, Gather, GatherElements, Split, Pad.</summary>
internal static class IndexingShapes
{
    public static void Register(Dictionary<string, InferenceRule> r)
    {
        r["Slice"] = Slice;
        r["Gather"] = Gather;
        r["GatherElements"] = c => c.SetOutput(0, c.Type(0), c.Shape(1));
        r["Split"] = Split;
        r["Pad"] = Pad;
    }

    /// <summary>The Slice parameters of a node: starts, ends, axes (normalized) and steps; null when not all known.</summary>
    internal static (long[] Starts, long[] Ends, int[] Axes, long[] Steps)? SliceParameters(NodeContext c, int rank)
    {
        var starts = c.AttrOrInput("starts", 1, out _);
        var ends = c.AttrOrInput("ends", 2, out _);
        var axes = c.AttrOrInput("axes", 3, out bool axesGiven);
        var steps = c.Node.Attributes.Find("starts") is null ? (c.Has(4) ? c.Ints(4) : null) : null;
        if (starts is null || ends is null || starts.Length != ends.Length || (axesGiven && axes is null) || (c.Has(4) && steps is null)) return null;
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (axes.Length != starts.Length || steps.Length != starts.Length || steps.Contains(0)) return null;
        var normalized = axes.Select(a => NodeContext.Axis(a, rank)).ToArray();
        if (normalized.Contains(-1) || normalized.Distinct().Count() != normalized.Length) return null;
        return (starts, ends, normalized, steps);
    }

    private static void Slice(NodeContext c)
    {
        var x = c.Shape(0);
        if (x is null) { c.SetOutput(0, c.Type(0), null); return; }
        var p = SliceParameters(c, x.Length);
        if (p is not { } s)
        {
            // Which axes change is unknown: only the rank survives.
            c.SetOutput(0, c.Type(0), x.Select(_ => Dim.Unknown).ToArray());
            return;
        }
        var output = (Dim[])x.Clone();
        for (int k = 0; k < s.Axes.Length; k++)
        {
            int a = s.Axes[k];
            if (x[a].IsKnown) output[a] = Dim.Of(SliceRange.Of(x[a].Value, s.Starts[k], s.Ends[k], s.Steps[k]).Count);
            else if (!(s.Starts[k] == 0 && s.Steps[k] == 1 && s.Ends[k] >= int.MaxValue)) output[a] = Dim.Unknown;
        }
        c.SetOutput(0, c.Type(0), output);
    }

    private static void Gather(NodeContext c)
    {
        var data = c.Shape(0);
        var indices = c.Shape(1);
        if (data is null || indices is null) { c.SetOutput(0, c.Type(0), null); return; }
        int axis = NodeContext.Axis(c.Int("axis", 0), data.Length);
        if (axis < 0) return;
        c.SetOutput(0, c.Type(0), data[..axis].Concat(indices).Concat(data[(axis + 1)..]).ToArray());
    }

    private static void Split(NodeContext c)
    {
        var x = c.Shape(0);
        int outputs = c.Node.Outputs.Count;
        if (x is null) { for (int i = 0; i < outputs; i++) c.SetOutput(i, c.Type(0), null); return; }
        int axis = NodeContext.Axis(c.Int("axis", 0), x.Length);
        if (axis < 0) return;
        var sizes = c.AttrOrInput("split", 1, out bool given);
        if (!given && x[axis].IsKnown)
        {
            long total = x[axis].Value;
            long parts = c.Int("num_outputs", outputs);
            long chunk = (total + parts - 1) / parts;
            sizes = Enumerable.Range(0, outputs).Select(i => Math.Max(0, Math.Min(chunk, total - i * chunk))).ToArray();
        }
        for (int i = 0; i < outputs; i++)
        {
            var o = (Dim[])x.Clone();
            o[axis] = sizes is not null && sizes.Length == outputs ? Dim.Of(sizes[i]) : Dim.Unknown;
            c.SetOutput(i, c.Type(0), o);
        }
    }

    private static void Pad(NodeContext c)
    {
        var x = c.Shape(0);
        if (x is null) { c.SetOutput(0, c.Type(0), null); return; }
        var pads = c.AttrOrInput("pads", 1, out _);
        var axes = c.Has(3) ? c.Ints(3) : Enumerable.Range(0, x.Length).Select(i => (long)i).ToArray();
        if (pads is null || axes is null || pads.Length != 2 * axes.Length)
        {
            c.SetOutput(0, c.Type(0), x.Select(_ => Dim.Unknown).ToArray());
            return;
        }
        var output = (Dim[])x.Clone();
        for (int k = 0; k < axes.Length; k++)
        {
            int a = NodeContext.Axis(axes[k], x.Length);
            if (a < 0) return;
            output[a] = x[a] + Dim.Of(pads[k] + pads[k + axes.Length]);
        }
        c.SetOutput(0, c.Type(0), output);
    }
}

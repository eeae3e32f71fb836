using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Shape rules of reductions: Reduce* (axes as attribute, or as input from opset 13 for ReduceSum and 18 for the rest) and ArgMax/ArgMin.</summary>
internal static class ReductionShapes
{
    private static readonly string[] Reductions =
    {
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
    };

    public static void Register(Dictionary<string, InferenceRule> r)
    {
        foreach (var op in Reductions) r[op] = Reduce;
        r["ArgMax"] = ArgReduce;
        r["ArgMin"] = ArgReduce;
    }

    private static void Reduce(NodeContext c)
    {
        var x = c.Shape(0);
        var axes = c.AttrOrInput("axes", 1, out bool given);
        if (x is null || (given && axes is null)) { c.SetOutput(0, c.Type(0), null); return; }
        bool keep = c.Int("keepdims", 1) != 0;
        if (axes is null || axes.Length == 0)
        {
            if (c.Int("noop_with_empty_axes", 0) != 0) { c.SetOutput(0, c.Type(0), x); return; }
            axes = Enumerable.Range(0, x.Length).Select(i => (long)i).ToArray();
        }
        var reduced = new HashSet<int>(axes.Select(a => NodeContext.Axis(a, x.Length)));
        if (reduced.Contains(-1)) return;
        c.SetOutput(0, c.Type(0), Apply(x, reduced, keep));
    }

    private static void ArgReduce(NodeContext c)
    {
        var x = c.Shape(0);
        if (x is null) { c.SetOutput(0, (int)DT.Int64, null); return; }
        int axis = NodeContext.Axis(c.Int("axis", 0), x.Length);
        if (axis < 0) return;
        c.SetOutput(0, (int)DT.Int64, Apply(x, new HashSet<int> { axis }, c.Int("keepdims", 1) != 0));
    }

    private static Dim[] Apply(Dim[] x, HashSet<int> reduced, bool keep) =>
        keep ? x.Select((d, i) => reduced.Contains(i) ? Dim.Of(1) : d).ToArray() : x.Where((_, i) => !reduced.Contains(i)).ToArray();
}

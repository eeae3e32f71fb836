using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Reductions and n-ary sums.
/// <code>
/// Sum(x₀…xₙ): dxᵢ = dY (summed down to xᵢ's shape)
/// ReduceSum(X, axes):  dX = Expand(dY with the reduced axes restored, Shape(X))
/// ReduceMean(X, axes): dX = Expand(…)/count, count = number of elements reduced into each output
/// </code>
/// </summary>
public static class ReductionGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("Sum", 1, Sum);
        r.Register("ReduceSum", 1, g => ReduceSum(g, mean: false));
        r.Register("ReduceMean", 1, g => ReduceSum(g, mean: true));
    }

    private static void Sum(GradientContext g)
    {
        var y = g.Output(0);
        for (int i = 0; i < g.InputCount; i++) g.SetInputGradBroadcast(i, g.dY, y);
    }

    /// <summary>The reduced axes of a Reduce* node, normalized to [0, rank); null for "all axes".</summary>
    public static long[]? Axes(GradientContext g, int rank, int axesInputSince)
    {
        IReadOnlyList<long>? axes;
        if (g.Opset >= axesInputSince)
        {
            var input = g.Node.Inputs.Count > 1 ? g.Node.Inputs[1] : null;
            if (input is null) axes = null;
            else if (input.IsConstant && input.Initializer is { } t) axes = t.ToInt64Array();
            else throw new OnnxRevException($"the gradient of {g.Node.Describe()} needs constant axes");
        }
        else axes = g.Ints("axes");
        if (axes is null || axes.Count == 0)
            return g.Int("noop_with_empty_axes", 0) != 0 ? Array.Empty<long>() : null;
        return axes.Select(a => a < 0 ? a + rank : a).OrderBy(a => a).ToArray();
    }

    private static void ReduceSum(GradientContext g, bool mean)
    {
        var x = g.X(0);
        int rank = g.RankOf(x);
        var axes = Axes(g, rank, mean ? 18 : 13) ?? Enumerable.Range(0, rank).Select(a => (long)a).ToArray();
        var dy = g.dY;
        if (g.Int("keepdims", 1) == 0 && axes.Length > 0 && axes.Length < rank) dy = g.Ops.Unsqueeze(dy, axes);
        var dx = g.Op("Expand", dy, g.Ops.Shape(x));
        if (mean)
        {
            // count = size(X) / size(Y), computed at run time so symbolic dimensions work.
            var count = g.Op("Div", g.Ops.Cast(g.Op("Size", x), g.ElemType(x)), g.Ops.Cast(g.Op("Size", g.Output(0)), g.ElemType(x)));
            dx = g.Op("Div", dx, count);
        }
        g.SetInputGrad(0, dx);
    }
}

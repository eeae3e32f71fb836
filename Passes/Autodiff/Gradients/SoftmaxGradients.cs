using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Softmax and LogSoftmax over a set of axes S: from opset 13 the single axis (default −1); before
/// opset 13 the input is coerced to 2-D at axis (default 1), so S is every axis from axis on. Sums Σ
/// are over S with the reduced axes kept.
/// <code>
/// Softmax:    dX = Y·(dY − Σ dY·Y)
/// LogSoftmax: dX = dY − exp(Y)·Σ dY
/// </code>
/// </summary>
public static class SoftmaxGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("Softmax", 1, g => Softmax(g, coerced2D: true));
        r.Register("Softmax", 13, g => Softmax(g, coerced2D: false));
        r.Register("LogSoftmax", 1, g => LogSoftmax(g, coerced2D: true));
        r.Register("LogSoftmax", 13, g => LogSoftmax(g, coerced2D: false));
    }

    /// <summary>The axes a Softmax-family node normalizes over, in [0, rank).</summary>
    private static long[] Axes(GradientContext g, bool coerced2D)
    {
        int rank = g.RankOf(g.X(0));
        long axis = g.Int("axis", coerced2D ? 1 : -1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= Math.Max(rank, 1)) throw new OnnxRevException($"{g.Node.Describe()}: axis {g.Int("axis", 0)} is out of range for rank {rank}");
        return coerced2D ? Enumerable.Range((int)axis, rank - (int)axis).Select(a => (long)a).ToArray() : new[] { axis };
    }

    private static void Softmax(GradientContext g, bool coerced2D)
    {
        var y = g.Output(0);
        var dyy = g.Op("Mul", g.dY, y);
        var sum = g.Ops.ReduceSum(dyy, Axes(g, coerced2D), keepDims: true);
        g.SetInputGrad(0, g.Op("Mul", y, g.Op("Sub", g.dY, sum)));
    }

    private static void LogSoftmax(GradientContext g, bool coerced2D)
    {
        var sum = g.Ops.ReduceSum(g.dY, Axes(g, coerced2D), keepDims: true);
        g.SetInputGrad(0, g.Op("Sub", g.dY, g.Op("Mul", g.Op("Exp", g.Output(0)), sum)));
    }
}

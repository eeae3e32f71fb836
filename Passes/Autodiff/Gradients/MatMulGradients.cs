using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Shapes;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Matrix products. ᵀ swaps the last two axes.
/// <code>
/// MatMul: dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over the batch axes it was broadcast along;
///         a 1-D A is promoted to [1, K] and a 1-D B to [K, 1] (dY gets the same unit axis back),
///         and the gradient is reshaped back to the 1-D shape.
/// Gemm:   Y = α·A′·B′ + β·C with A′ = transA ? Aᵀ : A, B′ = transB ? Bᵀ : B
///         dA′ = α·dY·B′ᵀ → dA = transA ? α·B′·dYᵀ : α·dY·B′ᵀ
///         dB′ = α·A′ᵀ·dY → dB = transB ? α·dYᵀ·A′ : α·A′ᵀ·dY
///         dC = β·dY summed down to C's shape ([N], [1, N], [M, 1], scalar …)
/// </code>
/// </summary>
public static class MatMulGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("MatMul", 1, MatMul);
        r.Register("Gemm", 1, Gemm);
    }

    private static Value T(GradientContext g, Value x, int rank)
    {
        var perm = Enumerable.Range(0, rank).Select(a => (long)a).ToArray();
        (perm[rank - 1], perm[rank - 2]) = (perm[rank - 2], perm[rank - 1]);
        return g.Ops.Transpose(x, perm);
    }

    private static void MatMul(GradientContext g)
    {
        var a = g.X(0);
        var b = g.X(1);
        int ra = g.RankOf(a), rb = g.RankOf(b);
        if (ra == 0 || rb == 0) throw new OnnxRevException($"{g.Node.Describe()}: MatMul of a scalar");
        var a2 = ra == 1 ? g.Ops.Unsqueeze(a, 0) : a;
        var b2 = rb == 1 ? g.Ops.Unsqueeze(b, 1) : b;
        int ra2 = Math.Max(ra, 2), rb2 = Math.Max(rb, 2);
        var dy = g.dY;
        if (ra == 1 && rb == 1) dy = g.Ops.Unsqueeze(dy, 0, 1);
        else if (ra == 1) dy = g.Ops.Unsqueeze(dy, rb - 2);   // Y is [batch…, N] → [batch…, 1, N]
        else if (rb == 1) dy = g.Ops.Unsqueeze(dy, ra - 1);   // Y is [batch…, M] → [batch…, M, 1]
        var dimsA = Promoted(g, a, ra, front: true);
        var dimsB = Promoted(g, b, rb, front: false);
        if (g.NeedsGrad(0)) g.SetInputGrad(0, ReduceBatch(g, g.Op("MatMul", dy, T(g, b2, rb2)), a, ra, dimsA, dimsB));
        if (g.NeedsGrad(1)) g.SetInputGrad(1, ReduceBatch(g, g.Op("MatMul", T(g, a2, ra2), dy), b, rb, dimsB, dimsA));
    }

    /// <summary>Static dims of an operand after 1-D promotion (null entries unknown).</summary>
    private static Dim[] Promoted(GradientContext g, Value v, int rank, bool front)
    {
        var dims = g.Shapes.TryGetType(v, out _, out var d) && d is not null ? d
            : v.Shape?.Select(x => x is null ? Dim.Unknown : Dim.Of(x.Value)).ToArray() ?? Enumerable.Repeat(Dim.Unknown, rank).ToArray();
        if (rank != 1) return dims;
        return front ? new[] { Dim.Of(1), dims[0] } : new[] { dims[0], Dim.Of(1) };
    }

    /// <summary>
    /// Sums a gradient shaped like the broadcast product ([batch…, r, c]) down to the operand's
    /// promoted shape, then restores a 1-D operand's shape.
    /// </summary>
    private static Value ReduceBatch(GradientContext g, Value grad, Value operand, int rank, Dim[] mine, Dim[] other)
    {
        int outRank = Math.Max(mine.Length, other.Length);
        int lead = outRank - mine.Length;
        var axes = new List<long>();
        for (int a = 0; a < outRank - 2; a++)
        {
            if (a < lead) { axes.Add(a); continue; }
            var m = mine[a - lead];
            int oi = a - (outRank - other.Length);
            if (oi < 0) continue;                 // the other operand has no such axis
            var o = other[oi];
            if (m.Is(1)) { if (!o.Is(1)) axes.Add(a); continue; }
            if (m.IsKnown || o.Is(1) || m.SameAs(o)) continue;
            throw new OnnxRevException($"the gradient of {g.Node.Describe()} cannot tell whether batch axis {a} of '{operand.Name}' was broadcast");
        }
        if (axes.Count > 0) grad = g.Ops.ReduceSum(grad, axes.ToArray(), keepDims: true);
        return lead > 0 || rank == 1 ? g.Ops.ReshapeLike(grad, operand) : grad;
    }

    private static Value MatMulT(GradientContext g, Value x, bool tx, Value y, bool ty) =>
        g.Op("MatMul", tx ? T(g, x, 2) : x, ty ? T(g, y, 2) : y);

    private static void Gemm(GradientContext g)
    {
        var a = g.X(0);
        var b = g.X(1);
        bool ta = g.Int("transA", 0) != 0, tb = g.Int("transB", 0) != 0;
        double alpha = g.Float("alpha", 1f), beta = g.Float("beta", 1f);
        var dy = g.dY;
        Value Scale(Value v, double s) => s == 1 ? v : g.Op("Mul", v, g.Scalar(s, g.Node.Outputs[0]));
        if (g.NeedsGrad(0)) g.SetInputGrad(0, Scale(ta ? MatMulT(g, b, tb, dy, true) : MatMulT(g, dy, false, b, !tb), alpha));
        if (g.NeedsGrad(1)) g.SetInputGrad(1, Scale(tb ? MatMulT(g, dy, true, a, ta) : MatMulT(g, a, !ta, dy, false), alpha));
        if (g.Input(2) is not null && g.NeedsGrad(2)) g.SetInputGradBroadcast(2, Scale(dy, beta), g.Output(0));
    }
}

using OnnxRev.Ir;

namespace OnnxRev.Passes.Compression;

/// <summary>Which of the low-rank pass's weights the sequential refit (<c>--refit</c>) may change, and how it finds them after the rewrite.</summary>
internal static class LowRankRefitTargets
{
    /// <summary>
    /// Matrices read only by MatMul (x·W) or Gemm without transA, all with the same data input, in the main graph: their data
    /// input's name and whether the stored matrix is Wᵀ (Gemm transB = 1). Call before the rewrite (it removes the readers).
    /// </summary>
    public static Dictionary<LowRankPlan, (string Input, bool Transposed)> Eligible(Model model, IEnumerable<LowRankPlan> plans)
    {
        var result = new Dictionary<LowRankPlan, (string, bool)>();
        foreach (var p in plans)
        {
            var site = p.Site;
            if (site.IsKernel || site.Side is not { } side) continue;
            if ((site.ConstantNode?.Graph ?? site.Weight.Graph) != model.Graph) continue;
            if (site.Users.Any(u => u.Use is not (LowRankUse.MatMul or LowRankUse.Gemm) || u.Node.Graph != model.Graph
                                    || (u.Use == LowRankUse.Gemm && u.Node.Attributes.GetInt("transA", 0) != 0))) continue;
            var inputs = site.Users.Select(u => LowRankSite.DataInput(u.Node, u.Use)?.Name).Distinct().ToList();
            if (inputs.Count != 1 || inputs[0] is null) continue;
            result[p] = (inputs[0]!, side == InputSide.Cols);
        }
        return result;
    }

    /// <summary>The refit targets: factored eligible weights (at their rank) and, for <see cref="RefitScope.All"/>, the eligible ones left whole.</summary>
    public static List<LowRankRefitTarget> From(Dictionary<LowRankPlan, (string Input, bool Transposed)> eligible, IReadOnlyDictionary<LowRankPlan, (Value Left, Value Right)> factors, RefitScope scope)
    {
        var result = new List<LowRankRefitTarget>();
        foreach (var (p, (input, transposed)) in eligible)
        {
            bool factored = factors.TryGetValue(p, out var f);
            if (!factored && scope != RefitScope.All) continue;
            var site = p.Site;
            var stored = site.Tensor.ToFloatArray();
            int k = transposed ? site.Cols : site.Rows, n = transposed ? site.Rows : site.Cols;
            var w = transposed ? Transpose(stored, site.Rows, site.Cols) : stored;
            result.Add(new LowRankRefitTarget(site.Weight.Name, input, transposed, w, k, n,
                factored ? f.Left.Name : null, factored ? f.Right.Name : null, factored ? p.Chosen!.Rank : 0));
        }
        return result;
    }

    private static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }
}

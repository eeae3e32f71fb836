namespace OnnxRev.Passes.Compression;

/// <summary>One way to factor a weight: its rank(s), the parameters it leaves and its relative squared error.</summary>
/// <param name="Rank">The rank (the output-channel rank r_o for kernels).</param>
/// <param name="InRank">The input-channel rank r_i for kernels (0 for matrices).</param>
/// <param name="Parameters">Elements of the factors.</param>
/// <param name="Error">‖W − Ŵ‖² / ‖W‖² in the chosen norm (weighted by the calibration activations when there are some).</param>
public sealed record RankChoice(int Rank, int InRank, long Parameters, double Error);

/// <summary>A weight's decomposition, its candidate ranks and the one chosen.</summary>
public sealed class LowRankPlan
{
    internal LowRankPlan(LowRankSite site, LowRankBasis? basis, TuckerTwo? tucker, IReadOnlyList<RankChoice> choices, double sensitivity, bool weighted)
    {
        Site = site;
        Basis = basis;
        Tucker = tucker;
        Choices = choices;
        Sensitivity = sensitivity;
        Weighted = weighted;
    }

    /// <summary>The weight.</summary>
    public LowRankSite Site { get; }

    /// <summary>Its SVD (matrices).</summary>
    public LowRankBasis? Basis { get; }

    /// <summary>Its Tucker-2 HOSVD (k×k kernels).</summary>
    public TuckerTwo? Tucker { get; }

    /// <summary>Every rank that would save parameters (and FLOPs), smallest first.</summary>
    public IReadOnlyList<RankChoice> Choices { get; }

    /// <summary>Weight of this plan's error in the allocation.</summary>
    public double Sensitivity { get; }

    /// <summary>True when the error is measured on calibration activations.</summary>
    public bool Weighted { get; }

    /// <summary>The rank chosen, or null to leave the weight as it is.</summary>
    public RankChoice? Chosen { get; set; }
}

/// <summary>
/// Allocates ranks over the whole model for a parameter budget: for a multiplier λ every weight takes the choice
/// (keeping it whole included) minimizing sensitivity·error + λ·parameters; λ is bisected (log scale) to the smallest
/// value whose total fits the budget. This picks points of the lower convex hull of each weight's error–size curve,
/// which is what equalizing marginal error per saved parameter across layers means.
/// </summary>
public static class LowRankAllocation
{
    /// <summary>Sets <see cref="LowRankPlan.Chosen"/> so that Σ parameters of the planned weights ≤ <paramref name="budget"/>; false when even the smallest ranks do not fit.</summary>
    public static bool Allocate(IReadOnlyList<LowRankPlan> plans, long budget)
    {
        double scale = Math.Max(1, plans.Sum(p => (double)p.Site.Parameters));
        long Total(double lambda, bool apply)
        {
            long total = 0;
            foreach (var p in plans)
            {
                RankChoice? best = null;
                double bestCost = lambda * p.Site.Parameters / scale;
                foreach (var c in p.Choices)
                {
                    double cost = p.Sensitivity * c.Error + lambda * c.Parameters / scale;
                    if (cost < bestCost) { bestCost = cost; best = c; }
                }
                total += best?.Parameters ?? p.Site.Parameters;
                if (apply) p.Chosen = best;
            }
            return total;
        }
        double lo = -30, hi = 12; // log10 λ
        if (Total(Math.Pow(10, hi), false) > budget)
        {
            Total(Math.Pow(10, hi), true);
            return false;
        }
        for (int i = 0; i < 80; i++)
        {
            double mid = (lo + hi) / 2;
            if (Total(Math.Pow(10, mid), false) <= budget) hi = mid; else lo = mid;
        }
        Total(Math.Pow(10, hi), true);
        return true;
    }
}

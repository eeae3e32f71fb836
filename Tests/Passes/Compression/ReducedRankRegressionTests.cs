using MathNet.Numerics.LinearAlgebra;
using OnnxRev.Passes.Compression;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>The refit's closed form against explicit data: optimal among rank-r matrices, the moments' error formula, and the activation-aware truncation when nothing upstream changed.</summary>
public class ReducedRankRegressionTests
{
    private static Matrix<double> Random(int m, int n, Random rng) => Matrix<double>.Build.Dense(m, n, (_, _) => rng.NextDouble() - 0.5);

    private static double[] Moments(Matrix<double> a, Matrix<double> b) => a.TransposeThisAndMultiply(b).ToRowMajorArray();

    private static float[] Floats(Matrix<double> m) => m.ToRowMajorArray().Select(x => (float)x).ToArray();

    /// <summary>X̃ = X + correlated noise (the compressed model's inputs), W k×n: data of rows × k.</summary>
    private static (Matrix<double> Xt, Matrix<double> X, Matrix<double> W) Problem(int rows, int k, int n, int seed)
    {
        var rng = new Random(seed);
        var x = Random(rows, k, rng) * Random(k, k, rng);
        var xt = x + 0.3 * x * Random(k, k, rng) + 0.05 * Random(rows, k, rng);
        // W stored as float (the layer's weight): use the float-rounded value as the exact target.
        var w = Matrix<double>.Build.DenseOfRowMajor(k, n, Floats(Random(k, n, rng)).Select(f => (double)f).ToArray());
        return (xt, x, w);
    }

    /// <summary>
    /// Independent optimum: with Z = [X̃; √λI] and T = [X·W; √λW] the objective is ‖Z·M − T‖²; its minimum over rank r is
    /// ‖T − P_Z·T‖² + Σ_{i&gt;r} σ_i²(P_Z·T) (the projection of T onto Z's columns, truncated by its own SVD).
    /// </summary>
    private static double BruteForceOptimum(Matrix<double> xt, Matrix<double> x, Matrix<double> w, double lambda, int rank)
    {
        int k = w.RowCount;
        var z = xt.Stack(Matrix<double>.Build.DenseIdentity(k) * Math.Sqrt(lambda));
        var t = (x * w).Stack(w * Math.Sqrt(lambda));
        var q = z.QR().Q.SubMatrix(0, z.RowCount, 0, k);
        var projected = q * q.TransposeThisAndMultiply(t);
        var s = projected.Svd(computeVectors: false).S;
        double residual = (t - projected).FrobeniusNorm();
        return residual * residual + Enumerable.Range(rank, s.Count - rank).Sum(i => s[i] * s[i]);
    }

    private static double Objective(Matrix<double> xt, Matrix<double> x, Matrix<double> w, double lambda, Matrix<double> m)
    {
        double d = (xt * m - x * w).FrobeniusNorm(), r = (m - w).FrobeniusNorm();
        return d * d + lambda * r * r;
    }

    [TestCase(200, 12, 9, 3, 0.0)]
    [TestCase(200, 12, 9, 3, 0.5)]
    [TestCase(150, 10, 16, 6, 0.1)]
    [TestCase(150, 16, 10, 9, 0.0)]
    public void RankRFitReachesTheBruteForceOptimum(int rows, int k, int n, int rank, double lambda)
    {
        var (xt, x, w) = Problem(rows, k, n, 7);
        var (left, right) = ReducedRankRegression.Fit(Moments(xt, xt), Moments(xt, x), Floats(w), k, n, rank, lambda);
        Assert.That(right, Is.Not.Null);
        var m = Matrix<double>.Build.DenseOfRowMajor(k, rank, left) * Matrix<double>.Build.DenseOfRowMajor(rank, n, right!);
        Assert.That(m.Rank(), Is.EqualTo(rank));
        double optimum = BruteForceOptimum(xt, x, w, lambda, rank);
        double reached = Objective(xt, x, w, lambda, m);
        Assert.That(reached, Is.EqualTo(optimum).Within(1e-9 * optimum));
        // No other rank-r matrix does better: perturbations of the factors and the truncated weight itself.
        var rng = new Random(1);
        var l = Matrix<double>.Build.DenseOfRowMajor(k, rank, left);
        var r = Matrix<double>.Build.DenseOfRowMajor(rank, n, right!);
        for (int trial = 0; trial < 20; trial++)
        {
            var other = (l + 1e-3 * Random(k, rank, rng)) * (r + 1e-3 * Random(rank, n, rng));
            Assert.That(Objective(xt, x, w, lambda, other), Is.GreaterThanOrEqualTo(reached * (1 - 1e-12)));
        }
        var svd = w.Svd();
        var truncated = svd.U.SubMatrix(0, k, 0, rank) * Matrix<double>.Build.DenseOfDiagonalArray(svd.S.Take(rank).ToArray()) * svd.VT.SubMatrix(0, rank, 0, n);
        Assert.That(Objective(xt, x, w, lambda, truncated), Is.GreaterThan(reached));
    }

    [Test]
    public void FullRankFitIsTheRidgeSolutionAndWhenNothingChangedTheOriginal()
    {
        var (xt, x, w) = Problem(120, 8, 5, 3);
        const double lambda = 0.2;
        var (m, right) = ReducedRankRegression.Fit(Moments(xt, xt), Moments(xt, x), Floats(w), 8, 5, 0, lambda);
        Assert.That(right, Is.Null);
        var expected = (xt.TransposeThisAndMultiply(xt) + lambda * Matrix<double>.Build.DenseIdentity(8)).Solve(xt.TransposeThisAndMultiply(x * w) + lambda * w);
        Assert.That((Matrix<double>.Build.DenseOfRowMajor(8, 5, m) - expected).FrobeniusNorm(), Is.LessThan(1e-10 * expected.FrobeniusNorm()));
        var (same, _) = ReducedRankRegression.Fit(Moments(x, x), Moments(x, x), Floats(w), 8, 5, 0, lambda);
        Assert.That((Matrix<double>.Build.DenseOfRowMajor(8, 5, same) - w).FrobeniusNorm(), Is.LessThan(1e-10 * w.FrobeniusNorm()));
    }

    /// <summary>With X̃ = X the rank-r refit is the activation-aware truncation of <see cref="LowRankBasis"/> weighted by XᵀX + λI.</summary>
    [Test]
    public void WithUnchangedInputsTheRankRFitIsTheActivationAwareTruncation()
    {
        var (_, x, w) = Problem(120, 10, 14, 5);
        const double lambda = 0.3;
        const int rank = 4;
        var (left, right) = ReducedRankRegression.Fit(Moments(x, x), Moments(x, x), Floats(w), 10, 14, rank, lambda);
        var fit = Matrix<double>.Build.DenseOfRowMajor(10, rank, left) * Matrix<double>.Build.DenseOfRowMajor(rank, 14, right!);
        var c = x.TransposeThisAndMultiply(x) + lambda * Matrix<double>.Build.DenseIdentity(10);
        var basis = new LowRankBasis(Floats(w), 10, 14, SideWeighting.FromMatrix(c.ToRowMajorArray(), 10));
        var (bl, br) = basis.Factors(rank);
        var aware = Matrix<double>.Build.DenseOfRowMajor(10, rank, bl.Select(f => (double)f).ToArray()) * Matrix<double>.Build.DenseOfRowMajor(rank, 14, br.Select(f => (double)f).ToArray());
        Assert.That((fit - aware).FrobeniusNorm(), Is.LessThan(1e-5 * w.FrobeniusNorm()));
    }

    [Test]
    public void SquaredErrorFromTheMomentsMatchesTheData()
    {
        var (xt, x, w) = Problem(90, 7, 6, 11);
        var a = w + 0.1 * Random(7, 6, new Random(2));
        double expected = Math.Pow((xt * a - x * w).FrobeniusNorm(), 2);
        double fromMoments = ReducedRankRegression.SquaredError(Moments(xt, xt), Moments(xt, x), Moments(x, x), a.ToRowMajorArray(), Floats(w), 7, 6);
        Assert.That(fromMoments, Is.EqualTo(expected).Within(1e-9 * expected));
        Assert.That(ReducedRankRegression.TargetEnergy(Moments(x, x), Floats(w), 7, 6), Is.EqualTo(Math.Pow((x * w).FrobeniusNorm(), 2)).Within(1e-9 * Math.Pow((x * w).FrobeniusNorm(), 2)));
    }
}

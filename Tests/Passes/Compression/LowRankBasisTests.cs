using MathNet.Numerics.LinearAlgebra;
using OnnxRev.Passes.Compression;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>The Gram-matrix truncated SVD against MathNet's own SVD: spectrum, Eckart–Young error, weighted optimality, exact full rank.</summary>
public class LowRankBasisTests
{
    private static float[] RandomMatrix(int m, int n, int seed, double decay = 0.0)
    {
        // A·diag(s)·B with decaying s, so truncation has something to discard.
        var rng = new Random(seed);
        var a = Matrix<double>.Build.Dense(m, Math.Min(m, n), (_, _) => rng.NextDouble() - 0.5);
        var b = Matrix<double>.Build.Dense(Math.Min(m, n), n, (_, _) => rng.NextDouble() - 0.5);
        var s = Matrix<double>.Build.DenseOfDiagonalArray(Enumerable.Range(0, Math.Min(m, n)).Select(i => Math.Exp(-decay * i)).ToArray());
        var w = a * s * b;
        var result = new float[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) result[i * n + j] = (float)w[i, j];
        return result;
    }

    private static Matrix<double> Dense(float[] data, int m, int n) => Matrix<double>.Build.Dense(m, n, (i, j) => data[i * n + j]);

    [TestCase(40, 24)]
    [TestCase(24, 40)]
    public void SpectrumIsTheSquaredSingularValuesAndTruncationMeetsEckartYoung(int m, int n)
    {
        var data = RandomMatrix(m, n, 3, decay: 0.15);
        var basis = new LowRankBasis(data, m, n);
        var s = Dense(data, m, n).Svd().S;
        for (int i = 0; i < Math.Min(m, n); i++) Assert.That(basis.Spectrum[i], Is.EqualTo(s[i] * s[i]).Within(1e-6 * s[0] * s[0]));
        foreach (int r in new[] { 1, 5, 12 })
        {
            var (l, rr) = basis.Factors(r);
            var approx = Dense(l, m, r) * Dense(rr, r, n);
            double err = (Dense(data, m, n) - approx).FrobeniusNorm();
            double bound = Math.Sqrt(Enumerable.Range(r, Math.Min(m, n) - r).Sum(i => s[i] * s[i]));
            // float factors: the error is the discarded singular values' norm up to float rounding.
            Assert.That(err, Is.EqualTo(bound).Within(1e-5 * s[0] + 1e-4 * bound), $"rank {r}");
            Assert.That(basis.Discarded(r), Is.EqualTo(bound * bound).Within(1e-6 * s[0] * s[0]));
        }
    }

    [Test]
    public void FullRankReproducesTheMatrix()
    {
        var data = RandomMatrix(30, 20, 5);
        var basis = new LowRankBasis(data, 30, 20);
        var (l, r) = basis.Factors(20);
        var approx = Dense(l, 30, 20) * Dense(r, 20, 20);
        Assert.That((approx - Dense(data, 30, 20)).Enumerate().Max(Math.Abs), Is.LessThan(1e-5));
    }

    [Test]
    public void RankOfAnExactlyLowRankMatrixIsFoundAtEnergyOne()
    {
        var rng = new Random(1);
        var a = Matrix<double>.Build.Dense(50, 6, (_, _) => rng.NextDouble() - 0.5) * Matrix<double>.Build.Dense(6, 32, (_, _) => rng.NextDouble() - 0.5);
        var data = a.ToRowMajorArray().Select(v => (float)v).ToArray();
        var basis = new LowRankBasis(data, 50, 32);
        Assert.That(basis.RankForEnergy(1.0), Is.EqualTo(6));
        Assert.That(basis.RankForEnergy(0.5), Is.LessThan(6));
    }

    /// <summary>With calibration activations X, the left-weighted factors minimize ‖X(S − Ŝ)‖: the error equals the discarded weighted spectrum and beats the plain SVD's.</summary>
    [TestCase(48, 20)]
    [TestCase(20, 48)]
    public void WeightedFactorsMinimizeTheOutputError(int k, int n)
    {
        var rng = new Random(7);
        var data = RandomMatrix(k, n, 11, decay: 0.05);
        // Activations with very unequal feature scales.
        var x = Matrix<double>.Build.Dense(200, k, (_, j) => (rng.NextDouble() - 0.5) * Math.Exp(-0.2 * j));
        var c = x.TransposeThisAndMultiply(x);
        var weighted = new LowRankBasis(data, k, n, left: SideWeighting.FromMatrix(c.ToRowMajorArray(), k));
        var plain = new LowRankBasis(data, k, n);
        var s = Dense(data, k, n);
        foreach (int r in new[] { 2, 6, 10 })
        {
            var (wl, wr) = weighted.Factors(r);
            var (pl, pr) = plain.Factors(r);
            double we = (x * (s - Dense(wl, k, r) * Dense(wr, r, n))).FrobeniusNorm();
            double pe = (x * (s - Dense(pl, k, r) * Dense(pr, r, n))).FrobeniusNorm();
            Assert.That(we * we, Is.EqualTo(weighted.Discarded(r)).Within(1e-3 * weighted.Total), $"rank {r}: the weighted spectrum predicts the output error");
            Assert.That(we, Is.LessThan(pe), $"rank {r}: activation-aware beats plain SVD on the activations");
        }
    }

    [Test]
    public void RightWeightingIsTheTransposedProblem()
    {
        var rng = new Random(9);
        var data = RandomMatrix(16, 30, 2, decay: 0.1);
        var x = Matrix<double>.Build.Dense(100, 30, (_, j) => (rng.NextDouble() - 0.5) * (1 + j % 5));
        var c = x.TransposeThisAndMultiply(x);
        var basis = new LowRankBasis(data, 16, 30, right: SideWeighting.FromMatrix(c.ToRowMajorArray(), 30));
        var (l, r) = basis.Factors(4);
        var err = (x * (Dense(data, 16, 30) - Dense(l, 16, 4) * Dense(r, 4, 30)).Transpose()).FrobeniusNorm();
        Assert.That(err * err, Is.EqualTo(basis.Discarded(4)).Within(1e-3 * basis.Total));
    }
}

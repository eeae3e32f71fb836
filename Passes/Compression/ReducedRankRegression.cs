using MathNet.Numerics.LinearAlgebra;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Error-correcting refit of one linear layer y = x·W from second moments of calibration data: X̃ are the rows the
/// layer receives in the compressed model, X those it receives in the original, the target is X·W. With
/// S_aa = X̃ᵀX̃, S_ab = X̃ᵀX and a ridge λ pulling towards the original weight, the refit minimizes
/// <code>‖X̃·M − X·W‖²_F + λ‖M − W‖²_F      over M of rank ≤ r (r = 0: any rank)</code>
/// In closed form: the full-rank minimizer is M* = (S_aa + λI)⁻¹(S_ab·W + λW) (equal to W when X̃ = X); with
/// C = S_aa + λI the objective is ‖C^½(M − M*)‖² + const, so the best rank-r M is M*·V_r·V_rᵀ with V_r the top
/// eigenvectors of M*ᵀ·C·M* (Eckart–Young on C^½M*): reduced-rank regression. Everything is k×k or k×n, so the
/// number of calibration rows does not matter.
/// </summary>
public static class ReducedRankRegression
{
    /// <summary>
    /// The refit. <paramref name="saa"/> = X̃ᵀX̃ and <paramref name="sab"/> = X̃ᵀX (k×k, row-major), <paramref name="w"/> the
    /// original weight (k×n, row-major, x·W orientation), <paramref name="rank"/> 0 for a full-rank refit. Returns
    /// Left (k×r) and Right (r×n) with M = Left·Right; for a full-rank refit Left = M and Right is null.
    /// </summary>
    public static (double[] Left, double[]? Right) Fit(double[] saa, double[] sab, ReadOnlySpan<float> w, int k, int n, int rank, double ridge)
    {
        if (saa.Length != k * k || sab.Length != k * k || w.Length != k * n) throw new ArgumentException($"refit: a {k}×{n} weight needs {k}×{k} moments");
        if (ridge < 0) throw new ArgumentException("refit: the ridge must be ≥ 0");
        var copy = w.ToArray();
        var wm = Matrix<double>.Build.Dense(k, n, (i, j) => copy[i * n + j]);
        var c = Matrix<double>.Build.Dense(k, k, (i, j) => saa[i * k + j]);
        c = (c + c.Transpose()) * 0.5 + Matrix<double>.Build.DenseIdentity(k) * ridge;
        var b = Matrix<double>.Build.Dense(k, k, (i, j) => sab[i * k + j]);
        var rhs = b * wm + wm * ridge;
        var m = Solve(c, rhs);
        if (rank <= 0 || rank >= Math.Min(k, n)) return (m.ToRowMajorArray(), null);
        var (_, vectors) = LowRankBasis.Eigen(m.TransposeThisAndMultiply(c * m));
        var vr = vectors.SubMatrix(0, n, 0, rank);
        return ((m * vr).ToRowMajorArray(), vr.Transpose().ToRowMajorArray());
    }

    /// <summary>
    /// ‖X̃·A − X·W‖²_F from the moments: tr(AᵀS_aa·A) − 2·tr(AᵀS_ab·W) + tr(WᵀS_bb·W), with <paramref name="sbb"/> = XᵀX.
    /// <paramref name="a"/> is k×n (row-major).
    /// </summary>
    public static double SquaredError(double[] saa, double[] sab, double[] sbb, ReadOnlySpan<double> a, ReadOnlySpan<float> w, int k, int n)
    {
        var ac = a.ToArray();
        var wc = w.ToArray();
        var am = Matrix<double>.Build.Dense(k, n, (i, j) => ac[i * n + j]);
        var wm = Matrix<double>.Build.Dense(k, n, (i, j) => wc[i * n + j]);
        var saaM = Matrix<double>.Build.Dense(k, k, (i, j) => saa[i * k + j]);
        var sabM = Matrix<double>.Build.Dense(k, k, (i, j) => sab[i * k + j]);
        var sbbM = Matrix<double>.Build.Dense(k, k, (i, j) => sbb[i * k + j]);
        double e = am.TransposeThisAndMultiply(saaM * am).Trace() - 2 * am.TransposeThisAndMultiply(sabM * wm).Trace() + wm.TransposeThisAndMultiply(sbbM * wm).Trace();
        return Math.Max(e, 0);
    }

    /// <summary>tr(WᵀS_bb·W) = ‖X·W‖²_F: the target's energy.</summary>
    public static double TargetEnergy(double[] sbb, ReadOnlySpan<float> w, int k, int n)
    {
        var wc = w.ToArray();
        var wm = Matrix<double>.Build.Dense(k, n, (i, j) => wc[i * n + j]);
        var sbbM = Matrix<double>.Build.Dense(k, k, (i, j) => sbb[i * k + j]);
        return wm.TransposeThisAndMultiply(sbbM * wm).Trace();
    }

    private static Matrix<double> Solve(Matrix<double> spd, Matrix<double> rhs)
    {
        // C is symmetric positive definite when the ridge is positive or the data spans every direction; fall back to a
        // pseudo-inverse through the eigendecomposition otherwise.
        try
        {
            return spd.Cholesky().Solve(rhs);
        }
        catch (ArgumentException)
        {
            var (values, vectors) = LowRankBasis.Eigen(spd);
            double tol = Math.Max(values[0], double.Epsilon) * 1e-12;
            var inv = Matrix<double>.Build.DenseOfDiagonalArray(values.Select(v => v > tol ? 1 / v : 0).ToArray());
            return vectors * inv * vectors.TransposeThisAndMultiply(rhs);
        }
    }
}

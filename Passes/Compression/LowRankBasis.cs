using MathNet.Numerics.LinearAlgebra;

namespace OnnxRev.Passes.Compression;

/// <summary>How the error of a truncated matrix is measured: plainly, or weighted by the statistics of the data it multiplies.</summary>
public sealed class SideWeighting
{
    private SideWeighting(double[]? diagonal, double[]? full, int size, double[]? columns = null)
    {
        Diagonal = diagonal;
        Full = full;
        Size = size;
        Columns = columns;
    }

    /// <summary>
    /// With <see cref="Diagonal"/> row weights: a symmetric positive definite metric on the matrix's columns (cols × cols,
    /// row-major), so the error is ‖D^½(S − Ŝ)G^½‖ (e.g. an embedding table read through a LayerNorm); null: plain columns.
    /// </summary>
    public double[]? Columns { get; }

    /// <summary>Per-row (or per-column) weights, e.g. how often each embedding row is looked up; null when <see cref="Full"/> is set.</summary>
    public double[]? Diagonal { get; }

    /// <summary>A symmetric positive semi-definite matrix (size × size, row-major), e.g. the calibration inputs' XᵀX.</summary>
    public double[]? Full { get; }

    /// <summary>Rows (left weighting) or columns (right weighting) it covers.</summary>
    public int Size { get; }

    /// <summary>Diagonal weights (non-negative).</summary>
    public static SideWeighting FromDiagonal(double[] weights) => new(weights, null, weights.Length);

    /// <summary>Diagonal row weights and a metric on the columns (<paramref name="cols"/> × <paramref name="cols"/>, symmetric positive definite).</summary>
    public static SideWeighting FromDiagonal(double[] weights, double[] columnMetric, int cols)
    {
        if (columnMetric.Length != cols * cols) throw new ArgumentException($"a {cols}×{cols} column metric needs {cols * cols} numbers, not {columnMetric.Length}");
        return new(weights, null, weights.Length, columnMetric);
    }

    /// <summary>A full second-moment matrix (size × size, row-major, symmetric).</summary>
    public static SideWeighting FromMatrix(double[] matrix, int size)
    {
        if (matrix.Length != size * size) throw new ArgumentException($"a {size}×{size} matrix needs {size * size} numbers, not {matrix.Length}");
        return new(null, matrix, size);
    }
}

/// <summary>
/// The best rank-r approximations of one stored matrix S (m×n), computed once for every r through the
/// eigendecomposition (in double) of a Gram matrix of its smaller side instead of an SVD of S itself
/// (an SVD of a 30522×384 embedding takes minutes in managed code; its 384×384 Gram matrix takes seconds).
/// <para>Unweighted: Ŝ_r = S·V_r·V_rᵀ with V the eigenvectors of SᵀS (or U_r·U_rᵀ·S with U those of SSᵀ), which is
/// the truncated SVD: ‖S − Ŝ_r‖²_F = Σ_{i&gt;r} σ_i² (Eckart–Young).</para>
/// <para>Left-weighted by C = XᵀX (S multiplies X from the right, X·S): Ŝ_r minimizes ‖X·(S − Ŝ_r)‖_F: with V the
/// eigenvectors of SᵀCS, Ŝ_r = S·V_r·V_rᵀ; when m &lt; n the m×m problem is solved instead through the Cholesky
/// factor of C (damped by 1e-6 of its mean diagonal so it is invertible). Right weighting is the transposed problem.</para>
/// <para><see cref="Spectrum"/> holds the squared (weighted) singular values, largest first: the error of rank r
/// is the sum of those past r.</para>
/// </summary>
public sealed class LowRankBasis
{
    private readonly Matrix<double> _s;          // the (possibly transposed) matrix factored as L·R with left weighting
    private readonly bool _transposed;           // true: _s = Sᵀ, factors are swapped and transposed on the way out
    private readonly Matrix<double>? _v;         // n×n eigenvectors (projection from the right): Ŝ = S V V^T
    private readonly Matrix<double>? _u;         // m×m eigenvectors in the whitened space: Ŝ = L^{-T} U U^T L^T S
    private readonly Matrix<double>? _chol;      // L with C = L L^T (null: identity)
    private readonly Matrix<double>? _columnsInverseHalf; // G^-½ when the columns carry a metric G

    /// <summary>Rows of S.</summary>
    public int Rows { get; }

    /// <summary>Columns of S.</summary>
    public int Cols { get; }

    /// <summary>Squared singular values of S in the chosen norm, descending, min(m, n) of them.</summary>
    public double[] Spectrum { get; }

    /// <summary>Σ of <see cref="Spectrum"/>: ‖S‖² in the chosen norm.</summary>
    public double Total { get; }

    /// <summary>Decomposes S (row-major float data, <paramref name="rows"/>×<paramref name="cols"/>), optionally weighted on one side.</summary>
    public LowRankBasis(ReadOnlySpan<float> data, int rows, int cols, SideWeighting? left = null, SideWeighting? right = null)
    {
        if (left is not null && right is not null) throw new ArgumentException("weight one side only");
        Rows = rows;
        Cols = cols;
        if (left is not null && left.Size != rows) throw new ArgumentException($"left weighting covers {left.Size} rows, the matrix has {rows}");
        if (right is not null && right.Size != cols) throw new ArgumentException($"right weighting covers {right.Size} columns, the matrix has {cols}");
        var copy = ToDoubles(data);
        if (left?.Columns is { } metric)
        {
            // ‖D^½(S − Ŝ)G^½‖: factor S' = S·G^½ with row weights only, then Ŝ = Ŝ'·G^-½ (the right factor takes G^-½).
            var g = Matrix<double>.Build.Dense(cols, cols, (i, j) => metric[i * cols + j]);
            var (gv, gvec) = Eigen(g);
            if (gv[^1] <= 0) throw new ArgumentException("the column metric must be positive definite");
            var half = gvec * Matrix<double>.Build.DenseOfDiagonalArray(gv.Select(Math.Sqrt).ToArray()) * gvec.Transpose();
            _columnsInverseHalf = gvec * Matrix<double>.Build.DenseOfDiagonalArray(gv.Select(v => 1 / Math.Sqrt(v)).ToArray()) * gvec.Transpose();
            var sm = Matrix<double>.Build.Dense(rows, cols, (i, j) => copy[i * cols + j]) * half;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) copy[i * cols + j] = sm[i, j];
        }
        _transposed = right is not null;
        var weighting = left ?? right;
        int m = _transposed ? cols : rows, n = _transposed ? rows : cols;
        _s = Matrix<double>.Build.Dense(m, n, (i, j) => _transposed ? copy[j * cols + i] : copy[i * cols + j]);
        var c = weighting?.Full is { } full ? Matrix<double>.Build.Dense(m, m, (i, j) => full[i * m + j]) : null;
        var d = weighting?.Diagonal;
        int k = Math.Min(m, n);
        double[] values;
        if (n <= m || (c is null && d is null))
        {
            if (n <= m)
            {
                // Gram of the small side n: SᵀCS.
                Matrix<double> g;
                if (d is not null)
                {
                    var sw = ScaleRows(_s, d.Select(Math.Sqrt).ToArray());
                    g = sw.TransposeThisAndMultiply(sw);
                }
                else if (c is not null) g = _s.TransposeThisAndMultiply(c * _s);
                else g = _s.TransposeThisAndMultiply(_s);
                (values, _v) = Eigen(g);
            }
            else
            {
                (values, _u) = Eigen(_s.TransposeAndMultiply(_s));
            }
        }
        else
        {
            // m < n with weighting: whiten the m side, C = L Lᵀ, eigenvectors of LᵀSSᵀL.
            c ??= Matrix<double>.Build.DenseOfDiagonalArray(d!);
            double damp = 1e-6 * Math.Max(c.Diagonal().Average(), double.Epsilon);
            var damped = c + Matrix<double>.Build.DenseIdentity(m) * damp;
            _chol = damped.Cholesky().Factor;
            var z = _chol.TransposeThisAndMultiply(_s);
            (values, _u) = Eigen(z.TransposeAndMultiply(z));
        }
        Spectrum = values.Take(k).Select(v => Math.Max(v, 0)).ToArray();
        Total = Spectrum.Sum();
    }

    /// <summary>Σ_{i≥r} spectrum: the squared error of rank r in the chosen norm.</summary>
    public double Discarded(int rank)
    {
        double sum = 0;
        for (int i = Math.Max(rank, 0); i < Spectrum.Length; i++) sum += Spectrum[i];
        return sum;
    }

    /// <summary>The smallest rank keeping at least <paramref name="energy"/> of <see cref="Total"/> (1 keeps the numerical rank).</summary>
    public int RankForEnergy(double energy)
    {
        if (Total <= 0) return 1;
        double need = energy * Total - 1e-12 * Total, kept = 0;
        for (int r = 0; r < Spectrum.Length; r++)
        {
            kept += Spectrum[r];
            if (kept >= need) return r + 1;
        }
        return Spectrum.Length;
    }

    /// <summary>Factors of rank <paramref name="rank"/>: Left (m×r) and Right (r×n), row-major float, with S ≈ Left·Right.</summary>
    public (float[] Left, float[] Right) Factors(int rank)
    {
        int m = _s.RowCount, n = _s.ColumnCount;
        rank = Math.Clamp(rank, 1, Math.Min(m, n));
        Matrix<double> l, r;
        if (_v is not null)
        {
            var vr = _v.SubMatrix(0, n, 0, rank);
            l = _s * vr;
            r = vr.Transpose();
        }
        else
        {
            var ur = _u!.SubMatrix(0, m, 0, rank);
            if (_chol is null)
            {
                l = ur;
                r = ur.TransposeThisAndMultiply(_s);
            }
            else
            {
                // Left = L^{-T} U_r, Right = U_rᵀ Lᵀ S.
                l = _chol.Transpose().Solve(ur);
                r = ur.TransposeThisAndMultiply(_chol.TransposeThisAndMultiply(_s));
            }
        }
        if (_columnsInverseHalf is not null) r *= _columnsInverseHalf;
        if (!_transposed) return (ToFloats(l), ToFloats(r));
        // _s = Sᵀ ≈ l·r  ⇒  S ≈ rᵀ·lᵀ.
        return (ToFloats(r.Transpose()), ToFloats(l.Transpose()));
    }

    private static double[] ToDoubles(ReadOnlySpan<float> data)
    {
        var result = new double[data.Length];
        for (int i = 0; i < data.Length; i++) result[i] = data[i];
        return result;
    }

    private static Matrix<double> ScaleRows(Matrix<double> s, double[] scale)
    {
        var result = s.Clone();
        for (int i = 0; i < s.RowCount; i++)
            if (scale[i] != 1) result.SetRow(i, s.Row(i) * scale[i]);
        return result;
    }

    /// <summary>Eigenvalues (descending) and eigenvectors (as columns, same order) of a symmetric matrix.</summary>
    internal static (double[] Values, Matrix<double> Vectors) Eigen(Matrix<double> symmetric)
    {
        var sym = (symmetric + symmetric.Transpose()) * 0.5;
        var evd = sym.Evd(Symmetricity.Symmetric);
        int n = sym.RowCount;
        var order = Enumerable.Range(0, n).OrderByDescending(i => evd.EigenValues[i].Real).ToArray();
        var values = order.Select(i => evd.EigenValues[i].Real).ToArray();
        var vectors = Matrix<double>.Build.Dense(n, n);
        for (int j = 0; j < n; j++) vectors.SetColumn(j, evd.EigenVectors.Column(order[j]));
        return (values, vectors);
    }

    private static float[] ToFloats(Matrix<double> m)
    {
        var result = new float[m.RowCount * m.ColumnCount];
        for (int i = 0; i < m.RowCount; i++)
            for (int j = 0; j < m.ColumnCount; j++) result[i * m.ColumnCount + j] = (float)m[i, j];
        return result;
    }
}

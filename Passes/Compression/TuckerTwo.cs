using MathNet.Numerics.LinearAlgebra;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Tucker-2 decomposition of a convolution kernel W [O, I, kh, kw] on its two channel modes
/// (Kim et al., "Compression of Deep Convolutional Neural Networks for Fast and Low Power Mobile Applications"):
/// W ≈ G ×₀ U_O ×₁ U_I with U_O [O, r_o] and U_I [I, r_i] orthonormal and the core G [r_o, r_i, kh, kw] = W ×₀ U_Oᵀ ×₁ U_Iᵀ.
/// The convolution becomes a 1×1 convolution to r_i channels (U_Iᵀ), the k×k core, and a 1×1 convolution to O
/// channels (U_O, with the original bias). The starting factors are the HOSVD's (leading eigenvectors of each
/// mode's Gram matrix, in double); HOOI iterations then refit each factor to the other.
/// </summary>
public sealed class TuckerTwo
{
    private readonly double[] _w;
    private readonly Matrix<double> _uo, _ui;

    /// <summary>Output channels.</summary>
    public int Out { get; }

    /// <summary>Input channels.</summary>
    public int In { get; }

    /// <summary>kh·kw.</summary>
    public int Spatial { get; }

    /// <summary>Squared singular values of the mode-0 (output channel) unfolding, descending.</summary>
    public double[] OutSpectrum { get; }

    /// <summary>Squared singular values of the mode-1 (input channel) unfolding, descending.</summary>
    public double[] InSpectrum { get; }

    /// <summary>‖W‖²_F.</summary>
    public double Total { get; }

    /// <summary>Runs the HOSVD of a kernel (row-major [O, I, kh, kw]).</summary>
    public TuckerTwo(ReadOnlySpan<float> kernel, int outChannels, int inChannels, int spatial)
    {
        Out = outChannels;
        In = inChannels;
        Spatial = spatial;
        _w = new double[kernel.Length];
        for (int i = 0; i < kernel.Length; i++) _w[i] = kernel[i];
        Total = _w.Sum(v => v * v);
        double[] outValues, inValues;
        (outValues, _uo) = LowRankBasis.Eigen(ModeGram(_w, 0, null));
        (inValues, _ui) = LowRankBasis.Eigen(ModeGram(_w, 1, null));
        OutSpectrum = outValues.Select(v => Math.Max(v, 0)).ToArray();
        InSpectrum = inValues.Select(v => Math.Max(v, 0)).ToArray();
    }

    /// <summary>The smallest rank of a mode keeping at least <paramref name="energy"/> of its spectrum.</summary>
    public static int RankForEnergy(double[] spectrum, double energy)
    {
        double total = spectrum.Sum(), need = energy * total - 1e-12 * total, kept = 0;
        if (total <= 0) return 1;
        for (int r = 0; r < spectrum.Length; r++)
        {
            kept += spectrum[r];
            if (kept >= need) return r + 1;
        }
        return spectrum.Length;
    }

    /// <summary>The factors for ranks (r_o, r_i) after <paramref name="iterations"/> HOOI sweeps, and ‖W − Ŵ‖²_F.</summary>
    public TuckerFactors Factors(int outRank, int inRank, int iterations = 0)
    {
        outRank = Math.Clamp(outRank, 1, Out);
        inRank = Math.Clamp(inRank, 1, In);
        var uo = _uo.SubMatrix(0, Out, 0, outRank);
        var ui = _ui.SubMatrix(0, In, 0, inRank);
        for (int it = 0; it < iterations; it++)
        {
            uo = LowRankBasis.Eigen(ModeGram(_w, 0, ui)).Vectors.SubMatrix(0, Out, 0, outRank);
            ui = LowRankBasis.Eigen(ModeGram(_w, 1, uo)).Vectors.SubMatrix(0, In, 0, inRank);
        }
        // Core G[a, b, s] = Σ_o Σ_i U_O[o, a] U_I[i, b] W[o, i, s].
        var core = new double[outRank * inRank * Spatial];
        var tmp = new double[Out * inRank * Spatial]; // W ×₁ U_Iᵀ: [O, r_i, s]
        for (int o = 0; o < Out; o++)
            for (int i = 0; i < In; i++)
                for (int b = 0; b < inRank; b++)
                {
                    double f = ui[i, b];
                    if (f == 0) continue;
                    int src = (o * In + i) * Spatial, dst = (o * inRank + b) * Spatial;
                    for (int s = 0; s < Spatial; s++) tmp[dst + s] += f * _w[src + s];
                }
        for (int o = 0; o < Out; o++)
            for (int a = 0; a < outRank; a++)
            {
                double f = uo[o, a];
                for (int k = 0; k < inRank * Spatial; k++) core[a * inRank * Spatial + k] += f * tmp[o * inRank * Spatial + k];
            }
        double kept = core.Sum(v => v * v);
        return new TuckerFactors(outRank, inRank,
            ToFloats(uo, transpose: false), ToFloats(ui, transpose: true), core.Select(v => (float)v).ToArray(), Math.Max(Total - kept, 0));
    }

    /// <summary>Gram matrix of mode <paramref name="mode"/> (0: output, 1: input channels), after projecting the other mode on <paramref name="other"/> when given.</summary>
    private Matrix<double> ModeGram(double[] w, int mode, Matrix<double>? other)
    {
        int rows = mode == 0 ? Out : In;
        int otherDim = mode == 0 ? In : Out;
        int otherRank = other?.ColumnCount ?? otherDim;
        // Unfolding X [rows, otherRank·Spatial].
        var x = new double[rows * otherRank * Spatial];
        for (int o = 0; o < Out; o++)
            for (int i = 0; i < In; i++)
            {
                int row = mode == 0 ? o : i, col = mode == 0 ? i : o;
                int src = (o * In + i) * Spatial;
                if (other is null)
                {
                    int dst = (row * otherRank + col) * Spatial;
                    for (int s = 0; s < Spatial; s++) x[dst + s] += w[src + s];
                }
                else
                    for (int c = 0; c < otherRank; c++)
                    {
                        double f = other[col, c];
                        int dst = (row * otherRank + c) * Spatial;
                        for (int s = 0; s < Spatial; s++) x[dst + s] += f * w[src + s];
                    }
            }
        var m = Matrix<double>.Build.Dense(rows, otherRank * Spatial, (r, c) => x[r * otherRank * Spatial + c]);
        return m.TransposeAndMultiply(m);
    }

    private static float[] ToFloats(Matrix<double> m, bool transpose)
    {
        int rows = transpose ? m.ColumnCount : m.RowCount, cols = transpose ? m.RowCount : m.ColumnCount;
        var result = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) result[i * cols + j] = (float)(transpose ? m[j, i] : m[i, j]);
        return result;
    }
}

/// <summary>Tucker-2 factors of one kernel.</summary>
/// <param name="OutRank">r_o.</param>
/// <param name="InRank">r_i.</param>
/// <param name="OutFactor">U_O as the last 1×1 convolution's weight [O, r_o] (row-major).</param>
/// <param name="InFactor">U_Iᵀ as the first 1×1 convolution's weight [r_i, I].</param>
/// <param name="Core">The core [r_o, r_i, kh, kw].</param>
/// <param name="SquaredError">‖W − Ŵ‖²_F.</param>
public sealed record TuckerFactors(int OutRank, int InRank, float[] OutFactor, float[] InFactor, float[] Core, double SquaredError);

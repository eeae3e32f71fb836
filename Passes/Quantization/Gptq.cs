namespace OnnxRev.Passes.Quantization;

/// <summary>
/// GPTQ (Frantar et al., 2023) for block-wise 4-bit weights: the inputs are quantized one at a time and each
/// rounding error is spread over the inputs not yet quantized, weighted by the inverse Hessian of the layer's
/// squared output error, H = Σ x xᵀ over calibration inputs x (plus 1 % of its mean diagonal as damping).
/// Static groups in act order: every block's scale and zero point come from the original weights
/// (<see cref="BlockQuantizer.Parameters"/>), then inputs are processed by decreasing H_kk. Inputs that never fire
/// (H_kk = 0) get weight 0.
/// </summary>
public static class Gptq
{
    /// <summary>Relative damping added to H's diagonal.</summary>
    public const double Damping = 0.01;

    /// <summary>U per Hessian and damping (weights reading the same input, such as Q, K and V, share one).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<double[], Dictionary<double, double[]>> Cache = new();

    /// <summary>Quantizes <paramref name="w"/> (N rows of K) given <paramref name="hessian"/> (K × K, row-major); <c>halfScales</c>
    /// rounds the block scales to float16 (for scales stored as float16); <c>bits</c>: 4 or 8 per code; <c>sweeps</c>: coordinate-descent
    /// passes after GPTQ (<see cref="Refine"/>); <c>damping</c>: added to H's diagonal as a fraction of its mean (default <see cref="Damping"/>).</summary>
    public static BlockQuantized Quantize(float[] w, int n, int k, int blockSize, bool symmetric, double[] hessian, bool halfScales = false, int bits = 4, int sweeps = 0,
        double damping = Damping)
    {
        if (!(damping > 0) || double.IsInfinity(damping)) throw new OnnxRevException($"GPTQ damping must be a positive fraction of the Hessian's mean diagonal, got {damping}");
        if (hessian.Length != (long)k * k) throw new ArgumentException($"the Hessian has {hessian.Length} entries, not {k}·{k}");
        var h = (double[])hessian.Clone();
        var dead = new List<int>();
        var work = w.Select(x => (double)x).ToArray();
        double mean = 0;
        for (int i = 0; i < k; i++) mean += h[i * k + i];
        mean /= k;
        for (int i = 0; i < k; i++)
        {
            if (h[i * k + i] == 0)
            {
                h[i * k + i] = 1;
                dead.Add(i);
            }
            h[i * k + i] += damping * (mean > 0 ? mean : 1);
        }
        foreach (int i in dead)
            for (int r = 0; r < n; r++) work[(long)r * k + i] = 0;
        var layout = new BlockLayout(n, k, blockSize, symmetric, bits);
        int blocks = layout.Blocks;
        var scale = new float[n * blocks];
        var zp = new int[n * blocks];
        var block = new float[blockSize];
        // Static groups: every block's scale and zero point from the original weights, so the inputs can then be
        // processed in act order (largest H_kk first), which puts the error feedback where the inputs are largest.
        for (int r = 0; r < n; r++)
            for (int b = 0; b < blocks; b++)
            {
                int len = Math.Min(blockSize, k - b * blockSize);
                for (int i = 0; i < len; i++) block[i] = (float)work[(long)r * k + b * blockSize + i];
                (scale[r * blocks + b], zp[r * blocks + b]) = BlockQuantizer.Parameters(block.AsSpan(0, len), symmetric, halfScales, bits);
                layout.SetBlock(r, b, scale[r * blocks + b], zp[r * blocks + b]);
            }
        var perm = Enumerable.Range(0, k).OrderByDescending(i => h[(long)i * k + i]).ToArray();
        double[] u;
        lock (Cache)
            {
                var byDamping = Cache.GetOrCreateValue(hessian);
                if (!byDamping.TryGetValue(damping, out u!))
                {
                    var hp = new double[(long)k * k];
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) hp[(long)i * k + j] = h[(long)perm[i] * k + perm[j]];
                    byDamping[damping] = u = UpperCholeskyOfInverse(hp, k);
                }
            }
        var wp = new double[work.Length];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < k; i++) wp[(long)r * k + i] = work[(long)r * k + perm[i]];
        var err = new double[n];
        var codes = new int[(long)n * k];
        for (int i = 0; i < k; i++)
        {
            int c = perm[i], b = c / blockSize;
            double d = u[(long)i * k + i];
            for (int r = 0; r < n; r++)
            {
                double v = wp[(long)r * k + i];
                float s = scale[r * blocks + b];
                int z = zp[r * blocks + b];
                int code = BlockQuantizer.Code((float)v, s, z, bits);
                layout.SetCode(r, c, code);
                codes[(long)r * k + c] = code;
                err[r] = (v - (code - z) * (double)s) / d;
            }
            // Spread the errors over the inputs still to come (in act order): w[r, j] −= err[r] · U[i, j] for j > i.
            int at = i;
            Parallel.For(0, n, r =>
            {
                double e = err[r];
                if (e == 0) return;
                var row = wp.AsSpan((int)((long)r * k), k);
                var ui = u.AsSpan((int)((long)at * k), k);
                for (int j = at + 1; j < k; j++) row[j] -= e * ui[j];
            });
        }
        if (sweeps > 0) Refine(work, codes, scale, zp, h, n, k, blockSize, bits, sweeps, halfScales, layout);
        return layout.Build();
    }

    /// <summary>
    /// Coordinate descent on GPTQ's own objective, row by row: with e = w − ŵ and the damped Hessian H, each code in turn is
    /// set to the grid value nearest the one that minimizes eᵀHe with every other code held (ŵ_k = w_k − e_k + g_k / H_kk,
    /// g = He); then each block's scale is moved to its own minimizer with the codes held (Δs = aᵀg_b / aᵀH_bb a for
    /// a = codes − zero point; float16-rounded when the scales are stored so, and kept only where the objective falls).
    /// Repeated for up to <paramref name="sweeps"/> passes or until nothing changes. GPTQ decides each code once and only
    /// pushes its error forward; this revisits the earlier ones given the later, and never raises the objective.
    /// </summary>
    private static void Refine(double[] w, int[] codes, float[] scale, int[] zp, double[] h, int n, int k, int blockSize, int bits, int sweeps, bool halfScales, BlockLayout layout)
    {
        int blocks = (k + blockSize - 1) / blockSize, top = (1 << bits) - 1;
        Parallel.For(0, n, r =>
        {
            var e = new double[k];
            for (int i = 0; i < k; i++)
            {
                int b = i / blockSize;
                e[i] = w[(long)r * k + i] - (codes[(long)r * k + i] - zp[r * blocks + b]) * (double)scale[r * blocks + b];
            }
            var g = new double[k];
            for (int i = 0; i < k; i++)
            {
                var hi = h.AsSpan((int)((long)i * k), k);
                double s = 0;
                for (int j = 0; j < k; j++) s += hi[j] * e[j];
                g[i] = s;
            }
            for (int sweep = 0; sweep < sweeps; sweep++)
            {
                int changed = 0;
                for (int i = 0; i < k; i++)
                {
                    int b = i / blockSize;
                    double s = scale[r * blocks + b];
                    int z = zp[r * blocks + b];
                    double hii = h[(long)i * k + i];
                    double wanted = w[(long)r * k + i] - e[i] + g[i] / hii;   // the best real value for this weight
                    int code = Math.Clamp((int)Math.Round(wanted / s, MidpointRounding.ToEven) + z, 0, top);
                    int old = codes[(long)r * k + i];
                    if (code == old) continue;
                    double delta = -(code - old) * s;                             // change of e_i
                    e[i] += delta;
                    var hi = h.AsSpan((int)((long)i * k), k);                     // H symmetric: column i = row i
                    for (int j = 0; j < k; j++) g[j] += hi[j] * delta;
                    codes[(long)r * k + i] = code;
                    changed++;
                }
                for (int b = 0; b < blocks; b++)
                {
                    int start = b * blockSize, end = Math.Min(k, start + blockSize);
                    int z = zp[r * blocks + b];
                    double num = 0, den = 0;
                    for (int i = start; i < end; i++)
                    {
                        int ai = codes[(long)r * k + i] - z;
                        if (ai == 0) continue;
                        num += ai * g[i];
                        for (int j = start; j < end; j++) den += ai * (codes[(long)r * k + j] - z) * h[(long)i * k + j];
                    }
                    if (!(den > 0)) continue;
                    float old = scale[r * blocks + b];
                    float next = (float)(old + num / den);
                    if (halfScales) next = BlockQuantizer.HalfScale(next);
                    double step = (double)next - old;
                    if (!(next > 0) || step == 0 || -2 * step * num + step * step * den >= 0) continue;
                    for (int i = start; i < end; i++)
                    {
                        int ai = codes[(long)r * k + i] - z;
                        if (ai == 0) continue;
                        double de = -ai * step;
                        e[i] += de;
                        var hi = h.AsSpan((int)((long)i * k), k);
                        for (int j = 0; j < k; j++) g[j] += hi[j] * de;
                    }
                    scale[r * blocks + b] = next;
                    layout.SetScale(r, b, next);
                    changed++;
                }
                if (changed == 0) break;
            }
            for (int i = 0; i < k; i++) layout.SetCode(r, i, codes[(long)r * k + i]);
        });
    }

    /// <summary>The upper Cholesky factor U of H⁻¹ (H⁻¹ = Uᵀ U), H symmetric positive definite.</summary>
    public static double[] UpperCholeskyOfInverse(double[] h, int k)
    {
        var l = Cholesky(h, k);
        // L⁻¹ (lower), column by column by forward substitution.
        var li = new double[(long)k * k];
        Parallel.For(0, k, col =>
        {
            li[(long)col * k + col] = 1 / l[(long)col * k + col];
            for (int i = col + 1; i < k; i++)
            {
                double s = 0;
                for (int j = col; j < i; j++) s += l[(long)i * k + j] * li[(long)j * k + col];
                li[(long)i * k + col] = -s / l[(long)i * k + i];
            }
        });
        // H⁻¹ = L⁻ᵀ L⁻¹: entry (i, j) is the dot product of columns i and j of L⁻¹ (rows of its transpose, contiguous).
        var lt = new double[(long)k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++) lt[(long)j * k + i] = li[(long)i * k + j];
        var inv = new double[(long)k * k];
        Parallel.For(0, k, i =>
        {
            var ri = lt.AsSpan((int)((long)i * k), k);
            for (int j = i; j < k; j++)
            {
                var rj = lt.AsSpan((int)((long)j * k), k);
                double s = 0;
                for (int m = j; m < k; m++) s += ri[m] * rj[m];
                inv[(long)i * k + j] = s;
                inv[(long)j * k + i] = s;
            }
        });
        var lower = Cholesky(inv, k);
        var upper = new double[(long)k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++) upper[(long)j * k + i] = lower[(long)i * k + j];
        return upper;
    }

    /// <summary>Lower Cholesky factor of a symmetric positive-definite matrix.</summary>
    public static double[] Cholesky(double[] a, int k)
    {
        var l = new double[(long)k * k];
        for (int j = 0; j < k; j++)
        {
            double s = a[(long)j * k + j];
            for (int m = 0; m < j; m++) s -= l[(long)j * k + m] * l[(long)j * k + m];
            if (s <= 0) throw new OnnxRevException("GPTQ: the calibration Hessian is not positive definite even after damping");
            double d = Math.Sqrt(s);
            l[(long)j * k + j] = d;
            Parallel.For(j + 1, k, i =>
            {
                double t = a[(long)i * k + j];
                var li = l.AsSpan((int)((long)i * k), j);
                var lj = l.AsSpan((int)((long)j * k), j);
                for (int m = 0; m < j; m++) t -= li[m] * lj[m];
                l[(long)i * k + j] = t / d;
            });
        }
        return l;
    }
}

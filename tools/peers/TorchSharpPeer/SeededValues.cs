namespace OnnxRev.Peers;

/// <summary>
/// The benchmark's seeded values, free of any ML library so that every peer (TorchSharp here, the ORT
/// training graph later) can make bit-identical initial parameters and data from the same seed.
/// SplitMix64; a float in [0, 1) is the top 24 bits of one draw times 2^-24.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The next 64-bit draw.</summary>
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [lo, hi): lo + (hi - lo) * u, u = (draw >> 40) * 2^-24, computed in float.</summary>
    public float Uniform(float lo, float hi) => lo + (hi - lo) * ((Next() >> 40) * (1.0f / 16777216.0f));

    /// <summary>Uniform integer in [0, n): the high 32 bits of the draw scaled by n.</summary>
    public int Below(int n) => (int)(((Next() >> 32) * (ulong)n) >> 32);
}

/// <summary>
/// Initial parameters of the pre-LN residual MLP, all from one <see cref="SplitMix64"/> seeded with the
/// run's seed, drawn in this order: Linear_in (weight, bias), then per block Linear1 (weight, bias) and
/// Linear2 (weight, bias), then Linear_out (weight, bias). A Linear's weight is drawn row-major in
/// PyTorch's [out, in] layout; weight and bias are U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's default
/// distribution for Linear). LayerNorm scales are 1 and shifts 0 (no draws).
/// Data: a second SplitMix64 seeded with seed + 1; per batch, inputs U(-1, 1) row-major [batch, 64],
/// then labels Below(classes).
/// </summary>
public static class SeededValues
{
    /// <summary>A Linear's weight ([outF, inF], row-major) and bias ([outF]).</summary>
    public static (float[] Weight, float[] Bias) Linear(SplitMix64 rng, int inF, int outF)
    {
        float bound = 1.0f / MathF.Sqrt(inF);
        var w = new float[(long)outF * inF];
        for (long i = 0; i < w.LongLength; i++) w[i] = rng.Uniform(-bound, bound);
        var b = new float[outF];
        for (int i = 0; i < b.Length; i++) b[i] = rng.Uniform(-bound, bound);
        return (w, b);
    }

    /// <summary>One batch of inputs ([batch, features], row-major) and labels ([batch]).</summary>
    public static (float[] Inputs, long[] Labels) Batch(SplitMix64 rng, int batch, int features, int classes)
    {
        var x = new float[(long)batch * features];
        for (long i = 0; i < x.LongLength; i++) x[i] = rng.Uniform(-1f, 1f);
        var y = new long[batch];
        for (int i = 0; i < batch; i++) y[i] = rng.Below(classes);
        return (x, y);
    }
}

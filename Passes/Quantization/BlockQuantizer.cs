namespace OnnxRev.Passes.Quantization;

/// <summary>
/// A weight quantized block-wise along K in com.microsoft MatMulNBits' layout: the weight as N rows of K
/// (Wᵀ of a MatMul weight [K, N]) cut into blocks of <see cref="BlockSize"/> along K, each with a scale
/// and (asymmetric) a zero point. Codes are 4-bit, packed two per byte, the lower K index in the low nibble, or
/// 8-bit, one per byte (<see cref="Bits"/>).
/// </summary>
/// <param name="N">Output features (rows of the packed weight).</param>
/// <param name="K">Input features (the reduction axis).</param>
/// <param name="BlockSize">Elements per block along K (a power of two ≥ 16).</param>
/// <param name="Packed">B: [N, blocks, BlockSize · Bits / 8] bytes.</param>
/// <param name="Scales">[N · blocks] scales, row-major.</param>
/// <param name="ZeroPoints">Zero points packed like the codes ([N · ⌈blocks · Bits / 8⌉] bytes), or null for symmetric (implicit zero point 2^(Bits−1)).</param>
/// <param name="Bits">Bits per code: 4 or 8.</param>
public sealed record BlockQuantized(int N, int K, int BlockSize, byte[] Packed, float[] Scales, byte[]? ZeroPoints, int Bits = 4)
{
    /// <summary>Blocks per row: ⌈K / BlockSize⌉ (the last block is padded with codes equal to its zero point).</summary>
    public int Blocks => (K + BlockSize - 1) / BlockSize;

    /// <summary>Bytes per block of packed codes.</summary>
    public int BlobSize => BlockSize * Bits / 8;

    /// <summary>The code of element (n, k).</summary>
    public int Code(int n, int k)
    {
        if (Bits == 8) return Packed[(long)n * Blocks * BlobSize + k];
        byte b = Packed[(long)n * Blocks * BlobSize + k / 2];
        return (k & 1) == 0 ? b & 0xF : b >> 4;
    }

    /// <summary>The zero point of block (n, blk): 2^(Bits−1) when symmetric.</summary>
    public int ZeroPoint(int n, int blk)
    {
        if (ZeroPoints is null) return 1 << (Bits - 1);
        if (Bits == 8) return ZeroPoints[n * Blocks + blk];
        int perRow = (Blocks + 1) / 2;
        byte b = ZeroPoints[n * perRow + blk / 2];
        return (blk & 1) == 0 ? b & 0xF : b >> 4;
    }

    /// <summary>The dequantized weight in MatMul layout [K, N]: (code − zero point) · scale.</summary>
    public float[] DequantizeKN()
    {
        var w = new float[(long)K * N];
        for (int n = 0; n < N; n++)
            for (int k = 0; k < K; k++)
            {
                int blk = k / BlockSize;
                w[(long)k * N + n] = (Code(n, k) - ZeroPoint(n, blk)) * Scales[n * Blocks + blk];
            }
        return w;
    }
}

/// <summary>Round-to-nearest block-wise 4-bit (or 8-bit) quantization of a float weight.</summary>
public static class BlockQuantizer
{
    /// <summary>
    /// Quantizes <paramref name="w"/>, given as N rows of K (<c>w[n·K + k]</c>). Symmetric: scale = max|w|/7 per
    /// block, code = clamp(round(w/scale) + 8, 0, 15). Asymmetric: scale = (max − min)/15 over the block with 0
    /// included, zero point = round(−min/scale), code = clamp(round(w/scale) + zp, 0, 15). Each block's range is
    /// then shrunk where that lowers its squared error (<see cref="Parameters"/>). <c>halfScales</c> rounds every scale
    /// to float16 before coding (for scales stored as float16). With <c>bits</c> = 8 the same with 255 steps
    /// (symmetric: max|w|/127, zero point 128).
    /// </summary>
    public static BlockQuantized Quantize(float[] w, int n, int k, int blockSize, bool symmetric, bool halfScales = false, int bits = 4)
    {
        var layout = new BlockLayout(n, k, blockSize, symmetric, bits);
        var values = new float[blockSize];
        for (int row = 0; row < n; row++)
            for (int blk = 0; blk < layout.Blocks; blk++)
            {
                int start = blk * blockSize, end = Math.Min(k, start + blockSize);
                var span = w.AsSpan((int)((long)row * k + start), end - start);
                var (scale, zp) = Parameters(span, symmetric, halfScales, bits);
                layout.SetBlock(row, blk, scale, zp);
                for (int i = 0; i < span.Length; i++) layout.SetCode(row, start + i, Code(span[i], scale, zp, bits));
            }
        return layout.Build();
    }

    /// <summary>Range shrink factors tried per block; the one with the least squared error wins (1 = the plain min/max range).</summary>
    private static readonly float[] Shrink = { 1f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f, 0.7f };

    /// <summary>
    /// Scale and zero point of one block: the full range (symmetric: max|w|/7, zero point 8; asymmetric: (max − min)/15
    /// with 0 in the range) shrunk by the factor in {1, 0.95, …, 0.7} whose rounded block has the least squared error
    /// (clipping a few outliers usually buys finer steps for the rest). With <paramref name="halfScale"/> the scale is
    /// rounded to float16 (and the codes computed with that value), for scales stored as float16.
    /// </summary>
    public static (float Scale, int ZeroPoint) Parameters(ReadOnlySpan<float> block, bool symmetric, bool halfScale = false, int bits = 4)
    {
        float lo = 0, hi = 0, amax = 0;
        int top = (1 << bits) - 1, mid = 1 << (bits - 1);
        foreach (var v in block) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); amax = Math.Max(amax, Math.Abs(v)); }
        if (amax == 0) return (1f, symmetric ? mid : 0);
        (float, int) best = default;
        double bestErr = double.MaxValue;
        foreach (var f in Shrink)
        {
            float scale;
            int zp;
            if (symmetric) { scale = amax * f / (mid - 1); zp = mid; }
            else
            {
                scale = (hi - lo) * f / top;
                zp = Math.Clamp((int)MathF.Round(-lo * f / scale, MidpointRounding.ToEven), 0, top);
            }
            if (halfScale) scale = HalfScale(scale);
            double err = 0;
            foreach (var v in block)
            {
                double d = v - (Code(v, scale, zp, bits) - zp) * (double)scale;
                err += d * d;
            }
            if (err < bestErr) { bestErr = err; best = (scale, zp); }
        }
        return best;
    }

    /// <summary><paramref name="scale"/> rounded to float16 (to nearest; never 0 or infinite for a positive finite scale).</summary>
    public static float HalfScale(float scale) => Math.Clamp((float)(Half)scale, (float)Half.Epsilon, (float)Half.MaxValue);

    /// <summary>The code of <paramref name="v"/>: clamp(round(v / scale) + zp, 0, 2^bits − 1).</summary>
    public static int Code(float v, float scale, int zp, int bits = 4) => Math.Clamp((int)MathF.Round(v / scale, MidpointRounding.ToEven) + zp, 0, (1 << bits) - 1);
}

/// <summary>Builds a <see cref="BlockQuantized"/> code by code (padding codes default to their block's zero point).</summary>
public sealed class BlockLayout
{
    private readonly byte[] _packed;
    private readonly float[] _scales;
    private readonly byte[]? _zps;
    private readonly int[] _zpOf;

    /// <summary>Creates an empty layout of <paramref name="bits"/>-bit codes (4 or 8).</summary>
    public BlockLayout(int n, int k, int blockSize, bool symmetric, int bits = 4)
    {
        if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0) throw new OnnxRevException($"--block-size must be a power of two ≥ 16, got {blockSize}");
        if (bits is not (4 or 8)) throw new OnnxRevException($"block-wise weights take 4 or 8 bits, got {bits}");
        N = n; K = k; BlockSize = blockSize; Bits = bits;
        Blocks = (k + blockSize - 1) / blockSize;
        _packed = new byte[(long)n * Blocks * (blockSize * bits / 8)];
        _scales = new float[n * Blocks];
        _zps = symmetric ? null : new byte[bits == 8 ? n * Blocks : n * ((Blocks + 1) / 2)];
        _zpOf = new int[n * Blocks];
    }

    /// <summary>Rows (outputs).</summary>
    public int N { get; }

    /// <summary>Inputs (reduction axis).</summary>
    public int K { get; }

    /// <summary>Block size along K.</summary>
    public int BlockSize { get; }

    /// <summary>Blocks per row.</summary>
    public int Blocks { get; }

    /// <summary>Bits per code.</summary>
    public int Bits { get; }

    /// <summary>Sets a block's scale and zero point, and its codes to the zero point.</summary>
    public void SetBlock(int row, int blk, float scale, int zp)
    {
        _scales[row * Blocks + blk] = scale;
        _zpOf[row * Blocks + blk] = zp;
        if (_zps is not null && Bits == 8) _zps[row * Blocks + blk] = (byte)zp;
        else if (_zps is not null) _zps[row * ((Blocks + 1) / 2) + blk / 2] |= (byte)((blk & 1) == 0 ? zp : zp << 4);
        for (int i = 0; i < BlockSize; i++) Put(row, blk * BlockSize + i, zp);
    }

    /// <summary>Changes a block's scale, keeping its zero point and codes.</summary>
    public void SetScale(int row, int blk, float scale) => _scales[row * Blocks + blk] = scale;

    /// <summary>Sets the code of element (row, k).</summary>
    public void SetCode(int row, int k, int code) => Put(row, k, code);

    private void Put(int row, int k, int code)
    {
        if (Bits == 8)
        {
            _packed[(long)row * Blocks * BlockSize + k] = (byte)code;
            return;
        }
        long at = (long)row * Blocks * (BlockSize / 2) + k / 2;
        _packed[at] = (k & 1) == 0 ? (byte)((_packed[at] & 0xF0) | code) : (byte)((_packed[at] & 0x0F) | (code << 4));
    }

    /// <summary>The finished weight.</summary>
    public BlockQuantized Build() => new(N, K, BlockSize, _packed, _scales, _zps, Bits);
}

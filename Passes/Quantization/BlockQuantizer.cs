namespace OnnxRev.Passes.Quantization;

/// <summary>
/// A weight quantized block-wise along K in com.microsoft MatMulNBits' layout: the weight as N rows of K
/// (Wᵀ of a MatMul weight [K, N]) cut into blocks of <see cref="BlockSize"/> along K, each with a scale
/// and (asymmetric) a zero point. Codes are 4-bit, packed two per byte, the lower K index in the low nibble.
/// </summary>
/// <param name="N">Output features (rows of the packed weight).</param>
/// <param name="K">Input features (the reduction axis).</param>
/// <param name="BlockSize">Elements per block along K (a power of two ≥ 16).</param>
/// <param name="Packed">B: [N, blocks, BlockSize / 2] bytes.</param>
/// <param name="Scales">[N · blocks] scales, row-major.</param>
/// <param name="ZeroPoints">Packed 4-bit zero points, [N · ⌈blocks / 2⌉] bytes, or null for symmetric (implicit zero point 8).</param>
public sealed record BlockQuantized(int N, int K, int BlockSize, byte[] Packed, float[] Scales, byte[]? ZeroPoints)
{
    /// <summary>Blocks per row: ⌈K / BlockSize⌉ (the last block is padded with codes equal to its zero point).</summary>
    public int Blocks => (K + BlockSize - 1) / BlockSize;

    /// <summary>Bytes per block of packed codes.</summary>
    public int BlobSize => BlockSize / 2;

    /// <summary>The 4-bit code of element (n, k).</summary>
    public int Code(int n, int k)
    {
        byte b = Packed[(long)n * Blocks * BlobSize + k / 2];
        return (k & 1) == 0 ? b & 0xF : b >> 4;
    }

    /// <summary>The zero point of block (n, blk): 8 when symmetric.</summary>
    public int ZeroPoint(int n, int blk)
    {
        if (ZeroPoints is null) return 8;
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

/// <summary>Round-to-nearest block-wise 4-bit quantization of a float weight.</summary>
public static class BlockQuantizer
{
    /// <summary>
    /// Quantizes <paramref name="w"/>, given as N rows of K (<c>w[n·K + k]</c>). Symmetric: scale = max|w|/7 per
    /// block, code = round(w/scale) + 8 ∈ [1, 15]. Asymmetric: scale = (max − min)/15 over the block with 0
    /// included, zero point = round(−min/scale), code = clamp(round(w/scale) + zp, 0, 15).
    /// </summary>
    public static BlockQuantized Quantize(float[] w, int n, int k, int blockSize, bool symmetric)
    {
        if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0) throw new OnnxRevException($"--block-size must be a power of two ≥ 16, got {blockSize}");
        if ((long)n * k != w.Length) throw new ArgumentException("weight size does not match N·K");
        int blocks = (k + blockSize - 1) / blockSize, blob = blockSize / 2, zpPerRow = (blocks + 1) / 2;
        var packed = new byte[(long)n * blocks * blob];
        var scales = new float[n * blocks];
        var zps = symmetric ? null : new byte[n * zpPerRow];
        var codes = new int[blockSize];
        for (int row = 0; row < n; row++)
            for (int blk = 0; blk < blocks; blk++)
            {
                int start = blk * blockSize, end = Math.Min(k, start + blockSize);
                float scale;
                int zp;
                if (symmetric)
                {
                    float amax = 0;
                    for (int i = start; i < end; i++) amax = Math.Max(amax, Math.Abs(w[(long)row * k + i]));
                    scale = amax > 0 ? amax / 7f : 1f;
                    zp = 8;
                }
                else
                {
                    float lo = 0, hi = 0;
                    for (int i = start; i < end; i++) { float v = w[(long)row * k + i]; lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
                    scale = hi > lo ? (hi - lo) / 15f : 1f;
                    zp = Math.Clamp((int)MathF.Round(-lo / scale, MidpointRounding.ToEven), 0, 15);
                }
                scales[row * blocks + blk] = scale;
                for (int i = 0; i < blockSize; i++)
                {
                    int kk = start + i;
                    codes[i] = kk < end ? Math.Clamp((int)MathF.Round(w[(long)row * k + kk] / scale, MidpointRounding.ToEven) + zp, 0, 15) : zp;
                }
                long at = ((long)row * blocks + blk) * blob;
                for (int j = 0; j < blob; j++) packed[at + j] = (byte)(codes[2 * j] | (codes[2 * j + 1] << 4));
                if (zps is not null) zps[row * zpPerRow + blk / 2] |= (byte)((blk & 1) == 0 ? zp : zp << 4);
            }
        return new BlockQuantized(n, k, blockSize, packed, scales, zps);
    }
}

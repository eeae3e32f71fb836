using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// A float weight quantized to 8 bits, per tensor or per channel along <see cref="Axis"/>:
/// the integer data (same shape as the float weight), one scale and zero point per channel (one in all per tensor).
/// </summary>
public sealed class QuantizedWeight
{
    private QuantizedWeight(Tensor data, float[] scales, int[] zeroPoints, int? axis, QuantType type)
    {
        Data = data;
        Scales = scales;
        ZeroPoints = zeroPoints;
        Axis = axis;
        Type = type;
    }

    /// <summary>The integer weight, same dimensions as the float one.</summary>
    public Tensor Data { get; }

    /// <summary>Scales: one per channel along <see cref="Axis"/>, or one.</summary>
    public float[] Scales { get; }

    /// <summary>Zero points, matching <see cref="Scales"/>.</summary>
    public int[] ZeroPoints { get; }

    /// <summary>The channel axis, or null for per-tensor quantization.</summary>
    public int? Axis { get; }

    /// <summary>The integer type.</summary>
    public QuantType Type { get; }

    /// <summary>Per-tensor (one scale) or per-channel.</summary>
    public bool PerTensor => Axis is null;

    /// <summary>The scale tensor (scalar per tensor, 1-D per channel).</summary>
    public Tensor ScaleTensor() => QuantMath.ScaleTensor(Scales, PerTensor);

    /// <summary>The zero-point tensor (scalar per tensor, 1-D per channel).</summary>
    public Tensor ZeroPointTensor() => QuantMath.ZeroPointTensor(ZeroPoints, Type, PerTensor);

    /// <summary>
    /// Quantizes <paramref name="weight"/> (float32). With <paramref name="axis"/>, each slice along that axis gets its own
    /// range; symmetric int8 weights use [-127, 127] (no -128, so products stay symmetric).
    /// </summary>
    public static QuantizedWeight Quantize(Tensor weight, int? axis, QuantType type, bool symmetric)
    {
        var w = weight.ToFloatArray();
        var dims = weight.Dims.ToArray();
        int rank = dims.Length;
        if (axis is int ax && (ax < 0 || ax >= rank)) throw new ArgumentOutOfRangeException(nameof(axis), $"axis {ax} outside a rank-{rank} weight");
        long channels = axis is int a ? dims[a] : 1;
        long inner = 1;
        if (axis is int a2) for (int d = a2 + 1; d < rank; d++) inner *= dims[d];
        else inner = w.Length;
        var mins = new float[channels];
        var maxs = new float[channels];
        for (long i = 0; i < w.Length; i++)
        {
            long c = axis is null ? 0 : (i / inner) % channels;
            mins[c] = Math.Min(mins[c], w[i]);
            maxs[c] = Math.Max(maxs[c], w[i]);
        }
        var ps = new QuantParams[channels];
        for (long c = 0; c < channels; c++)
        {
            if (symmetric && type == QuantType.Int8)
            {
                float amax = Math.Max(-mins[c], maxs[c]);
                ps[c] = new QuantParams(amax == 0 ? 1f : amax / 127f, 0);
            }
            else ps[c] = QuantMath.FromRange(mins[c], maxs[c], type, symmetric);
        }
        var raw = new byte[w.Length];
        for (long i = 0; i < w.Length; i++)
        {
            long c = axis is null ? 0 : (i / inner) % channels;
            int q = QuantMath.Quantize(w[i], ps[c], type);
            raw[i] = type == QuantType.Int8 ? unchecked((byte)(sbyte)q) : (byte)q;
        }
        var data = Tensor.FromRawBytes("", QuantMath.ElementType(type), dims, raw);
        return new QuantizedWeight(data, ps.Select(p => p.Scale).ToArray(), ps.Select(p => p.ZeroPoint).ToArray(), axis, type);
    }

    /// <summary>The float values the integer data stands for ((q − zp) · scale), in the weight's layout.</summary>
    public float[] Dequantize()
    {
        var raw = Data.ReadRawBytes();
        var dims = Data.Dims.ToArray();
        long channels = Axis is int a ? dims[a] : 1;
        long inner = 1;
        if (Axis is int a2) for (int d = a2 + 1; d < dims.Length; d++) inner *= dims[d];
        var result = new float[raw.Length];
        for (long i = 0; i < raw.Length; i++)
        {
            long c = Axis is null ? 0 : (i / inner) % channels;
            int q = Type == QuantType.Int8 ? (sbyte)raw[i] : raw[i];
            result[i] = (q - ZeroPoints[c]) * Scales[c];
        }
        return result;
    }
}

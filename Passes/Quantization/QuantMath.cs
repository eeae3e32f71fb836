using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Quantization;

/// <summary>The 8-bit integer type a tensor is quantized to.</summary>
public enum QuantType
{
    /// <summary>int8, [-128, 127] (symmetric weights use [-127, 127]).</summary>
    Int8,
    /// <summary>uint8, [0, 255].</summary>
    UInt8,
}

/// <summary>Scale and zero point of one affine quantization: real = (q − zero_point) · scale.</summary>
public readonly record struct QuantParams(float Scale, int ZeroPoint);

/// <summary>
/// Affine 8-bit quantization arithmetic as ONNX's QuantizeLinear/DequantizeLinear define it:
/// q = saturate(round_half_even(x / scale) + zero_point); x ≈ (q − zero_point) · scale.
/// </summary>
public static class QuantMath
{
    /// <summary>ONNX element type of <paramref name="t"/>.</summary>
    public static int ElementType(QuantType t) => t == QuantType.Int8 ? (int)DT.Int8 : (int)DT.Uint8;

    /// <summary>Smallest and largest code of <paramref name="t"/>.</summary>
    public static (int Min, int Max) Limits(QuantType t) => t == QuantType.Int8 ? (-128, 127) : (0, 255);

    /// <summary>
    /// Parameters covering [<paramref name="min"/>, <paramref name="max"/>] (widened to include 0, so zero is
    /// exact). Symmetric: int8 uses scale = a/127 with zero point 0 (a = max |x|), uint8 uses scale = 2a/255 with
    /// zero point 128. Asymmetric: the range maps onto the full code range. An all-zero range gets scale 1.
    /// </summary>
    public static QuantParams FromRange(float min, float max, QuantType type, bool symmetric)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || float.IsInfinity(min) || float.IsInfinity(max))
            throw new OnnxRevException($"cannot quantize the range [{min}, {max}]: it is not finite");
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        if (symmetric)
        {
            float a = Math.Max(-min, max);
            if (a == 0) return new QuantParams(1f, type == QuantType.Int8 ? 0 : 128);
            return type == QuantType.Int8 ? new QuantParams(a / 127f, 0) : new QuantParams(2 * a / 255f, 128);
        }
        var (qmin, qmax) = Limits(type);
        if (max == min) return new QuantParams(1f, type == QuantType.Int8 ? 0 : 0);
        float scale = (max - min) / (qmax - qmin);
        int zp = (int)Math.Clamp(Math.Round(qmin - min / scale, MidpointRounding.ToEven), qmin, qmax);
        return new QuantParams(scale, zp);
    }

    /// <summary>One value quantized as QuantizeLinear does it (round half to even, saturate).</summary>
    public static int Quantize(float x, QuantParams p, QuantType type)
    {
        var (qmin, qmax) = Limits(type);
        double q = Math.Round(x / p.Scale, MidpointRounding.ToEven) + p.ZeroPoint;
        return (int)Math.Clamp(q, qmin, qmax);
    }

    /// <summary>A scalar or 1-D zero-point tensor of <paramref name="type"/>.</summary>
    public static Tensor ZeroPointTensor(IReadOnlyList<int> zeroPoints, QuantType type, bool scalar)
    {
        var raw = zeroPoints.Select(z => type == QuantType.Int8 ? unchecked((byte)(sbyte)z) : (byte)z).ToArray();
        return Tensor.FromRawBytes("", ElementType(type), scalar ? Array.Empty<long>() : new long[] { zeroPoints.Count }, raw);
    }

    /// <summary>A scalar or 1-D float scale tensor.</summary>
    public static Tensor ScaleTensor(IReadOnlyList<float> scales, bool scalar) =>
        Tensor.FromFloats("", scalar ? Array.Empty<long>() : new long[] { scales.Count }, scales.ToArray());
}

using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>
/// Shape rules of the quantization operators: QuantizeLinear (shape of x; type of the zero point, or
/// output_dtype, else uint8), DequantizeLinear (shape of x; type of the scale, float32 before opset 19) and
/// com.microsoft MatMulNBits (A's shape with the last axis replaced by the attribute N; A's type).
/// </summary>
internal static class QuantizationShapes
{
    /// <summary>Registers the standard-domain rules.</summary>
    public static void Register(Dictionary<string, InferenceRule> r)
    {
        r["QuantizeLinear"] = c =>
        {
            long dtype = c.Int("output_dtype", 0);
            int type = dtype != 0 ? (int)dtype : c.Has(2) ? c.Type(2) : (int)DT.Uint8;
            c.SetOutput(0, type, c.Shape(0));
        };
        r["DequantizeLinear"] = c => c.SetOutput(0, c.Opset >= 19 && c.Type(1) != 0 ? c.Type(1) : (int)DT.Float, c.Shape(0));
    }

    /// <summary>The rule of a com.microsoft operator, when there is one.</summary>
    public static bool TryGetMicrosoft(string opType, out InferenceRule rule)
    {
        rule = MatMulNBits;
        return opType == "MatMulNBits";
    }

    private static void MatMulNBits(NodeContext c)
    {
        var a = c.Shape(0);
        var y = a is null ? null : a.Take(a.Length - 1).Append(Dim.Of(c.Int("N", 0))).ToArray();
        c.SetOutput(0, c.Type(0), y is { Length: > 0 } ? y : null);
    }
}

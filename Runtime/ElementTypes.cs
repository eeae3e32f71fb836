using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime;

/// <summary>Facts about ONNX tensor element types (<c>TensorProto.DataType</c> values).</summary>
public static class ElementTypes
{
    /// <summary>The ONNX spelling of an element type, e.g. <c>float</c>, <c>int64</c>, <c>bfloat16</c>.</summary>
    public static string Name(int dataType) =>
        Enum.IsDefined(typeof(DT), dataType) ? ((DT)dataType).ToString().ToLowerInvariant() : $"type#{dataType}";

    /// <summary>True for the element types OnnxRev can pass to and from ONNX Runtime.</summary>
    public static bool IsSupported(int dataType) => dataType is
        (int)DT.Float or (int)DT.Double or (int)DT.Float16 or (int)DT.Bfloat16 or
        (int)DT.Int8 or (int)DT.Int16 or (int)DT.Int32 or (int)DT.Int64 or
        (int)DT.Uint8 or (int)DT.Uint16 or (int)DT.Uint32 or (int)DT.Uint64 or
        (int)DT.Bool or (int)DT.String;

    /// <summary>True for float, double, float16 and bfloat16.</summary>
    public static bool IsFloatingPoint(int dataType) =>
        dataType is (int)DT.Float or (int)DT.Double or (int)DT.Float16 or (int)DT.Bfloat16;

    /// <summary>Bytes per element of a supported non-string type.</summary>
    public static int SizeOf(int dataType) => dataType switch
    {
        (int)DT.Int8 or (int)DT.Uint8 or (int)DT.Bool => 1,
        (int)DT.Int16 or (int)DT.Uint16 or (int)DT.Float16 or (int)DT.Bfloat16 => 2,
        (int)DT.Int32 or (int)DT.Uint32 or (int)DT.Float => 4,
        (int)DT.Int64 or (int)DT.Uint64 or (int)DT.Double => 8,
        _ => throw Unsupported(dataType, null),
    };

    /// <summary>The matching ONNX Runtime element type (the numbering is the same as ONNX's).</summary>
    internal static TensorElementType ToOrt(int dataType, string? tensorName) =>
        IsSupported(dataType) ? (TensorElementType)dataType : throw Unsupported(dataType, tensorName);

    internal static OnnxRevException Unsupported(int dataType, string? tensorName) => new(
        $"Tensor{(string.IsNullOrEmpty(tensorName) ? "" : $" '{tensorName}'")} has element type {Name(dataType)}, " +
        "which OnnxRev cannot pass to or from ONNX Runtime.");

    /// <summary>Reads one element of little-endian data as a double (floating-point and integer types).</summary>
    internal static double ReadAsDouble(int dataType, ReadOnlySpan<byte> data, long index)
    {
        int size = SizeOf(dataType);
        var e = data.Slice(checked((int)(index * size)), size);
        return dataType switch
        {
            (int)DT.Float => BitConverter.ToSingle(e),
            (int)DT.Double => BitConverter.ToDouble(e),
            (int)DT.Float16 => (double)BitConverter.ToHalf(e),
            (int)DT.Bfloat16 => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(e) << 16),
            (int)DT.Int8 => (sbyte)e[0],
            (int)DT.Uint8 => e[0],
            (int)DT.Bool => e[0],
            (int)DT.Int16 => BitConverter.ToInt16(e),
            (int)DT.Uint16 => BitConverter.ToUInt16(e),
            (int)DT.Int32 => BitConverter.ToInt32(e),
            (int)DT.Uint32 => BitConverter.ToUInt32(e),
            (int)DT.Int64 => BitConverter.ToInt64(e),
            (int)DT.Uint64 => BitConverter.ToUInt64(e),
            _ => throw Unsupported(dataType, null),
        };
    }

    /// <summary>Formats one element of little-endian data exactly (round-trip for floats).</summary>
    internal static string Format(int dataType, ReadOnlySpan<byte> data, long index) => dataType switch
    {
        (int)DT.Int64 => BitConverter.ToInt64(data.Slice(checked((int)(index * 8)), 8)).ToString(),
        (int)DT.Uint64 => BitConverter.ToUInt64(data.Slice(checked((int)(index * 8)), 8)).ToString(),
        (int)DT.Bool => data[checked((int)index)] != 0 ? "true" : "false",
        _ => ReadAsDouble(dataType, data, index).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Makes a TensorProto from a type, shape and little-endian element bytes.</summary>
    internal static TensorProto RawTensor(string name, int dataType, IEnumerable<long> dims, ReadOnlySpan<byte> data)
    {
        var t = new TensorProto { Name = name, DataType = dataType, RawData = Google.Protobuf.ByteString.CopyFrom(data) };
        t.Dims.AddRange(dims);
        return t;
    }
}

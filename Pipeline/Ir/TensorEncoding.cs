using System.Buffers.Binary;
using Google.Protobuf;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Ir;

/// <summary>
/// How ONNX stores tensor elements: byte sizes per element type and the conversion of the typed
/// protobuf fields (float_data, int32_data, …) into the little-endian raw_data layout.
/// </summary>
public static class TensorEncoding
{
    /// <summary>Bits per element of a fixed-size element type, or 0 for strings and unknown types.</summary>
    public static int BitsPerElement(int dataType) => (DT)dataType switch
    {
        DT.Float or DT.Int32 or DT.Uint32 => 32,
        DT.Double or DT.Int64 or DT.Uint64 or DT.Complex64 => 64,
        DT.Complex128 => 128,
        DT.Float16 or DT.Bfloat16 or DT.Int16 or DT.Uint16 => 16,
        DT.Int8 or DT.Uint8 or DT.Bool or DT.Float8E4M3Fn or DT.Float8E4M3Fnuz or DT.Float8E5M2 or DT.Float8E5M2Fnuz => 8,
        DT.Int4 or DT.Uint4 => 4,
        _ => 0,
    };

    /// <summary>Bytes the raw_data of <paramref name="elements"/> elements takes (4-bit types packed two per byte).</summary>
    public static long RawByteCount(int dataType, long elements)
    {
        int bits = BitsPerElement(dataType);
        return bits == 0 ? 0 : (elements * bits + 7) / 8;
    }

    /// <summary>ONNX's name of an element type, for messages.</summary>
    public static string TypeName(int dataType) => Enum.IsDefined(typeof(DT), dataType) ? ((DT)dataType).ToString().ToLowerInvariant() : $"type {dataType}";

    /// <summary>
    /// The raw little-endian bytes of an inline tensor, whether the file stored them in raw_data or
    /// in a typed field.
    /// </summary>
    public static byte[] InlineRawBytes(TensorProto t)
    {
        if (t.DataType == (int)DT.String) throw new InvalidOperationException($"tensor '{t.Name}' holds strings, which have no raw layout");
        if (!t.RawData.IsEmpty) return t.RawData.ToByteArray();
        long n = ElementCount(t.Dims);
        var bytes = new byte[RawByteCount(t.DataType, n)];
        var span = bytes.AsSpan();
        switch ((DT)t.DataType)
        {
            case DT.Float:
            case DT.Complex64:
                for (int i = 0; i < t.FloatData.Count; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(4 * i)..], t.FloatData[i]);
                break;
            case DT.Double:
            case DT.Complex128:
                for (int i = 0; i < t.DoubleData.Count; i++) BinaryPrimitives.WriteDoubleLittleEndian(span[(8 * i)..], t.DoubleData[i]);
                break;
            case DT.Int64:
                for (int i = 0; i < t.Int64Data.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(span[(8 * i)..], t.Int64Data[i]);
                break;
            case DT.Uint64:
                for (int i = 0; i < t.Uint64Data.Count; i++) BinaryPrimitives.WriteUInt64LittleEndian(span[(8 * i)..], t.Uint64Data[i]);
                break;
            case DT.Uint32:
                for (int i = 0; i < t.Uint64Data.Count; i++) BinaryPrimitives.WriteUInt32LittleEndian(span[(4 * i)..], (uint)t.Uint64Data[i]);
                break;
            case DT.Int32:
                for (int i = 0; i < t.Int32Data.Count; i++) BinaryPrimitives.WriteInt32LittleEndian(span[(4 * i)..], t.Int32Data[i]);
                break;
            case DT.Int16:
            case DT.Uint16:
            case DT.Float16:
            case DT.Bfloat16:
                for (int i = 0; i < t.Int32Data.Count; i++) BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], (ushort)t.Int32Data[i]);
                break;
            case DT.Int8:
            case DT.Uint8:
            case DT.Bool:
            case DT.Float8E4M3Fn:
            case DT.Float8E4M3Fnuz:
            case DT.Float8E5M2:
            case DT.Float8E5M2Fnuz:
            case DT.Int4:
            case DT.Uint4:
                // 4-bit types keep two packed elements per int32_data entry's low byte.
                for (int i = 0; i < t.Int32Data.Count && i < bytes.Length; i++) bytes[i] = (byte)t.Int32Data[i];
                break;
            default:
                throw new InvalidOperationException($"tensor '{t.Name}' has unsupported element type {TypeName(t.DataType)}");
        }
        return bytes;
    }

    /// <summary>Product of dimensions (1 for a scalar).</summary>
    public static long ElementCount(IEnumerable<long> dims)
    {
        long n = 1;
        foreach (var d in dims) n *= d;
        return n;
    }

    /// <summary>True when the proto keeps its data in a typed field rather than raw_data.</summary>
    public static bool UsesTypedField(TensorProto t) =>
        t.RawData.IsEmpty && (t.FloatData.Count + t.Int32Data.Count + t.Int64Data.Count + t.DoubleData.Count + t.Uint64Data.Count + t.StringData.Count) > 0;

    /// <summary>A copy of <paramref name="t"/> with its data moved into raw_data.</summary>
    public static TensorProto ToRawForm(TensorProto t)
    {
        if (!UsesTypedField(t) || t.DataType == (int)DT.String) return t;
        var raw = InlineRawBytes(t);
        var copy = t.Clone();
        copy.FloatData.Clear(); copy.Int32Data.Clear(); copy.Int64Data.Clear(); copy.DoubleData.Clear(); copy.Uint64Data.Clear();
        copy.RawData = ByteString.CopyFrom(raw);
        return copy;
    }
}

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
    /// in a typed field. Throws <see cref="OnnxRevException"/> when the data does not fill the shape.
    /// </summary>
    public static byte[] InlineRawBytes(TensorProto t)
    {
        if (t.DataType == (int)DT.String) throw new InvalidOperationException($"tensor '{t.Name}' holds strings, which have no raw layout");
        if (BitsPerElement(t.DataType) == 0) throw new OnnxRevException($"tensor '{t.Name}' has unsupported element type {TypeName(t.DataType)}");
        long n = ElementCount(t.Dims);
        long size = RawByteCount(t.DataType, n);
        if (!t.RawData.IsEmpty || !UsesTypedField(t))
        {
            if (t.RawData.Length != size) throw Mismatch(t, $"{t.RawData.Length} bytes of raw data", $"{size} bytes");
            return t.RawData.ToByteArray();
        }
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        switch ((DT)t.DataType)
        {
            case DT.Float:
            case DT.Complex64:
                Check(t, t.FloatData.Count, size / 4);
                for (int i = 0; i < t.FloatData.Count; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(4 * i)..], t.FloatData[i]);
                break;
            case DT.Double:
            case DT.Complex128:
                Check(t, t.DoubleData.Count, size / 8);
                for (int i = 0; i < t.DoubleData.Count; i++) BinaryPrimitives.WriteDoubleLittleEndian(span[(8 * i)..], t.DoubleData[i]);
                break;
            case DT.Int64:
                Check(t, t.Int64Data.Count, n);
                for (int i = 0; i < t.Int64Data.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(span[(8 * i)..], t.Int64Data[i]);
                break;
            case DT.Uint64:
                Check(t, t.Uint64Data.Count, n);
                for (int i = 0; i < t.Uint64Data.Count; i++) BinaryPrimitives.WriteUInt64LittleEndian(span[(8 * i)..], t.Uint64Data[i]);
                break;
            case DT.Uint32:
                Check(t, t.Uint64Data.Count, n);
                for (int i = 0; i < t.Uint64Data.Count; i++) BinaryPrimitives.WriteUInt32LittleEndian(span[(4 * i)..], unchecked((uint)t.Uint64Data[i]));
                break;
            case DT.Int32:
                Check(t, t.Int32Data.Count, n);
                for (int i = 0; i < t.Int32Data.Count; i++) BinaryPrimitives.WriteInt32LittleEndian(span[(4 * i)..], t.Int32Data[i]);
                break;
            case DT.Int16:
            case DT.Uint16:
            case DT.Float16:
            case DT.Bfloat16:
                Check(t, t.Int32Data.Count, n);
                for (int i = 0; i < t.Int32Data.Count; i++) BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], unchecked((ushort)t.Int32Data[i]));
                break;
            case DT.Bool:
                Check(t, t.Int32Data.Count, n);
                for (int i = 0; i < t.Int32Data.Count; i++) bytes[i] = t.Int32Data[i] != 0 ? (byte)1 : (byte)0;
                break;
            default:
                // int8, uint8, float8 one per int32_data entry; int4/uint4 two packed per entry's low byte.
                Check(t, t.Int32Data.Count, size);
                for (int i = 0; i < t.Int32Data.Count; i++) bytes[i] = unchecked((byte)t.Int32Data[i]);
                break;
        }
        return bytes;
    }

    private static void Check(TensorProto t, long have, long need)
    {
        if (have != need) throw Mismatch(t, $"{have} values", $"{need}");
    }

    private static OnnxRevException Mismatch(TensorProto t, string have, string need) =>
        new($"tensor '{t.Name}' holds {have} of {TypeName(t.DataType)} but its shape [{string.Join(",", t.Dims)}] needs {need}");

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

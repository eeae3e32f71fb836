using System.Buffers.Binary;
using Google.Protobuf;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime;

/// <summary>
/// Reads the elements of a TensorProto, wherever the IR spec lets them live (raw_data or a typed field),
/// as little-endian bytes or as UTF-8 strings.
/// </summary>
public static class TensorProtoData
{
    /// <summary>The number of elements the tensor's dims call for.</summary>
    public static long ElementCount(TensorProto tensor)
    {
        long count = 1;
        foreach (long d in tensor.Dims)
        {
            if (d < 0) throw new OnnxRevException($"Tensor '{tensor.Name}' has a negative dimension ({d}).");
            count = checked(count * d);
        }
        return count;
    }

    /// <summary>
    /// The elements of a non-string tensor as little-endian bytes (<see cref="ElementTypes.SizeOf"/> per element),
    /// taken from raw_data or from the typed field the IR spec assigns to its type.
    /// </summary>
    public static byte[] GetBytes(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        int dt = tensor.DataType;
        if (dt == (int)DT.String) throw new ArgumentException("String tensors have no byte representation; use GetStrings.", nameof(tensor));
        if (!ElementTypes.IsSupported(dt)) throw ElementTypes.Unsupported(dt, tensor.Name);
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            throw new OnnxRevException($"Tensor '{tensor.Name}' keeps its data in an external file, which is not supported here.");

        long count = ElementCount(tensor);
        int size = ElementTypes.SizeOf(dt);
        var bytes = new byte[checked(count * size)];
        if (!tensor.RawData.IsEmpty || count == 0)
        {
            if (tensor.RawData.Length != bytes.Length) throw CountMismatch(tensor, tensor.RawData.Length / (double)size, count);
            tensor.RawData.Span.CopyTo(bytes);
            return bytes;
        }

        switch (dt)
        {
            case (int)DT.Float:
                Check(tensor, tensor.FloatData.Count, count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), tensor.FloatData[i]);
                break;
            case (int)DT.Double:
                Check(tensor, tensor.DoubleData.Count, count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), tensor.DoubleData[i]);
                break;
            case (int)DT.Int64:
                Check(tensor, tensor.Int64Data.Count, count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), tensor.Int64Data[i]);
                break;
            case (int)DT.Uint64:
                Check(tensor, tensor.Uint64Data.Count, count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), tensor.Uint64Data[i]);
                break;
            case (int)DT.Uint32:
                Check(tensor, tensor.Uint64Data.Count, count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), checked((uint)tensor.Uint64Data[i]));
                break;
            case (int)DT.Int32:
                Check(tensor, tensor.Int32Data.Count, count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), tensor.Int32Data[i]);
                break;
            default:
                // int8, uint8, bool (1 byte) and int16, uint16, float16, bfloat16 (2 bytes) live in int32_data.
                Check(tensor, tensor.Int32Data.Count, count);
                for (int i = 0; i < count; i++)
                {
                    int v = tensor.Int32Data[i];
                    if (size == 1) bytes[i] = dt == (int)DT.Bool ? (byte)(v != 0 ? 1 : 0) : unchecked((byte)v);
                    else BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), unchecked((ushort)v));
                }
                break;
        }
        return bytes;
    }

    /// <summary>The elements of a string tensor as UTF-8 byte strings (from string_data).</summary>
    public static IReadOnlyList<ByteString> GetStrings(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.DataType != (int)DT.String) throw new ArgumentException("Not a string tensor.", nameof(tensor));
        long count = ElementCount(tensor);
        Check(tensor, tensor.StringData.Count, count);
        return tensor.StringData;
    }

    private static void Check(TensorProto tensor, long have, long need)
    {
        if (have != need) throw CountMismatch(tensor, have, need);
    }

    private static OnnxRevException CountMismatch(TensorProto tensor, double have, long need) => new(
        $"Tensor '{tensor.Name}' holds {have} {ElementTypes.Name(tensor.DataType)} values but its shape " +
        $"[{string.Join(",", tensor.Dims)}] needs {need}.");
}

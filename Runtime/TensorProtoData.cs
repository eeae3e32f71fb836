using Google.Protobuf;
using OnnxRev.Ir;
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

        ElementCount(tensor); // rejects negative dimensions with a clear message
        return TensorEncoding.InlineRawBytes(tensor);
    }

    /// <summary>The elements of a float32 tensor.</summary>
    /// <exception cref="OnnxRevException">The tensor is not float32.</exception>
    public static float[] Floats(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.DataType != (int)DT.Float) throw new OnnxRevException($"Tensor '{tensor.Name}' is {ElementTypes.Name(tensor.DataType)}, not float32.");
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(GetBytes(tensor)).ToArray();
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

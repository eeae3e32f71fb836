using System.Runtime.InteropServices;
using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Conversions between small integer tensors and the <see cref="Dim"/> element lists inference tracks.</summary>
internal static class TensorData
{
    /// <summary>The elements of an int64, int32 or bool tensor of at most <paramref name="maxElements"/> elements, or null.</summary>
    public static Dim[]? Read(Tensor t, int maxElements)
    {
        if (!NodeContext.IsTrackedType(t.DataType) || t.ElementCount > maxElements || t.ElementCount < 0) return null;
        byte[] raw = t.ReadRawBytes();
        int n = (int)t.ElementCount;
        switch ((DT)t.DataType)
        {
            case DT.Int64:
                if (raw.Length != 8 * n) return null;
                return Dim.FromValues(MemoryMarshal.Cast<byte, long>(raw).ToArray());
            case DT.Int32:
                if (raw.Length != 4 * n) return null;
                return MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => Dim.Of(v)).ToArray();
            default:
                if (raw.Length != n) return null;
                return raw.Select(b => Dim.Of(b != 0 ? 1 : 0)).ToArray();
        }
    }

    /// <summary>An int64 or int32 tensor holding <paramref name="values"/>; null for other element types or values that do not fit.</summary>
    public static Tensor? ToTensor(string name, int elemType, IEnumerable<long> dims, long[] values)
    {
        if (elemType == (int)DT.Int64) return Tensor.FromInt64s(name, dims, values);
        if (elemType != (int)DT.Int32 || values.Any(v => v < int.MinValue || v > int.MaxValue)) return null;
        var ints = values.Select(v => (int)v).ToArray();
        return Tensor.FromRawBytes(name, elemType, dims, MemoryMarshal.AsBytes(ints.AsSpan()).ToArray());
    }
}

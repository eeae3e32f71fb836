using OnnxRev.Ir;
using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using OnnxRev.Schema;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>
/// A constant tensor held in managed memory: ONNX element type, dimensions and a typed .NET array
/// (row-major). Instances are treated as immutable: evaluators never write into an input's array.
/// </summary>
public sealed class HostTensor
{
    /// <summary>Creates a tensor; <paramref name="data"/> must be the array type that
    /// <see cref="OnnxDataType.ElementType"/> names for <paramref name="dataType"/>, with one element per cell.</summary>
    public HostTensor(int dataType, long[] dims, Array data)
    {
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(data);
        Type? element = OnnxDataType.ElementType(dataType)
            ?? throw new ArgumentException($"Unsupported data type {OnnxDataType.Name(dataType)}.", nameof(dataType));
        if (data.GetType() != element.MakeArrayType())
            throw new ArgumentException($"A {OnnxDataType.Name(dataType)} tensor needs {element.Name}[] data, not {data.GetType().Name}.", nameof(data));
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension {d}.", nameof(dims));
            count = checked(count * d);
        }
        if (count != data.Length)
            throw new ArgumentException($"Shape [{string.Join(",", dims)}] has {count} elements but data has {data.Length}.", nameof(data));
        DataType = dataType;
        Dims = dims;
        Data = data;
    }

    /// <summary>The ONNX <c>TensorProto.DataType</c> code.</summary>
    public int DataType { get; }

    /// <summary>The dimensions; empty for a scalar. Do not modify.</summary>
    public long[] Dims { get; }

    /// <summary>The elements in row-major order (float[], long[], Half[], string[], ...). Do not modify.</summary>
    public Array Data { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Dims.Length;

    /// <summary>The number of elements.</summary>
    public int ElementCount => Data.Length;

    /// <summary>Creates a tensor from a typed array, inferring the data type from the element type
    /// (ushort[] is read as uint16).</summary>
    public static HostTensor Create<T>(long[] dims, T[] data) => new(TypeCodeOf(typeof(T)), dims, data);

    /// <summary>Creates a 0-d int64 tensor.</summary>
    public static HostTensor Scalar(long value) => new(OnnxDataType.Int64, [], new[] { value });

    /// <summary>Creates a 0-d float tensor.</summary>
    public static HostTensor Scalar(float value) => new(OnnxDataType.Float, [], new[] { value });

    /// <summary>Creates a 1-D int64 tensor.</summary>
    public static HostTensor Vector(params long[] values) => new(OnnxDataType.Int64, [values.Length], values);

    /// <summary>The data type code for a .NET element type (ushort maps to uint16).</summary>
    public static int TypeCodeOf(Type element)
    {
        if (element == typeof(float)) return OnnxDataType.Float;
        if (element == typeof(byte)) return OnnxDataType.UInt8;
        if (element == typeof(sbyte)) return OnnxDataType.Int8;
        if (element == typeof(ushort)) return OnnxDataType.UInt16;
        if (element == typeof(short)) return OnnxDataType.Int16;
        if (element == typeof(int)) return OnnxDataType.Int32;
        if (element == typeof(long)) return OnnxDataType.Int64;
        if (element == typeof(string)) return OnnxDataType.String;
        if (element == typeof(bool)) return OnnxDataType.Bool;
        if (element == typeof(Half)) return OnnxDataType.Float16;
        if (element == typeof(double)) return OnnxDataType.Double;
        if (element == typeof(uint)) return OnnxDataType.UInt32;
        if (element == typeof(ulong)) return OnnxDataType.UInt64;
        throw new ArgumentException($"No ONNX data type holds {element.Name}.", nameof(element));
    }

    /// <summary>
    /// Reads a loaded <see cref="TensorProto"/>: raw_data (little-endian) when present, otherwise the typed
    /// field the ONNX IR spec uses for the type (int8/int16/uint8/uint16/bool/float16/bfloat16 in int32_data,
    /// uint32/uint64 in uint64_data, strings in string_data as UTF-8).
    /// </summary>
    /// <exception cref="OnnxRevException">The type is unsupported, the data is external, or its size does not match the dims.</exception>
    public static HostTensor FromProto(TensorProto proto)
    {
        if (!TryFromProto(proto, out HostTensor? tensor, out string reason))
            throw new OnnxRevException($"Tensor '{proto.Name}' cannot be read: {reason}.");
        return tensor;
    }

    /// <summary>Like <see cref="FromProto"/>, but returns false with a reason instead of throwing.</summary>
    public static bool TryFromProto(TensorProto proto, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HostTensor? tensor, out string reason)
    {
        ArgumentNullException.ThrowIfNull(proto);
        tensor = null;
        int type = proto.DataType;
        if (OnnxDataType.ElementType(type) is null) { reason = $"unsupported type {OnnxDataType.Name(type)}"; return false; }
        if (proto.DataLocation == TensorProto.Types.DataLocation.External || proto.ExternalData.Count > 0)
        { reason = "its data is external and not loaded"; return false; }
        if (proto.Segment is not null) { reason = "segmented tensors are not supported"; return false; }
        long count = 1;
        foreach (long d in proto.Dims)
        {
            if (d < 0) { reason = $"negative dimension {d}"; return false; }
            count = d == 0 ? 0 : (count > int.MaxValue / d ? long.MaxValue : count * d);
        }
        if (count > Array.MaxLength) { reason = $"{count} elements is too many"; return false; }
        long[] dims = [.. proto.Dims];
        Array? data;
        if (type == OnnxDataType.String) data = proto.StringData.Select(b => b.ToStringUtf8()).ToArray();
        else
        {
            try { data = ReadRaw(type, TensorEncoding.InlineRawBytes(proto), (int)count); }
            catch (OnnxRevException e) { reason = e.Message; return false; }
        }
        if (data is null || data.Length != count)
        {
            reason = $"its data has {data?.Length.ToString() ?? "the wrong number of bytes for"} elements but dims [{string.Join(",", dims)}] need {count}";
            return false;
        }
        tensor = new HostTensor(type, dims, data);
        reason = "";
        return true;
    }

    private static Array? ReadRaw(int type, ReadOnlySpan<byte> raw, int count)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("raw_data decoding assumes a little-endian host.");
        return type switch
        {
            OnnxDataType.Float => Cast<float>(raw, count),
            OnnxDataType.UInt8 => Cast<byte>(raw, count),
            OnnxDataType.Int8 => Cast<sbyte>(raw, count),
            OnnxDataType.UInt16 or OnnxDataType.BFloat16 => Cast<ushort>(raw, count),
            OnnxDataType.Int16 => Cast<short>(raw, count),
            OnnxDataType.Int32 => Cast<int>(raw, count),
            OnnxDataType.Int64 => Cast<long>(raw, count),
            OnnxDataType.Bool => raw.Length == count ? raw.ToArray().Select(b => b != 0).ToArray() : null,
            OnnxDataType.Float16 => Cast<Half>(raw, count),
            OnnxDataType.Double => Cast<double>(raw, count),
            OnnxDataType.UInt32 => Cast<uint>(raw, count),
            OnnxDataType.UInt64 => Cast<ulong>(raw, count),
            _ => null, // strings never use raw_data
        };
    }

    private static T[]? Cast<T>(ReadOnlySpan<byte> raw, int count) where T : unmanaged =>
        raw.Length == (long)count * Marshal.SizeOf<T>() ? MemoryMarshal.Cast<byte, T>(raw).ToArray() : null;

    /// <summary>Writes the tensor as a <see cref="TensorProto"/> named <paramref name="name"/>: raw_data
    /// (little-endian) for every type except strings, which go to string_data as UTF-8.</summary>
    public TensorProto ToProto(string name)
    {
        var proto = new TensorProto { Name = name, DataType = DataType };
        proto.Dims.AddRange(Dims);
        if (DataType == OnnxDataType.String && Data is string[] strings)
        {
            proto.StringData.AddRange(strings.Select(s => ByteString.CopyFrom(s, Encoding.UTF8)));
            return proto;
        }
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("raw_data encoding assumes a little-endian host.");
        proto.RawData = DataType switch
        {
            OnnxDataType.Bool => ByteString.CopyFrom(((bool[])Data).Select(v => v ? (byte)1 : (byte)0).ToArray()),
            OnnxDataType.Float => Bytes((float[])Data),
            OnnxDataType.Double => Bytes((double[])Data),
            OnnxDataType.Float16 => Bytes((Half[])Data),
            OnnxDataType.UInt8 => Bytes((byte[])Data),
            OnnxDataType.Int8 => Bytes((sbyte[])Data),
            OnnxDataType.Int16 => Bytes((short[])Data),
            OnnxDataType.UInt16 or OnnxDataType.BFloat16 => Bytes((ushort[])Data),
            OnnxDataType.Int32 => Bytes((int[])Data),
            OnnxDataType.UInt32 => Bytes((uint[])Data),
            OnnxDataType.Int64 => Bytes((long[])Data),
            OnnxDataType.UInt64 => Bytes((ulong[])Data),
            _ => throw new InvalidOperationException($"Unhandled data type {DataType}."),
        };
        return proto;
    }

    private static ByteString Bytes<T>(T[] a) where T : unmanaged =>
        ByteString.CopyFrom(MemoryMarshal.AsBytes(a.AsSpan()));

    /// <summary>A short description such as <c>float[2,3]</c>.</summary>
    public override string ToString() => $"{OnnxDataType.Name(DataType)}[{string.Join(",", Dims)}]";
}

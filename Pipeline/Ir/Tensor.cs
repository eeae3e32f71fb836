using Google.Protobuf;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Ir;

/// <summary>Where an external tensor's bytes live: a file inside the model's folder, an offset and a length.</summary>
/// <param name="FullPath">Absolute path of the data file, already checked to stay inside the model's folder.</param>
/// <param name="Location">The location as written in the model (relative).</param>
/// <param name="Offset">Byte offset in the file.</param>
/// <param name="Length">Byte length.</param>
public sealed record ExternalDataLocation(string FullPath, string Location, long Offset, long Length);

/// <summary>
/// The data of an initializer or constant. Inline tensors keep their protobuf; external tensors keep
/// only their header and read their bytes from disk when asked (streamed, never all at once when
/// copied to another file).
/// </summary>
public sealed class Tensor
{
    private TensorProto _proto;

    /// <summary>Wraps a tensor proto. For an external tensor, <paramref name="external"/> is its resolved location.</summary>
    public Tensor(TensorProto proto, ExternalDataLocation? external = null)
    {
        _proto = proto;
        External = external;
    }

    /// <summary>The tensor proto as read. For external tensors it holds the header and external_data entries only.</summary>
    public TensorProto Proto => _proto;

    /// <summary>Tensor name (the initializer's name).</summary>
    public string Name { get => _proto.Name; set => _proto.Name = value; }

    /// <summary>Element type (TensorProto.DataType).</summary>
    public int DataType => _proto.DataType;

    /// <summary>Dimensions.</summary>
    public IReadOnlyList<long> Dims => _proto.Dims;

    /// <summary>Number of elements.</summary>
    public long ElementCount => TensorEncoding.ElementCount(_proto.Dims);

    /// <summary>Resolved location of external data, or null for inline data.</summary>
    public ExternalDataLocation? External { get; internal set; }

    /// <summary>True when the data lives in an external file.</summary>
    public bool IsExternal => External is not null;

    /// <summary>Bytes of the raw data (for strings: the sum of string lengths).</summary>
    public long ByteSize
    {
        get
        {
            if (External is not null) return External.Length;
            if (DataType == (int)DT.String) return _proto.StringData.Sum(s => (long)s.Length);
            return TensorEncoding.RawByteCount(DataType, ElementCount);
        }
    }

    /// <summary>Raw little-endian bytes; reads the external file when needed.</summary>
    public byte[] ReadRawBytes()
    {
        if (External is null) return TensorEncoding.InlineRawBytes(_proto);
        if (External.Length > Array.MaxLength) throw new OnnxRevException($"tensor '{Name}' is {External.Length} bytes, too large to load into one array; it can only be streamed");
        var bytes = new byte[External.Length];
        using var fs = OpenExternal();
        fs.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Copies the raw bytes to <paramref name="destination"/> in chunks, without holding them all in memory.</summary>
    public void CopyRawTo(Stream destination)
    {
        if (External is null)
        {
            if (!_proto.RawData.IsEmpty) _proto.RawData.WriteTo(destination);
            else destination.Write(TensorEncoding.InlineRawBytes(_proto));
            return;
        }
        using var fs = OpenExternal();
        var buffer = new byte[1 << 20];
        long left = External.Length;
        while (left > 0)
        {
            int n = fs.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new OnnxRevException($"external data file '{External.Location}' ended early while reading tensor '{Name}'");
            destination.Write(buffer, 0, n);
            left -= n;
        }
    }

    private FileStream OpenExternal()
    {
        var ext = External!;
        FileStream fs;
        try { fs = new FileStream(ext.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan); }
        catch (IOException e) { throw new OnnxRevException($"cannot read external data file '{ext.Location}' of tensor '{Name}': {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new OnnxRevException($"cannot read external data file '{ext.Location}' of tensor '{Name}': {e.Message}", e); }
        fs.Seek(ext.Offset, SeekOrigin.Begin);
        return fs;
    }

    /// <summary>A self-contained proto with the data in raw_data (strings in string_data), external data loaded.</summary>
    public TensorProto ToInlineProto()
    {
        if (External is null) return _proto;
        var copy = _proto.Clone();
        copy.ExternalData.Clear();
        copy.DataLocation = TensorProto.Types.DataLocation.Default;
        copy.RawData = ByteString.CopyFrom(ReadRawBytes());
        return copy;
    }

    /// <summary>Replaces this tensor's header (used by the writer after moving data).</summary>
    internal void Rebind(TensorProto proto, ExternalDataLocation? external)
    {
        _proto = proto;
        External = external;
    }

    /// <summary>Creates an inline tensor from raw little-endian bytes.</summary>
    public static Tensor FromRawBytes(string name, int dataType, IEnumerable<long> dims, byte[] raw)
    {
        var p = new TensorProto { Name = name, DataType = dataType, RawData = ByteString.CopyFrom(raw) };
        p.Dims.AddRange(dims);
        return new Tensor(p);
    }

    /// <summary>Creates a float32 tensor.</summary>
    public static Tensor FromFloats(string name, IEnumerable<long> dims, ReadOnlySpan<float> data) =>
        FromRawBytes(name, (int)DT.Float, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data).ToArray());

    /// <summary>Creates an int64 tensor.</summary>
    public static Tensor FromInt64s(string name, IEnumerable<long> dims, ReadOnlySpan<long> data) =>
        FromRawBytes(name, (int)DT.Int64, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data).ToArray());

    /// <summary>The elements as float32 (only for float32 tensors).</summary>
    public float[] ToFloatArray()
    {
        if (DataType != (int)DT.Float) throw new InvalidOperationException($"tensor '{Name}' is {TensorEncoding.TypeName(DataType)}, not float");
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(ReadRawBytes()).ToArray();
    }

    /// <summary>The elements as int64 (only for int64 tensors).</summary>
    public long[] ToInt64Array()
    {
        if (DataType != (int)DT.Int64) throw new InvalidOperationException($"tensor '{Name}' is {TensorEncoding.TypeName(DataType)}, not int64");
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(ReadRawBytes()).ToArray();
    }
}

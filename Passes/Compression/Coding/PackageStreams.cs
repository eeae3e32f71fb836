using System.Text;

namespace OnnxRev.Passes.Compression.Coding;

/// <summary>Little-endian writer of the package's fields (LEB128 varints, length-prefixed strings and blobs).</summary>
internal sealed class FieldWriter
{
    private readonly MemoryStream _s = new();

    public void U8(int v) => _s.WriteByte((byte)v);
    public void U32(uint v) { Span<byte> b = stackalloc byte[4]; System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, v); _s.Write(b); }
    public void VarInt(long v)
    {
        ulong u = (ulong)v;
        while (u >= 0x80) { _s.WriteByte((byte)(u | 0x80)); u >>= 7; }
        _s.WriteByte((byte)u);
    }
    public void Blob(ReadOnlySpan<byte> data) { VarInt(data.Length); _s.Write(data); }
    public void Text(string s) => Blob(Encoding.UTF8.GetBytes(s));
    public byte[] ToArray() => _s.ToArray();
}

/// <summary>The reader matching <see cref="FieldWriter"/>; running out of data is a <see cref="PackageFormatException"/>.</summary>
internal sealed class FieldReader(ReadOnlyMemory<byte> data)
{
    private int _p;

    public bool AtEnd => _p == data.Length;
    public int U8() { Need(1); return data.Span[_p++]; }
    public uint U32() { Need(4); uint v = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data.Span[_p..]); _p += 4; return v; }
    public long VarInt(long max = long.MaxValue)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (shift > 63) throw new PackageFormatException("a length field is malformed");
            int b = U8();
            v |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) break;
        }
        if (v > (ulong)max) throw new PackageFormatException($"a field holds {v}, more than the {max} allowed there");
        return (long)v;
    }
    public ReadOnlyMemory<byte> Blob()
    {
        int n = (int)VarInt(int.MaxValue);
        Need(n);
        var r = data.Slice(_p, n);
        _p += n;
        return r;
    }
    public string Text() => Encoding.UTF8.GetString(Blob().Span);
    private void Need(int n) { if (n > data.Length - _p) throw new PackageFormatException("it ends early (truncated)"); }
}

/// <summary>CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as in zip and PNG.</summary>
public static class Crc32
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(i =>
    {
        uint c = (uint)i;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Of(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}

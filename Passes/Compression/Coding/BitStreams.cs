namespace OnnxRev.Passes.Compression.Coding;

/// <summary>Writes bits most-significant first into bytes (the last byte is padded with zero bits).</summary>
public sealed class BitWriter
{
    private readonly List<byte> _bytes = new();
    private int _current, _filled;

    /// <summary>Bits written so far.</summary>
    public long BitCount { get; private set; }

    /// <summary>Appends the low <paramref name="count"/> bits of <paramref name="code"/>, most significant first.</summary>
    public void Write(uint code, int count)
    {
        for (int i = count - 1; i >= 0; i--)
        {
            _current = (_current << 1) | (int)((code >> i) & 1);
            if (++_filled == 8) { _bytes.Add((byte)_current); _current = 0; _filled = 0; }
        }
        BitCount += count;
    }

    /// <summary>The bytes, the last one padded.</summary>
    public byte[] ToArray()
    {
        var result = new List<byte>(_bytes);
        if (_filled > 0) result.Add((byte)(_current << (8 - _filled)));
        return result.ToArray();
    }
}

/// <summary>Reads bits most-significant first; reading past the end is a <see cref="PackageFormatException"/>.</summary>
public sealed class BitReader(ReadOnlyMemory<byte> data)
{
    private long _position;

    /// <summary>Reads one bit.</summary>
    public int ReadBit()
    {
        if (_position >= (long)data.Length * 8) throw new PackageFormatException("a coded stream ends early");
        int bit = (data.Span[(int)(_position >> 3)] >> (7 - (int)(_position & 7))) & 1;
        _position++;
        return bit;
    }
}

/// <summary>A package is malformed (truncated, corrupted, or not a package).</summary>
public sealed class PackageFormatException(string message) : Exception(message);

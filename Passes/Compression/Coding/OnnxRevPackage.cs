using System.IO.Compression;
using Google.Protobuf;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Compression.Coding;

/// <summary>How one initializer was stored in a package.</summary>
/// <param name="Name">Initializer name.</param>
/// <param name="Elements">Element count.</param>
/// <param name="Centroids">Distinct values other than +0 (the codebook).</param>
/// <param name="Mode">"dense" (one index per element) or "sparse" (non-zeros as relative positions + indices).</param>
/// <param name="GapBits">Sparse mode: the relative positions' width in bits (0 for dense).</param>
/// <param name="Bytes">Bytes the tensor takes in the package (codebook, code tables and the coded stream).</param>
public sealed record PackedTensor(string Name, long Elements, int Centroids, string Mode, int GapBits, long Bytes);

/// <summary>What <see cref="OnnxRevPackage.Pack"/> produced.</summary>
/// <param name="Bytes">The package.</param>
/// <param name="Tensors">The coded initializers.</param>
/// <param name="ModelSectionBytes">Bytes of the model section (the protobuf without the coded weights).</param>
public sealed record PackResult(byte[] Bytes, IReadOnlyList<PackedTensor> Tensors, long ModelSectionBytes);

/// <summary>
/// The <c>.onnxrev</c> container (format version 1; see docs/compression.md): a 20-byte header
/// (magic "ONNXREV\x1A", u32 version, u32 payload length, u32 CRC-32 of the payload; little-endian) and a payload
/// holding the ONNX ModelProto with the raw data of the coded float initializers removed (Brotli-compressed when that
/// is smaller), then per coded initializer its codebook (the distinct non-zero float bit patterns) and its Huffman-coded
/// indices, either one per element or, as in Deep Compression, only the non-zeros as (relative position, index) pairs
/// with filler zeros where a gap exceeds the position width. Unpacking gives back the ModelProto's bytes exactly.
/// </summary>
public static class OnnxRevPackage
{
    /// <summary>The format version this code writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The first 8 bytes of every package.</summary>
    public static ReadOnlySpan<byte> Magic => "ONNXREV\x1A"u8;

    private const int HeaderBytes = 20;

    /// <summary>
    /// Packs a serialized ModelProto: every main-graph float initializer in raw_data whose values other than +0 number
    /// at most 2^<paramref name="maxBits"/> − 1 is coded when that is smaller than its raw bytes; others stay in the model.
    /// </summary>
    public static PackResult Pack(byte[] modelBytes, int maxBits = 8)
    {
        if (maxBits is < 1 or > 16) throw new OnnxRevException($"--bits must be in [1, 16], got {maxBits}");
        var model = ModelProto.Parser.ParseFrom(modelBytes);
        if (model.Graph?.Initializer.FirstOrDefault(t => t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0) is { } ext)
            throw new OnnxRevException($"initializer '{ext.Name}' is stored in an external file, which a package does not carry; inline the weights first (onnxrev optimize MODEL -o OUT --passes dead-code-elimination --external-data inline)");
        var coded = new List<(TensorProto Tensor, byte[] Section, PackedTensor Info)>();
        foreach (var t in model.Graph?.Initializer ?? (IEnumerable<TensorProto>)Array.Empty<TensorProto>())
        {
            if (t.DataType != (int)DT.Float || t.RawData.Length == 0 || t.RawData.Length % 4 != 0 || t.ExternalData.Count > 0 || t.FloatData.Count > 0) continue;
            long count = t.Dims.Aggregate(1L, (a, b) => a * b);
            if (count * 4 != t.RawData.Length) continue;
            var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span);
            var (book, indices) = Codebooks.Split(data);
            if (book.Length > (1 << maxBits) - 1) continue;
            var (section, info) = CodeTensor(t.Name, book, indices);
            if (section.Length >= t.RawData.Length) continue;
            coded.Add((t, section, info));
        }
        foreach (var c in coded) c.Tensor.RawData = ByteString.Empty;
        byte[] proto = model.ToByteArray();
        byte[] brotli = BrotliBytes(proto);
        bool compressed = brotli.Length < proto.Length;
        var w = new FieldWriter();
        w.U8(compressed ? 1 : 0);
        w.Blob(compressed ? brotli : proto);
        w.VarInt(coded.Count);
        var payload = new List<byte>(w.ToArray());
        foreach (var c in coded) payload.AddRange(c.Section);
        var body = payload.ToArray();
        var header = new FieldWriter();
        foreach (byte b in Magic) header.U8(b);
        header.U32(FormatVersion);
        header.U32((uint)body.Length);
        header.U32(Crc32.Of(body));
        var bytes = header.ToArray().Concat(body).ToArray();
        return new PackResult(bytes, coded.Select(c => c.Info).ToList(), compressed ? brotli.Length : proto.Length);
    }

    /// <summary>The ModelProto bytes a package holds; <paramref name="what"/> names it in errors (exit 2, one line).</summary>
    public static byte[] Unpack(ReadOnlyMemory<byte> package, string what = "the package")
    {
        try { return UnpackCore(package); }
        catch (PackageFormatException e) { throw new OnnxRevException($"{what} is not a valid .onnxrev package: {e.Message}"); }
        catch (InvalidProtocolBufferException e) { throw new OnnxRevException($"{what} is not a valid .onnxrev package: its model section is not a ModelProto ({e.Message})"); }
        catch (OutOfMemoryException) { throw new OnnxRevException($"{what} declares tensors too large to decode in memory"); }
    }

    private static byte[] UnpackCore(ReadOnlyMemory<byte> package)
    {
        if (package.Length < Magic.Length || !package.Span[..Magic.Length].SequenceEqual(Magic))
            throw new PackageFormatException("it does not start with the .onnxrev magic bytes");
        if (package.Length < HeaderBytes) throw new PackageFormatException("its header is truncated");
        var h = new FieldReader(package[Magic.Length..HeaderBytes]);
        uint version = h.U32(), length = h.U32(), crc = h.U32();
        if (version != FormatVersion) throw new PackageFormatException($"it has format version {version}; this onnxrev reads version {FormatVersion}");
        if (package.Length - HeaderBytes < length) throw new PackageFormatException($"it is truncated ({package.Length - HeaderBytes} of {length} payload bytes)");
        if (package.Length - HeaderBytes > length) throw new PackageFormatException($"it has {package.Length - HeaderBytes - length} bytes after the payload");
        var body = package[HeaderBytes..];
        if (Crc32.Of(body.Span) != crc) throw new PackageFormatException("its checksum does not match (the file is corrupted)");
        var r = new FieldReader(body);
        int flags = r.U8();
        if ((flags & ~1) != 0) throw new PackageFormatException($"it sets unknown flags 0x{flags:X2}");
        var section = r.Blob();
        byte[] proto = (flags & 1) != 0 ? UnBrotli(section) : section.ToArray();
        var model = ModelProto.Parser.ParseFrom(proto);
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in model.Graph?.Initializer ?? (IEnumerable<TensorProto>)Array.Empty<TensorProto>()) initializers.TryAdd(t.Name, t);
        long count = r.VarInt(int.MaxValue);
        for (long i = 0; i < count; i++)
        {
            string name = r.Text();
            if (!initializers.TryGetValue(name, out var t)) throw new PackageFormatException($"it codes a tensor '{name}' its model does not have");
            long elements = t.Dims.Aggregate(1L, (a, b) => a * b);
            var data = DecodeTensor(r, name, elements);
            t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        }
        if (!r.AtEnd) throw new PackageFormatException("it has unread bytes after the last tensor");
        return model.ToByteArray();
    }

    private static (byte[] Section, PackedTensor Info) CodeTensor(string name, float[] book, int[] indices)
    {
        int k = book.Length;
        var indexFreq = new long[k + 1];
        foreach (int i in indices) indexFreq[i]++;
        // Dense: every element's index. Sparse: entries (gap, index) for each non-zero, fillers (max gap, 0) between.
        var dense = Huffman.FromFrequencies(indexFreq);
        long bestBits = dense.CostBits(indexFreq) + 8L * (k + 1);
        int bestGap = 0;
        for (int g = 1; g <= 8; g++)
        {
            var (gf, xf, _) = SparseFrequencies(indices, k, g);
            long cost = Huffman.FromFrequencies(gf).CostBits(gf) + Huffman.FromFrequencies(xf).CostBits(xf) + 8L * ((1 << g) + k + 1);
            if (cost < bestBits) { bestBits = cost; bestGap = g; }
        }
        var w = new FieldWriter();
        w.Text(name);
        w.VarInt(indices.Length);
        w.VarInt(k);
        foreach (float v in book) w.U32((uint)BitConverter.SingleToInt32Bits(v));
        w.U8(bestGap);
        var bits = new BitWriter();
        if (bestGap == 0)
        {
            w.Blob(dense.Lengths);
            foreach (int i in indices) dense.Encode(bits, i);
        }
        else
        {
            var (gf, xf, entries) = SparseFrequencies(indices, k, bestGap);
            var gapCode = Huffman.FromFrequencies(gf);
            var indexCode = Huffman.FromFrequencies(xf);
            w.Blob(gapCode.Lengths);
            w.Blob(indexCode.Lengths);
            w.VarInt(entries.Count);
            foreach (var (gap, index) in entries) { gapCode.Encode(bits, gap); indexCode.Encode(bits, index); }
        }
        w.Blob(bits.ToArray());
        var section = w.ToArray();
        return (section, new PackedTensor(name, indices.Length, k, bestGap == 0 ? "dense" : "sparse", bestGap, section.Length));
    }

    private static (long[] GapFreq, long[] IndexFreq, List<(int Gap, int Index)> Entries) SparseFrequencies(int[] indices, int k, int gapBits)
    {
        int maxGap = (1 << gapBits) - 1;
        var gf = new long[maxGap + 1];
        var xf = new long[k + 1];
        var entries = new List<(int, int)>();
        long previous = -1;
        for (int p = 0; p < indices.Length; p++)
        {
            if (indices[p] == 0) continue;
            long gap = p - previous - 1;
            while (gap > maxGap) { entries.Add((maxGap, 0)); gf[maxGap]++; xf[0]++; gap -= maxGap + 1; }
            entries.Add(((int)gap, indices[p]));
            gf[gap]++;
            xf[indices[p]]++;
            previous = p;
        }
        return (gf, xf, entries);
    }

    private static float[] DecodeTensor(FieldReader r, string name, long elements)
    {
        long n = r.VarInt(Array.MaxLength);
        if (n != elements) throw new PackageFormatException($"tensor '{name}' codes {n} elements but its shape holds {elements}");
        int k = (int)r.VarInt(1 << 16);
        var book = new float[k + 1];
        for (int j = 1; j <= k; j++) book[j] = BitConverter.Int32BitsToSingle((int)r.U32());
        int gapBits = r.U8();
        if (gapBits > 8) throw new PackageFormatException($"tensor '{name}' has a position width of {gapBits} bits (at most 8)");
        var data = new float[n];
        if (gapBits == 0)
        {
            var code = Lengths(r, k + 1, name);
            var bits = new BitReader(r.Blob());
            for (long i = 0; i < n; i++) data[i] = book[code.Decode(bits)];
        }
        else
        {
            var gapCode = Lengths(r, (1 << gapBits), name);
            var indexCode = Lengths(r, k + 1, name);
            long entries = r.VarInt(int.MaxValue);
            var bits = new BitReader(r.Blob());
            long p = -1;
            for (long e = 0; e < entries; e++)
            {
                p += gapCode.Decode(bits) + 1;
                int index = indexCode.Decode(bits);
                if (p >= n) throw new PackageFormatException($"tensor '{name}' places a value at position {p} of {n}");
                data[p] = book[index];
            }
        }
        return data;
    }

    private static Huffman Lengths(FieldReader r, int symbols, string name)
    {
        var lengths = r.Blob().ToArray();
        if (lengths.Length != symbols) throw new PackageFormatException($"tensor '{name}' has a code table of {lengths.Length} entries for {symbols} symbols");
        return new Huffman(lengths);
    }

    private static byte[] BrotliBytes(byte[] data)
    {
        using var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.SmallestSize, leaveOpen: true)) brotli.Write(data);
        return output.ToArray();
    }

    private static byte[] UnBrotli(ReadOnlyMemory<byte> data)
    {
        try
        {
            using var input = new MemoryStream(data.ToArray());
            using var brotli = new BrotliStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            brotli.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e) { throw new PackageFormatException($"its model section does not decompress ({e.Message})"); }
    }
}

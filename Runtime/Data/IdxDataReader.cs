using System.Buffers.Binary;
using System.Text.RegularExpressions;

namespace OnnxRev.Runtime.Data;

/// <summary>
/// Reads a folder of IDX files as MNIST and Fashion-MNIST ship them: <c>PREFIX-images-idx3-ubyte[.gz]</c>
/// (magic 0x00000803, count, rows, columns, then unsigned bytes) with <c>PREFIX-labels-idx1-ubyte[.gz]</c>
/// (magic 0x00000801, count, then one byte per label); big-endian header integers. The prefix names the
/// split (<c>train</c>, <c>t10k</c>). Samples have shape [rows, columns].
/// </summary>
internal static partial class IdxDataReader
{
    [GeneratedRegex(@"^(?<prefix>.*?)[-_.]?images[-.]idx3-ubyte(\.gz)?$", RegexOptions.IgnoreCase)]
    private static partial Regex ImagesPattern();

    /// <summary>The image files of a folder by split prefix (e.g. "train" → …/train-images-idx3-ubyte.gz).</summary>
    public static SortedDictionary<string, string> FindSplits(string folder)
    {
        var splits = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            var match = ImagesPattern().Match(Path.GetFileName(file));
            if (match.Success) splits.TryAdd(match.Groups["prefix"].Value, file);
        }
        return splits;
    }

    public static RawData Read(string folder, string? split, float scale, int? maxSamples)
    {
        var splits = FindSplits(folder);
        string imagesFile = ChooseSplit(folder, splits, split);
        string labelsFile = FindLabels(imagesFile);
        var (labels, labelTotal) = DatasetLoader.Guard(labelsFile, () => ReadLabels(labelsFile, maxSamples));
        var (features, shape, imageTotal) = DatasetLoader.Guard(imagesFile, () => ReadImages(imagesFile, scale, maxSamples));
        if (imageTotal != labelTotal)
            throw new OnnxRevException($"IDX file '{imagesFile}' holds {imageTotal} images but '{labelsFile}' holds {labelTotal} labels.");
        return new RawData(features, labels, shape, folder, i => $"sample {i} of '{labelsFile}'");
    }

    private static string ChooseSplit(string folder, SortedDictionary<string, string> splits, string? split)
    {
        string available = string.Join(", ", splits.Keys.Select(k => k.Length == 0 ? "(no prefix)" : k));
        if (split is null)
        {
            if (splits.Count == 1) return splits.Values.First();
            if (splits.TryGetValue("train", out var train)) return train;
            throw new OnnxRevException($"IDX folder '{folder}' holds several splits ({available}); name the one to read.");
        }
        if (splits.TryGetValue(split, out var file)) return file;
        if (split.Equals("test", StringComparison.OrdinalIgnoreCase) && splits.TryGetValue("t10k", out var t10k)) return t10k;
        throw new OnnxRevException($"IDX folder '{folder}' has no split '{split}'; it holds: {available}.");
    }

    private static string FindLabels(string imagesFile)
    {
        string name = Path.GetFileName(imagesFile);
        int at = name.LastIndexOf("images", StringComparison.OrdinalIgnoreCase);
        string stem = name[..at] + "labels" + name[(at + "images".Length)..].Replace("idx3", "idx1", StringComparison.OrdinalIgnoreCase);
        if (stem.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) stem = stem[..^3];
        string folder = Path.GetDirectoryName(imagesFile)!;
        foreach (string candidate in new[] { stem + ".gz", stem })
            if (File.Exists(Path.Combine(folder, candidate))) return Path.Combine(folder, candidate);
        throw new OnnxRevException($"IDX images '{imagesFile}' have no labels file: expected '{Path.Combine(folder, stem)}[.gz]'.");
    }

    private static (long[] Labels, int Total) ReadLabels(string file, int? maxSamples)
    {
        using var stream = DatasetLoader.OpenMaybeGzip(file);
        var header = ReadHeader(stream, file, 0x0801, 1);
        int total = header[0];
        int count = Math.Min(total, maxSamples ?? int.MaxValue);
        var bytes = new byte[count];
        ReadExactly(stream, bytes, file, $"{total} labels");
        if (count == total) CheckEnd(stream, file, $"{total} labels");
        var labels = new long[count];
        for (int i = 0; i < count; i++) labels[i] = bytes[i];
        return (labels, total);
    }

    private static (float[] Features, int[] Shape, int Total) ReadImages(string file, float scale, int? maxSamples)
    {
        using var stream = DatasetLoader.OpenMaybeGzip(file);
        var header = ReadHeader(stream, file, 0x0803, 3);
        int total = header[0], rows = header[1], columns = header[2];
        if (rows == 0 || columns == 0) throw new OnnxRevException($"IDX file '{file}' declares images of {rows}×{columns} pixels.");
        int count = Math.Min(total, maxSamples ?? int.MaxValue);
        long pixels = (long)rows * columns;
        if (count * pixels > Array.MaxLength)
            throw new OnnxRevException($"IDX file '{file}' holds {count} images of {rows}×{columns}, too many to load at once; limit the sample count.");
        var features = new float[count * pixels];
        var table = new float[256];
        for (int v = 0; v < 256; v++) table[v] = v * scale;
        var chunk = new byte[Math.Min(features.Length, 1 << 20)];
        string promised = $"{total} images of {rows}×{columns}";
        for (long done = 0; done < features.Length;)
        {
            int n = (int)Math.Min(chunk.Length, features.Length - done);
            ReadExactly(stream, chunk.AsSpan(0, n), file, promised);
            for (int i = 0; i < n; i++) features[done + i] = table[chunk[i]];
            done += n;
        }
        if (count == total) CheckEnd(stream, file, promised);
        return (features, [rows, columns], total);
    }

    /// <summary>Reads the magic number and <paramref name="dims"/> big-endian sizes.</summary>
    private static int[] ReadHeader(Stream stream, string file, int magic, int dims)
    {
        var bytes = new byte[4 * (dims + 1)];
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            throw new OnnxRevException($"IDX file '{file}' is truncated: it ends inside its {bytes.Length}-byte header.");
        int found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found != magic)
            throw new OnnxRevException(
                $"IDX file '{file}' has magic number 0x{found:X8}; expected 0x{magic:X8} (unsigned bytes, {dims} dimension{(dims > 1 ? "s" : "")}).");
        var sizes = new int[dims];
        for (int i = 0; i < dims; i++)
        {
            sizes[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 * (i + 1)));
            if (sizes[i] < 0) throw new OnnxRevException($"IDX file '{file}' declares a negative size ({sizes[i]}).");
        }
        return sizes;
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string file, string promised)
    {
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
            throw new OnnxRevException($"IDX file '{file}' is truncated: its header promises {promised}, but the data ends early.");
    }

    private static void CheckEnd(Stream stream, string file, string promised)
    {
        if (stream.ReadByte() >= 0)
            throw new OnnxRevException($"IDX file '{file}' has bytes after the {promised} its header promises.");
    }
}

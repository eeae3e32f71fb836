namespace OnnxRev.Tests.Support;

/// <summary>Locations inside the repository, found by walking up from the test binaries to OnnxRev.sln.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(() =>
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OnnxRev.sln"))) return dir.FullName;
        throw new InvalidOperationException("OnnxRev.sln not found above the test directory");
    });

    /// <summary>The repository root.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>models/fixtures: PyTorch-exported models with reference data.</summary>
    public static string Fixtures => Path.Combine(Root, "models", "fixtures");

    /// <summary>The ONNX conformance data fetched by tools/fetch-testdata.sh.</summary>
    public static string OnnxTestData => Path.Combine(Root, ".cache", "libonnx-testdata");

    /// <summary>The datasets fetched by tools/fetch-data.sh (.cache/data).</summary>
    public static string FetchedData => Path.Combine(Root, ".cache", "data");

    /// <summary>scikit-learn's 8×8 digits CSV committed under models/data (1797 rows, 64 pixels 0–16 + label).</summary>
    public static string DigitsCsv => Path.Combine(Root, "models", "data", "digits.csv.gz");

    /// <summary>models/data/sentences.txt: 256 real English sentences from the SpamAssassin ham corpus (CC0), one per line.</summary>
    public static string Sentences => Path.Combine(Root, "models", "data", "sentences.txt");

    /// <summary>One fetched dataset folder, e.g. <c>Dataset("fashion-mnist")</c>; fails when it is absent.</summary>
    public static string Dataset(string name)
    {
        string dir = Path.Combine(FetchedData, name);
        if (!Directory.Exists(dir)) Assert.Fail($"Dataset not found at {dir}; run tools/fetch-data.sh");
        return dir;
    }

    /// <summary>The folder of one conformance node test, e.g. <c>NodeTest("test_add")</c>; fails when the data is absent.</summary>
    public static string NodeTest(string name)
    {
        string dir = Path.Combine(OnnxTestData, "node", name);
        if (!Directory.Exists(dir)) Assert.Fail($"ONNX test data not found at {dir}; run tools/fetch-testdata.sh");
        return dir;
    }

    /// <summary>The fixture model names.</summary>
    public static readonly string[] FixtureModels =
        { "bert_tiny", "lstm", "mobilenet_v3_small", "resmlp_d8", "revmlp_d8", "shufflenet_v2", "squeezenet1_1" };

    /// <summary>A fresh temporary folder, deleted by the caller.</summary>
    public static string NewTempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "onnxrev-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(d);
        return d;
    }
}

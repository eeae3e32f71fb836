using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Conformance;

/// <summary>One case of the ONNX project's backend test data: a model and its test_data_set_N folders.</summary>
public sealed record ConformanceCase(string Suite, string Name, string Folder)
{
    /// <summary>The suites the conformance tests cover ("real" holds only download links, no models).</summary>
    public static readonly string[] Suites = { "node", "pytorch-converted", "pytorch-operator", "simple" };

    /// <summary>Every case with a model.onnx, sorted by suite and name.</summary>
    public static IEnumerable<ConformanceCase> All()
    {
        foreach (var suite in Suites)
        {
            string dir = Path.Combine(RepoPaths.OnnxTestData, suite);
            if (!Directory.Exists(dir)) continue;
            foreach (var c in Directory.GetDirectories(dir).OrderBy(d => d, StringComparer.Ordinal))
                if (File.Exists(Path.Combine(c, "model.onnx")))
                    yield return new ConformanceCase(suite, Path.GetFileName(c), c);
        }
    }

    /// <summary>The model file.</summary>
    public string ModelPath => Path.Combine(Folder, "model.onnx");

    /// <summary>The test_data_set_N folders.</summary>
    public IEnumerable<string> DataSets => Directory.GetDirectories(Folder, "test_data_set_*").OrderBy(d => d, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => $"{Suite}/{Name}";
}

/// <summary>
/// Cases ONNX Runtime itself cannot run, each with the reason, read from ort-unsupported.txt. The
/// suite verifies every listed case still fails in ORT on the original, untouched model, so a stale
/// entry cannot hide a regression of ours.
/// </summary>
public static class OrtUnsupported
{
    private static readonly Lazy<Dictionary<string, string>> Entries = new(() =>
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(Path.Combine(RepoPaths.Root, "Tests", "Conformance", "ort-unsupported.txt")))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int sep = line.IndexOf(' ');
            if (sep < 0) throw new FormatException($"ort-unsupported.txt: '{line}' has no reason");
            result[line[..sep]] = line[(sep + 1)..].Trim();
        }
        return result;
    });

    /// <summary>The reason a case is listed, or null.</summary>
    public static string? Reason(ConformanceCase c) => Entries.Value.GetValueOrDefault(c.ToString());

    /// <summary>All listed case keys.</summary>
    public static IReadOnlyCollection<string> Keys => Entries.Value.Keys;
}

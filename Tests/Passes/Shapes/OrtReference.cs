using OnnxRev.Ir;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Shapes;

/// <summary>
/// Runs models through the project's <see cref="OrtRunner"/> (CPU, graph optimizations off, so ORT's
/// own constant folding does not hide what our passes did) and compares outputs with rtol 1e-4, atol 1e-5.
/// </summary>
internal static class OrtReference
{
    public const double RelativeTolerance = 1e-4;
    public const double AbsoluteTolerance = 1e-5;

    private static readonly RunnerOptions Options = new() { OptimizationLevel = OptimizationLevel.None };

    /// <summary>Saves <paramref name="model"/> to a temporary folder and runs it on <paramref name="inputs"/>.</summary>
    public static OrderedDictionary<string, DataValue> Run(Model model, IReadOnlyDictionary<string, DataValue> inputs)
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string path = Path.Combine(dir, "model.onnx");
            ModelWriter.Save(model, path);
            using var runner = new OrtRunner(path, Options);
            return runner.Run(inputs);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The fixture's test-data folder (inputs and PyTorch's expected outputs) read for <paramref name="model"/>.</summary>
    public static TestDataSet Fixture(string name, Model model)
    {
        using var runner = new OrtRunner(ModelWriter.ToBytes(model), Options, name);
        return TestDataFolder.Read(Path.Combine(RepoPaths.Fixtures, name + "_data"), runner);
    }

    /// <summary>Seeded random inputs for <paramref name="model"/>, symbolic dimensions set by <paramref name="dims"/>.</summary>
    public static OrderedDictionary<string, DataValue> Random(Model model, IReadOnlyDictionary<string, long> dims, int seed)
    {
        using var runner = new OrtRunner(ModelWriter.ToBytes(model), Options);
        return RandomInputs.For(runner, seed, dims);
    }

    /// <summary>Asserts every output is within |a − e| ≤ atol + rtol·|e|.</summary>
    public static void AssertClose(IReadOnlyDictionary<string, DataValue> actual, IReadOnlyDictionary<string, DataValue> expected, string what)
    {
        var cmp = OutputComparison.Compare(actual, expected, RelativeTolerance, AbsoluteTolerance);
        Assert.That(cmp.Ok, Is.True, () => $"{what}: {cmp.Reason} (rtol {RelativeTolerance}, atol {AbsoluteTolerance})");
    }
}

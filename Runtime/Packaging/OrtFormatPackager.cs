using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Packaging;

/// <summary>Options of <see cref="OrtFormatPackager"/>.</summary>
/// <param name="Level">ONNX Runtime graph optimizations baked into the package. Extended (default) stays portable across
/// CPUs; All adds layout changes (NCHWc) specific to the machine that writes the package.</param>
/// <param name="Check">Run the package against the original (same optimizations) on seeded random inputs.</param>
/// <param name="Rtol">Relative tolerance of the check.</param>
/// <param name="Atol">Absolute tolerance of the check.</param>
/// <param name="DimValues">Sizes of symbolic dimensions for the check's inputs.</param>
public sealed record PackageOptions(OptimizationLevel Level = OptimizationLevel.Extended, bool Check = true, double Rtol = 1e-4, double Atol = 1e-5,
    IReadOnlyDictionary<string, long>? DimValues = null);

/// <summary>What <see cref="OrtFormatPackager.Package"/> wrote.</summary>
/// <param name="Path">The .ort file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Operators">The operators of the optimized graph (what a reduced-operator build needs).</param>
/// <param name="Comparison">The check against the original, when run.</param>
public sealed record PackageResult(string Path, long Bytes, OperatorSet Operators, ComparisonResult? Comparison);

/// <summary>
/// Writes a model in ONNX Runtime's ORT format (the flatbuffer format of mobile and minimal builds) through ONNX
/// Runtime's own optimized-model saving, and lists the operators the optimized graph uses. The file appears only
/// after ONNX Runtime loaded it back (and, with the check, reproduced the original's outputs).
/// </summary>
public static class OrtFormatPackager
{
    /// <summary>Packages <paramref name="modelPath"/> into <paramref name="outPath"/> (atomically).</summary>
    /// <exception cref="OnnxRevException">ONNX Runtime cannot load the model or its package.</exception>
    /// <exception cref="CheckFailedException">The package's outputs differ from the original's beyond tolerance.</exception>
    public static PackageResult Package(string modelPath, string outPath, PackageOptions? options = null)
    {
        options ??= new PackageOptions();
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(outPath))!;
        string stem = $".{System.IO.Path.GetFileName(outPath)}.{Guid.NewGuid():N}";
        string tempOrt = System.IO.Path.Combine(dir, stem + ".ort"), tempOnnx = System.IO.Path.Combine(dir, stem + ".onnx");
        try
        {
            Save(modelPath, tempOrt, "ORT", options.Level);
            Save(modelPath, tempOnnx, "ONNX", options.Level);
            var operators = OperatorSet.Of(ModelReader.Load(tempOnnx));
            ComparisonResult? comparison = null;
            using (var packaged = new OrtRunner(File.ReadAllBytes(tempOrt), new RunnerOptions
            {
                OptimizationLevel = OptimizationLevel.None,
                ConfigEntries = new Dictionary<string, string> { ["session.load_model_format"] = "ORT" },
            }, System.IO.Path.GetFileName(outPath)))
            {
                if (options.Check)
                {
                    // Against the original under the same optimizations: the check is that the package holds what ONNX Runtime
                    // computes for the model. (Fused integer kernels round differently from the unfused quantized graph, so a
                    // quantized model run without optimizations may differ from any optimized form by its quantization noise.)
                    using var original = new OrtRunner(modelPath, new RunnerOptions { OptimizationLevel = options.Level });
                    var inputs = Benchmark.BenchInputs.Random(original, batch: 1, options.DimValues ?? new Dictionary<string, long>(), seed: 0, out _);
                    comparison = OutputComparison.Compare(packaged.Run(inputs), original.Run(inputs), options.Rtol, options.Atol);
                    if (!comparison.Ok)
                        throw new CheckFailedException($"the ORT-format package of '{modelPath}' differs from the original: {comparison.Reason}; nothing written");
                }
            }
            File.Move(tempOrt, outPath, overwrite: true);
            return new PackageResult(outPath, new FileInfo(outPath).Length, operators, comparison);
        }
        finally
        {
            File.Delete(tempOrt);
            File.Delete(tempOnnx);
            File.Delete(tempOnnx + ".data");
        }
    }

    private static void Save(string modelPath, string target, string format, OptimizationLevel level)
    {
        using var _ = new OrtRunner(modelPath, new RunnerOptions
        {
            OptimizationLevel = level,
            OptimizedModelPath = target,
            ConfigEntries = new Dictionary<string, string> { ["session.save_model_format"] = format },
        });
        if (!File.Exists(target)) throw new OnnxRevException($"ONNX Runtime did not write the {format} model of '{modelPath}'");
    }
}

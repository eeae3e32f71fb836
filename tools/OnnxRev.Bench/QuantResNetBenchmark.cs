using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;

namespace OnnxRev.Bench;

/// <summary>
/// Static INT8 of CNTK's ResNet18 (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1, opset 8): calibrated on
/// Fashion-MNIST training images upscaled to 224×224 (×255, then the package's preprocess model subtracts its mean
/// image), compared on different test images: per-image cosine of the 512 features against fp32, file sizes, the
/// integer kernels ONNX Runtime uses, and p50 latency of both models timed alternately.
/// </summary>
internal static class QuantResNetBenchmark
{
    public static int Run(string[] args)
    {
        int calibrationCount = 100, testCount = 200, threads = 2, seed = 0, iterations = 20;
        string method = "percentile";
        double percentile = 99.99;
        bool perChannel = true, sensitivity = false;
        string? output = null, keep = null;
        for (int i = 1; i < args.Length; i++)
        {
            bool Int(ref int v) => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out v) && v >= 0;
            bool ok = args[i] switch
            {
                "--calibration" => Int(ref calibrationCount) && calibrationCount > 0,
                "--test" => Int(ref testCount) && testCount > 0,
                "--threads" => Int(ref threads),
                "--seed" => Int(ref seed),
                "--iterations" => Int(ref iterations),
                "--method" when i + 1 < args.Length => (method = args[++i]) is "minmax" or "percentile" or "entropy",
                "--percentile" when i + 1 < args.Length => double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out percentile) && percentile is > 0 and <= 100,
                "--per-tensor" => !(perChannel = false),
                "--sensitivity" => sensitivity = true,
                "--keep-float" when i + 1 < args.Length => (keep = args[++i]) is not null,
                "-o" when i + 1 < args.Length => (output = args[++i]) is not null,
                _ => false,
            };
            if (!ok) { Console.Error.WriteLine($"onnxrev-bench: bad option or value at '{args[Math.Min(i, args.Length - 1)]}'"); return 2; }
        }
        string data = Path.Combine(RepoRoot(), ".cache", "data", "fashion-mnist");
        if (!Directory.Exists(data)) { Console.Error.WriteLine($"onnxrev-bench: Fashion-MNIST not found at {data}; run tools/fetch-data.sh"); return 2; }
        string models = Path.Combine(PackageRoot(), "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels");
        string prep = Path.Combine(models, "ResNetPrepOnnx", "ResNetPreprocess.onnx"), resnet = Path.Combine(models, "ResNet18Onnx", "ResNet18.onnx");
        if (!File.Exists(resnet)) { Console.Error.WriteLine($"onnxrev-bench: {resnet} missing; `dotnet restore tools/OnnxRev.Bench` downloads the package"); return 2; }

        var clock = Stopwatch.StartNew();
        var train = FineTuning.StratifiedSubset(DatasetLoader.Load(data, new DataOptions { Split = "train" }), calibrationCount, seed, 1);
        var test = FineTuning.StratifiedSubset(DatasetLoader.Load(data, new DataOptions { Split = "test" }), testCount, seed, 2);
        var calibration = FeatureAgreement.PrepareImages(prep, train, threads);
        var evaluation = FeatureAgreement.PrepareImages(prep, test, threads);
        Console.Error.WriteLine($"images: {calibration.Count} calibration (train split), {evaluation.Count} evaluation (test split), {clock.Elapsed.TotalSeconds:F1} s");
        var options = new QuantizationOptions { PerChannel = perChannel, KeepFloat = QuantizationOptions.ParseKeepFloat(keep) };
        var calibrationOptions = new CalibrationOptions
        {
            Method = method switch { "minmax" => CalibrationMethod.MinMax, "entropy" => CalibrationMethod.Entropy, _ => CalibrationMethod.Percentile },
            Percentile = percentile,
        };
        clock.Restart();
        var quantizer = new Int8Quantizer(ModelReader.Load(resnet), Int8Mode.Static, options, calibration, calibrationOptions);
        var q = quantizer.Quantize();
        if (sensitivity)
            foreach (var l in Sensitivity.PerLayer(quantizer, evaluation.Take(10)))
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {l.Node,-40} {l.OpType,-6} output MSE {l.OutputMse:G4}"));
        double quantizeSeconds = clock.Elapsed.TotalSeconds;
        output ??= Path.Combine(Path.GetTempPath(), "onnxrev-bench", "resnet18_int8_qdq.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        ModelWriter.Save(q.Model, output);
        var agreement = FeatureAgreement.Compare(File.ReadAllBytes(resnet), File.ReadAllBytes(output), evaluation, threads);
        string optimized = Path.ChangeExtension(output, ".ort-optimized.onnx");
        using (new OrtRunner(output, new RunnerOptions { OptimizationLevel = OptimizationLevel.Extended, OptimizedModelPath = optimized })) { }
        var ops = ModelReader.Load(optimized).Graph.Nodes.GroupBy(n => n.OpType).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
        File.Delete(optimized);
        var (floatMs, int8Ms) = Latency.AlternatingP50(resnet, output, evaluation.Features.AsSpan(0, evaluation.FeatureCount).ToArray(), evaluation.SampleShape, threads, iterations);
        var json = new JsonObject
        {
            ["model"] = "microsoft.ml.dnnimagefeaturizer.resnet18 0.23.1 ResNet18.onnx (CNTK, opset 8)",
            ["calibration_images"] = calibration.Count,
            ["evaluation_images"] = evaluation.Count,
            ["method"] = method,
            ["percentile"] = method == "percentile" ? percentile : null,
            ["per_channel"] = perChannel,
            ["quantized_nodes"] = q.QuantizedNodes.Count,
            ["opset_before"] = q.OpsetBefore,
            ["opset_after"] = q.Model.OpsetVersion(""),
            ["kept_float"] = keep,
            ["cosine_min"] = Math.Round(agreement.MinCosine, 5),
            ["cosine_mean"] = Math.Round(agreement.MeanCosine, 5),
            ["bytes_before"] = new FileInfo(resnet).Length,
            ["bytes_after"] = new FileInfo(output).Length,
            ["ort_optimized_ops"] = new JsonObject(ops.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["threads"] = threads,
            ["p50_ms_fp32"] = Math.Round(floatMs, 2),
            ["p50_ms_int8"] = Math.Round(int8Ms, 2),
            ["speedup_p50"] = Math.Round(floatMs / int8Ms, 2),
            ["quantize_seconds"] = Math.Round(quantizeSeconds, 1),
            ["output"] = output,
        };
        Console.WriteLine(json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    internal static string PackageRoot() =>
        typeof(QuantResNetBenchmark).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "NuGetPackageRoot").Value!;

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OnnxRev.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}

using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using OnnxRev.Runtime.Training;

namespace OnnxRev.Bench;

/// <summary>
/// Fine-tunes a linear head on CNTK's pretrained ResNet18 (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1,
/// frozen) on a seeded stratified subset of Fashion-MNIST (tools/fetch-data.sh), reports the head's test
/// accuracy before and after training, and writes preprocess + ResNet18 + Flatten + head as one opset-8 model
/// whose accuracy on 100 test images, run from their pixels, must equal the feature pipeline's.
/// </summary>
internal static class FineTuneBenchmark
{
    private const string Package = "microsoft.ml.dnnimagefeaturizer.resnet18";
    private const string Version = "0.23.1";

    public static int Run(string[] args)
    {
        int train = 2000, test = 1000, epochs = 20, threads = 2, seed = 0;
        string? output = null, data = null;
        for (int i = 1; i < args.Length; i++)
        {
            bool Int(ref int v) => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out v) && v >= 0;
            bool ok = args[i] switch
            {
                "--train" => Int(ref train) && train > 0,
                "--test" => Int(ref test) && test > 0,
                "--epochs" => Int(ref epochs) && epochs > 0,
                "--threads" => Int(ref threads),
                "--seed" => Int(ref seed),
                "-o" when i + 1 < args.Length => (output = args[++i]) is not null,
                "--data" when i + 1 < args.Length => (data = args[++i]) is not null,
                _ => false,
            };
            if (!ok) { Console.Error.WriteLine($"onnxrev-bench: bad option or value at '{args[Math.Min(i, args.Length - 1)]}'"); return 2; }
        }
        data ??= Path.Combine(RepoRoot(), ".cache", "data", "fashion-mnist");
        if (!Directory.Exists(data)) { Console.Error.WriteLine($"onnxrev-bench: Fashion-MNIST not found at {data}; run tools/fetch-data.sh"); return 2; }
        string models = Path.Combine(PackageRoot(), Package, Version, "tools", "DnnImageModels");
        string prep = Path.Combine(models, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        string resnet = Path.Combine(models, "ResNet18Onnx", "ResNet18.onnx");
        foreach (var f in new[] { prep, resnet })
            if (!File.Exists(f)) { Console.Error.WriteLine($"onnxrev-bench: {f} missing; `dotnet restore tools/OnnxRev.Bench` downloads the package"); return 2; }
        output ??= Path.Combine(Path.GetTempPath(), "onnxrev-bench", "resnet18_fashion_mnist.onnx");

        var r = FineTuning.Run(new FineTuneOptions
        {
            PreprocessModel = prep, BackboneModel = resnet, DataDir = data, TrainCount = train, TestCount = test, Epochs = epochs,
            Threads = threads, Seed = seed, OutputPath = output, Log = Console.Error.WriteLine,
        });
        var json = new JsonObject
        {
            ["backbone"] = $"{Package} {Version} ResNet18.onnx (CNTK, opset 8), frozen",
            ["data"] = data,
            ["train"] = r.TrainCount,
            ["test"] = r.TestCount,
            ["epochs"] = r.Training.Epochs,
            ["steps"] = r.Training.Steps,
            ["threads"] = threads,
            ["seed"] = seed,
            ["feature_seconds"] = Math.Round(r.FeatureSeconds, 2),
            ["train_seconds"] = Math.Round(r.TrainSeconds, 2),
            ["accuracy_before"] = r.Before.Accuracy,
            ["accuracy_after"] = r.After.Accuracy,
            ["loss_before"] = Math.Round(r.Before.Loss, 4),
            ["loss_after"] = Math.Round(r.After.Loss, 4),
            ["head_accuracy_100"] = r.HeadCheck.Accuracy,
            ["composed_model_accuracy_100"] = r.ComposedCheck.Accuracy,
            ["composed_same_class_100"] = r.CheckAgreement,
            ["composed_max_abs_logit_diff"] = r.CheckMaxAbsLogitDiff,
            ["model"] = r.ModelPath,
            ["bytes"] = r.Bytes,
        };
        Console.WriteLine(json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static string PackageRoot() =>
        typeof(FineTuneBenchmark).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "NuGetPackageRoot").Value!;

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OnnxRev.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}

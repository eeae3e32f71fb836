using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>
/// An old export by another tool: CNTK's ResNet18 (IR 3, opset 8, initializers listed as graph inputs)
/// and its preprocessing model, from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1.
/// </summary>
public class LegacyExportTests
{
    private static string PackageModel(string relative) => PackageModels.Path(relative);

    private static readonly string[] Models = { PackageModels.ResNet18, PackageModels.ResNetPreprocess };

    [TestCaseSource(nameof(Models))]
    public void RoundTripIsIdenticalAndBitIdenticalInOrt(string relative)
    {
        string path = PackageModel(relative);
        var model = ModelReader.Load(path);
        Assert.That(model.IrVersion, Is.EqualTo(3));
        var written = ModelWriter.ToBytes(model);
        Assert.That(ModelProto.Parser.ParseFrom(written), Is.EqualTo(ModelProto.Parser.ParseFrom(File.ReadAllBytes(path))));
        var options = new RunnerOptions { OptimizationLevel = OptimizationLevel.None };
        using var original = new OrtRunner(path, options);
        using var roundTripped = new OrtRunner(written, options, relative);
        var inputs = RandomInputs.For(original, seed: 3);
        Assert.That(OutputComparison.BitIdentical(original.Run(inputs), roundTripped.Run(inputs)), Is.True);
    }

    [TestCaseSource(nameof(Models))]
    public void CleanupIsEquivalent(string relative)
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            var r = CliRunner.Run("optimize", PackageModel(relative), "-o", Path.Combine(dir, "out.onnx"), "--passes", "cleanup", "--check-equivalence", "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            Assert.That((bool)r.Json["equivalent"]!, Is.True);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

using OnnxRev.Passes.Compression;
using OnnxRev.Passes.Compression.Coding;
using OnnxRev.Runtime.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Compression;

/// <summary>
/// Issue 5's acceptance on LeNet-300-100 trained on real MNIST (TrainedModels.LeNetMnist, held out = MnistSplit().HeldOut):
/// deep compression ≥ 40× smaller at ≤ 0.5 points lost; structured pruning ≥ 2× fewer FLOPs at ≤ 1 point lost after
/// fine-tuning (latency: `onnxrev-bench prune-channels`, docs/compression.md).
/// </summary>
public class CompressionAcceptanceTests
{
    [Test]
    public void DeepCompression_LeNet300100_IsAtLeast40TimesSmaller_AtMostHalfAPointLost()
    {
        string path = TrainedModels.LeNetMnist;
        var (train, heldOut) = TrainedModels.MnistSplit();
        var tune = new FineTuneSettings { Epochs = 3, BatchSize = 64, LearningRate = 1e-3 };
        var result = DeepCompression.Run(ModelReader.Load(path), new FileInfo(path).Length, train, heldOut, new DeepCompressionOptions
        {
            Sparsity = 0.92, ClusterBits = 5, PruneFineTune = tune, CodebookFineTune = tune with { Epochs = 2, LearningRate = 1e-4, Seed = 1000 },
            Log = TestContext.Progress.WriteLine,
        });
        Assert.That(result.Steps.Select(s => s.Name), Is.EqualTo(new[] { "original", "prune", "fine-tune", "cluster", "fine-tune-codebooks", "code" }));
        Assert.That(result.Ratio, Is.GreaterThanOrEqualTo(40), $"package {result.Package.Length} bytes");
        Assert.That(result.AccuracyLossPoints, Is.LessThanOrEqualTo(0.5));
        Assert.That(OnnxRevPackage.Unpack(result.Package), Is.EqualTo(ModelWriter.ToBytes(result.Clustered)));
        Assert.That(result.Steps[^1].Accuracy, Is.EqualTo(result.Steps[^2].Accuracy), "coding is lossless");
    }

    [Test]
    public void PipelineRecipeDeepCompression_MeetsItsGoals_AndItsPackageUnpacksToTheModel()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string output = Path.Combine(dir, "lenet_dc.onnx"), back = Path.Combine(dir, "back.onnx");
            var r = CliRunner.Run("pipeline", TrainedModels.LeNetMnist, "--recipe", "deep-compression", "--data", TrainedModels.MnistFolder,
                "--validation-split", "0.2", "--seed", "0", "-o", output, "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            Assert.That((bool)r.Json["goals_met"]!, Is.True);
            var steps = r.Json["steps"]!.AsArray();
            Assert.That(steps.Select(s => s!["name"]!.GetValue<string>()).TakeLast(5), Is.EqualTo(new[] { "prune", "fine-tune", "cluster", "fine-tune-codebooks", "code" }));
            string package = Path.ChangeExtension(output, ".onnxrev");
            Assert.That(File.Exists(package), Is.True);
            Assert.That(CliRunner.Run("unpack", package, "-o", back).ExitCode, Is.EqualTo(0));
            Assert.That(File.ReadAllBytes(back), Is.EqualTo(File.ReadAllBytes(output)));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void StructuredPruning_LeNet300100_HalvesFlops_AtMostOnePointLost()
    {
        var (train, heldOut) = TrainedModels.MnistSplit();
        var r = StructuredPruning.Run(ModelReader.Load(TrainedModels.LeNetMnist), train, heldOut, 0.5, ChannelNorm.L2, new FineTuneSettings { Epochs = 3 });
        TestContext.Progress.WriteLine($"MACs {r.MacsBefore} → {r.MacsAfter}; accuracy {r.AccuracyBefore:P2} → {r.AccuracyPruned:P2} → {r.AccuracyAfter:P2}");
        Assert.That(r.FlopRatio, Is.GreaterThanOrEqualTo(2));
        Assert.That(100 * (r.AccuracyBefore - r.AccuracyAfter), Is.LessThanOrEqualTo(1));
    }
}

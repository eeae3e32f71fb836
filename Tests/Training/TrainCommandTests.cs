using System.Diagnostics;
using OnnxRev.Schema;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>
/// `onnxrev train` end to end on real data: the accuracy goals of the training issue, and a run killed
/// with SIGKILL and resumed that ends with the same weights as one never interrupted.
/// </summary>
public class TrainCommandTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string Digits => Path.Combine(RepoPaths.Root, "models", "data", "digits.csv.gz");

    [Test]
    public void ResmlpOnDigitsReaches95PercentOnRowsItNeverSaw()
    {
        var r = CliRunner.Run("train", Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"), "--data", Digits, "--scale", "0.0625",
            "--validation-split", "0.2", "--epochs", "30", "--batch", "32", "--lr", "0.001", "--optimizer", "adamw",
            "--threads", "2", "-o", Path.Combine(_dir, "trained.onnx"), "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        double acc = (double)r.Json["validation_accuracy"]!;
        TestContext.Out.WriteLine($"resmlp_d8 digits: validation accuracy {acc:P2} ({r.Json["validation_samples"]} held-out rows)");
        Assert.That(acc, Is.GreaterThanOrEqualTo(0.95));
        var eval = CliRunner.Run("eval", Path.Combine(_dir, "trained.onnx"), "--data", Digits, "--scale", "0.0625", "--json");
        Assert.That(eval.ExitCode, Is.EqualTo(0), eval.Stderr);
        Assert.That((int)eval.Json["samples"]!, Is.EqualTo(1797));
    }

    [Test]
    [Category("Slow")]
    public void SmallCnnOnFashionMnistReaches88PercentInTwoEpochs()
    {
        string fmnist = RepoPaths.Dataset("fashion-mnist");
        var r = CliRunner.Run("train", Path.Combine(RepoPaths.Root, "models", "zoo", "small_cnn.onnx"), "--data", fmnist,
            "--validation", fmnist, "--epochs", "2", "--batch", "32", "--lr", "0.002", "--schedule", "cosine",
            "--threads", "2", "-o", Path.Combine(_dir, "cnn.onnx"), "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        double acc = (double)r.Json["validation_accuracy"]!;
        TestContext.Out.WriteLine($"small CNN Fashion-MNIST: test accuracy {acc:P2} after {r.Json["epochs"]} epochs, {r.Json["seconds"]} s");
        Assert.That((int)r.Json["validation_samples"]!, Is.EqualTo(10000), "the official 10k test images");
        Assert.That((int)r.Json["epochs"]!, Is.LessThanOrEqualTo(2));
        Assert.That(acc, Is.GreaterThanOrEqualTo(0.88));
    }

    [Test]
    public void KilledAndResumedEndsWithTheSameWeights()
    {
        string model = Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx");
        string[] Common(string output, string ckpt) => new[] { "train", model, "--data", Digits, "--scale", "0.0625", "--epochs", "4", "--batch", "16",
            "--threads", "1", "--seed", "3", "--checkpoint", ckpt, "--checkpoint-every", "5", "-o", output };

        var straight = CliRunner.Run(Common(Path.Combine(_dir, "straight.onnx"), Path.Combine(_dir, "ck1")));
        Assert.That(straight.ExitCode, Is.EqualTo(0), straight.Stderr);

        // Start the same run in a child process and SIGKILL it once it has written a few checkpoints.
        string ck2 = Path.Combine(_dir, "ck2");
        string cli = Path.Combine(AppContext.BaseDirectory, "onnxrev.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(cli);
        foreach (var a in Common(Path.Combine(_dir, "killed.onnx"), ck2)) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!p.HasExited && DateTime.UtcNow < deadline && !CheckpointPast(ck2, 40)) Thread.Sleep(20);
            Assert.That(p.HasExited, Is.False, "the run finished before it could be killed; train longer");
            p.Kill(entireProcessTree: true); // SIGKILL
            p.WaitForExit();
        }
        Assert.That(File.Exists(Path.Combine(_dir, "killed.onnx")), Is.False, "a killed run writes no model");
        var resumed = CliRunner.Run(Common(Path.Combine(_dir, "resumed.onnx"), ck2).Append("--resume").ToArray());
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.Stderr);

        var a1 = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(_dir, "straight.onnx")));
        var a2 = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(_dir, "resumed.onnx")));
        Assert.That(a2.Graph.Initializer, Is.EqualTo(a1.Graph.Initializer), "resumed weights equal the uninterrupted run's, bit for bit");
    }

    private static bool CheckpointPast(string dir, long step)
    {
        try
        {
            string state = Path.Combine(dir, "state.json");
            if (!File.Exists(state)) return false;
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(state));
            return (long)json!["step"]! >= step;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException) { return false; }
    }
}

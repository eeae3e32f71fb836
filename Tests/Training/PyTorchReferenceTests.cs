using OnnxRev.Schema;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>
/// `onnxrev grad` on the PyTorch exports against PyTorch autograd's reference (models/fixtures/*_grads:
/// first 64 rows of scikit-learn digits, mean softmax cross-entropy). Every parameter gradient must
/// satisfy max|ours − torch| ≤ 1e-4 · max|torch| (the error relative to the tensor's scale), and the
/// loss must agree to 1e-5 relative.
/// </summary>
public class PyTorchReferenceTests
{
    [TestCase("resmlp_d8", "store")]
    [TestCase("revmlp_d8", "store")]
    [TestCase("revmlp_d8", "reversible")]
    [TestCase("resmlp_d8", "recompute")]
    [TestCase("revmlp_d8", "recompute")]
    public void GradMatchesAutograd(string name, string memory)
    {
        string refs = Path.Combine(RepoPaths.Fixtures, name + "_grads");
        string dir = RepoPaths.NewTempDir();
        try
        {
            var r = CliRunner.Run("grad", Path.Combine(RepoPaths.Fixtures, name + ".onnx"),
                "--input", Path.Combine(RepoPaths.Fixtures, name + "_data", "input_0.pb"),
                "--labels", Path.Combine(refs, "labels.pb"), "--loss", "cross-entropy", "--memory", memory, "-o", dir, "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);

            double torchLoss = GradCheck.ToDoubles(Read(Path.Combine(refs, "loss.pb")))[0];
            double ourLoss = GradCheck.ToDoubles(Read(Path.Combine(dir, "loss.pb")))[0];
            Assert.That(Math.Abs(ourLoss - torchLoss), Is.LessThanOrEqualTo(1e-5 * Math.Abs(torchLoss)), "loss");

            var expected = Directory.GetFiles(Path.Combine(refs, "grads"), "*.pb").Select(Read).ToList();
            Assert.That(expected, Has.Count.GreaterThan(10));
            Assert.That((int)r.Json["parameters"]!.AsArray().Count, Is.EqualTo(expected.Count), "one gradient per PyTorch parameter");
            double worst = 0;
            foreach (var e in expected)
            {
                string file = Path.Combine(dir, OnnxRev.Cli.Commands.GradCommand.FileNameFor(e.Name) + ".pb");
                Assert.That(File.Exists(file), Is.True, $"no gradient written for '{e.Name}'");
                var ours = Read(file);
                Assert.That(ours.Name, Is.EqualTo(e.Name));
                Assert.That(ours.Dims, Is.EqualTo(e.Dims), e.Name);
                var a = GradCheck.ToDoubles(ours);
                var t = GradCheck.ToDoubles(e);
                double scale = t.Max(Math.Abs);
                double err = a.Zip(t, (x, y) => Math.Abs(x - y)).Max();
                worst = Math.Max(worst, err / scale);
                Assert.That(err, Is.LessThanOrEqualTo(1e-4 * scale), $"gradient of '{e.Name}': max abs error {err:G3} vs scale {scale:G3}");
            }
            TestContext.Out.WriteLine($"{name} --memory {memory}: loss {ourLoss} (torch {torchLoss}); worst scale-relative gradient error {worst:G3}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static TensorProto Read(string path) => TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));
}

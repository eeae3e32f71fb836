using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>Pass options given to `onnxrev optimize` reach the pass that declares them.</summary>
public class PassOptionsTests
{
    [Test]
    public void CouplingVariantOptionSelectsMeft()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string model = Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx");
            string pairs = Path.Combine(dir, "pairs.onnx"), meft = Path.Combine(dir, "meft.onnx");
            Assert.That(CliRunner.Run("optimize", model, "-o", pairs, "--passes", "coupling").ExitCode, Is.EqualTo(0));
            var r = CliRunner.Run("optimize", model, "-o", meft, "--passes", "coupling", "--coupling-variant", "meft", "--coupling-lambda", "0.25", "--coupling-rank", "4");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            var p = ModelReader.Load(pairs).Graph.Initializers.Select(v => v.Name).ToList();
            var m = ModelReader.Load(meft).Graph;
            Assert.That(p.Any(n => n.Contains("meft")), Is.False, "pairs adds no MEFT scale");
            var lambda = m.Initializers.Single(v => v.Name.Contains("meft_lambda")).Initializer!;
            Assert.That(lambda.ToFloatArray()[0], Is.EqualTo(0.25f), "--coupling-lambda reached the pass");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

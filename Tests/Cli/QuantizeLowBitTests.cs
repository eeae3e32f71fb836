using OnnxRev.Runtime;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>`onnxrev quantize --mode int4|fp16` reaches the int4 and fp16 passes: the MNIST LeNet quantized both ways keeps its held-out accuracy.</summary>
public class QuantizeLowBitTests
{
    [TestCase("int4", 5.0)]
    [TestCase("fp16", 1.9)]
    public void QuantizeRunsTheLowBitPasses(string mode, double smaller)
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string output = Path.Combine(dir, $"lenet_{mode}.onnx");
            var r = CliRunner.Run("quantize", TrainedModels.LeNetMnist, "--mode", mode, "--keep-float", "NoSuchOp", "-o", output, "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            var j = r.Json;
            Assert.That((string)j["mode"]!, Is.EqualTo(mode));
            // int4: the three Gemms became MatMulNBits; fp16 (cpu target): the command counts the nodes reading float16
            // initializers, here the Casts that feed the fp32 Gemms their fp16-stored weights and biases.
            Assert.That((int)j["quantized_nodes"]!, mode == "int4" ? Is.EqualTo(3) : Is.GreaterThanOrEqualTo(3));
            double ratio = (double)(long)j["bytes_before"]! / (long)j["bytes_after"]!;
            Assert.That(ratio, Is.GreaterThan(smaller));
            var model = ModelReader.Load(output);
            if (mode == "int4") Assert.That(model.Graph.Nodes.Count(n => n.OpType == "MatMulNBits"), Is.EqualTo(3));
            var (_, heldOut) = TrainedModels.MnistSplit();
            double reference, quantized;
            using (var a = new OrtRunner(File.ReadAllBytes(TrainedModels.LeNetMnist))) reference = Evaluation.Classify(a, heldOut).Accuracy;
            using (var b = new OrtRunner(File.ReadAllBytes(output))) quantized = Evaluation.Classify(b, heldOut).Accuracy;
            TestContext.Out.WriteLine($"quantize --mode {mode}: {ratio:F2}× smaller, held-out {reference:P2} → {quantized:P2}");
            Assert.That(quantized, Is.GreaterThan(reference - 0.01));
        }
        finally { Directory.Delete(dir, true); }
    }
}

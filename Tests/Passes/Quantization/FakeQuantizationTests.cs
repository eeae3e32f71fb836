using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>
/// Fake quantization for QAT on LeNet-300-100 trained on real MNIST: the fake-quantized model computes exactly what
/// the model with int8-rounded weights computes (per output channel), keeps the held-out accuracy, and trains
/// through the straight-through estimator with `onnxrev train` (the float weights move, accuracy holds).
/// </summary>
public class FakeQuantizationTests
{
    [Test]
    public void WeightsAreRoundedPerOutputChannel()
    {
        var model = ModelReader.Load(TrainedModels.LeNetMnist);
        var reference = ModelReader.Load(TrainedModels.LeNetMnist);
        foreach (var v in reference.Graph.Initializers.Where(v => v.Name.EndsWith("weight", StringComparison.Ordinal)).ToList())
        {
            var t = v.Initializer!;
            var w = t.ToFloatArray();
            int rows = (int)t.Dims[0], cols = (int)t.Dims[1];   // Gemm transB = 1: [out, in], channel = row
            for (int r = 0; r < rows; r++)
            {
                float s = Enumerable.Range(0, cols).Max(c => Math.Abs(w[r * cols + c])) / 127;
                for (int c = 0; c < cols; c++) w[r * cols + c] = MathF.Round(w[r * cols + c] / s, MidpointRounding.ToEven) * s;
            }
            reference.Graph.ReplaceInitializer(v, Tensor.FromFloats(v.Name, t.Dims, w));
        }
        var pass = new FakeQuantization();
        pass.Run(model);
        Assert.That(pass.QuantizedNodes, Is.EqualTo(3));
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "QuantizeLinear"), Is.EqualTo(3));
        var (_, heldOut) = TrainedModels.MnistSplit();
        var batch = Feeds.Floats("x", new long[] { 64, 784 }, heldOut.Take(64).Features);
        // ORT's QuantizeLinear may round a weight lying within float rounding of a .5 tie the other way (one code, s/127 of
        // the channel's range), so the outputs agree to 1e-4 of their scale rather than bit for bit.
        var e = GradCheck.ToDoubles(OrtCheck.Run(ModelWriter.ToBytes(reference), batch)["logits"].AsTensor());
        var a = GradCheck.ToDoubles(OrtCheck.Run(ModelWriter.ToBytes(model), batch)["logits"].AsTensor());
        double scale = e.Max(Math.Abs), err = e.Zip(a, (p, q) => Math.Abs(p - q)).Max();
        TestContext.Out.WriteLine($"fake-quant vs int8-rounded weights: max |Δ| {err:G3} of scale {scale:G3}");
        Assert.That(err, Is.LessThanOrEqualTo(1e-4 * scale));
    }

    [Test]
    public void QatTrainsThroughTheStraightThroughEstimator()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string fq = Path.Combine(dir, "lenet_fq.onnx"), trained = Path.Combine(dir, "lenet_fq_qat.onnx");
            var r = CliRunner.Run("optimize", TrainedModels.LeNetMnist, "--passes", "fake-quant", "--fake-quant-activations", "-o", fq);
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            var (_, heldOut) = TrainedModels.MnistSplit();
            double floatAcc, fqAcc;
            using (var o = new OrtRunner(File.ReadAllBytes(TrainedModels.LeNetMnist))) floatAcc = Evaluation.Classify(o, heldOut).Accuracy;
            using (var o = new OrtRunner(File.ReadAllBytes(fq))) fqAcc = Evaluation.Classify(o, heldOut).Accuracy;
            var t = CliRunner.Run("train", fq, "--data", TrainedModels.MnistFolder, "--validation-split", "0.2", "--seed", "0", "--epochs", "1", "--batch", "64",
                "--lr", "1e-4", "-o", trained, "--json");
            Assert.That(t.ExitCode, Is.EqualTo(0), t.Stderr);
            double before = (double)t.Json["validation_accuracy_before"]!, after = (double)t.Json["validation_accuracy"]!;
            TestContext.Out.WriteLine($"LeNet MNIST held-out: float {floatAcc:P2}, fake-quant int8 (weights + activations) {fqAcc:P2}; one QAT epoch: {before:P2} → {after:P2}");
            Assert.That(fqAcc, Is.GreaterThan(floatAcc - 0.01));
            Assert.That(before, Is.EqualTo(fqAcc).Within(1e-12), "train evaluates the same held-out split");
            Assert.That(after, Is.GreaterThan(before - 0.005), "QAT keeps the accuracy");
            var w0 = ModelReader.Load(fq).Graph.Initializers.First(v => v.Name == "fc1.weight").Initializer!.ToFloatArray();
            var w1 = ModelReader.Load(trained).Graph.Initializers.First(v => v.Name == "fc1.weight").Initializer!.ToFloatArray();
            Assert.That(w0.Zip(w1, (a, b) => Math.Abs(a - b)).Max(), Is.GreaterThan(1e-5), "the float weights trained through Q→DQ");
            Assert.That(ModelReader.Load(trained).Graph.Nodes.Count(n => n.OpType == "QuantizeLinear"), Is.EqualTo(6), "fake quantization stays in the exported model");
        }
        finally { Directory.Delete(dir, true); }
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Training;

/// <summary>
/// LoRA on a frozen quantized base, end to end: LeNet-300-100 trained on real MNIST, quantized (int4 MatMulNBits
/// through `onnxrev optimize --passes int4`, or int8 weights read through DequantizeLinear), then adapted with
/// `onnxrev train --lora 8 --trainable all` to Fashion-MNIST (a shifted real task: same 28×28 inputs, 10 new
/// classes) — accuracy on Fashion-MNIST's test images before vs after. Only the adapters train; the quantized
/// codes come out of training unchanged and the exported model keeps its quantized products.
/// </summary>
public class QuantizedLoraTests
{
    private const int Samples = 6000;

    private static string Fashion => RepoPaths.Dataset("fashion-mnist");

    private static JsonResult TrainLora(string model, string output)
    {
        var r = CliRunner.Run("train", model, "--lora", "8", "--trainable", "all", "--data", Fashion, "--max-samples", Samples.ToString(),
            "--validation", Fashion, "--epochs", "3", "--batch", "64", "--lr", "3e-3", "--seed", "0", "-o", output, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var j = r.Json;
        return new JsonResult((double)j["validation_accuracy_before"]!, (double)j["validation_accuracy"]!, (long)j["parameters"]!);
    }

    private sealed record JsonResult(double Before, double After, long Parameters);

    /// <summary>The 6 000 test images `train --validation` evaluated on.</summary>
    private static Dataset FashionTest() => DatasetLoader.Load(Fashion, new DataOptions { Scale = 1f / 255, Split = "test", MaxSamples = Samples });

    [Test]
    public void LoraOnAnInt4BaseLearnsFashionMnistThroughTheCli()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string int4 = Path.Combine(dir, "lenet_int4.onnx"), adapted = Path.Combine(dir, "lenet_int4_lora.onnx");
            var q = CliRunner.Run("optimize", TrainedModels.LeNetMnist, "--passes", "int4", "-o", int4);
            Assert.That(q.ExitCode, Is.EqualTo(0), q.Stderr);
            var quantized = ModelReader.Load(int4);
            Assert.That(quantized.Graph.Nodes.Count(n => n.OpType == "MatMulNBits"), Is.EqualTo(3));

            // int4 keeps the MNIST accuracy (held-out digits of the LeNet split).
            var (_, heldOut) = TrainedModels.MnistSplit();
            double floatAcc, int4Acc;
            using (var r = new OrtRunner(File.ReadAllBytes(TrainedModels.LeNetMnist))) floatAcc = Evaluation.Classify(r, heldOut).Accuracy;
            using (var r = new OrtRunner(File.ReadAllBytes(int4))) int4Acc = Evaluation.Classify(r, heldOut).Accuracy;

            // Full training of the int4 model selects only the float biases: codes and their scales never train.
            Assert.That(TrainableSpec.Parameters(quantized).Select(v => v.Name), Is.EquivalentTo(new[] { "fc1.bias", "fc2.bias", "fc3.bias" }));

            var result = TrainLora(int4, adapted);
            TestContext.Out.WriteLine($"LeNet MNIST held-out: float {floatAcc:P2}, int4 {int4Acc:P2}; Fashion-MNIST test ({Samples}) with LoRA r=8 on the int4 base: {result.Before:P2} → {result.After:P2}, {result.Parameters} trained numbers");
            Assert.That(int4Acc, Is.GreaterThan(floatAcc - 0.01), "int4 keeps MNIST accuracy within 1 point");
            Assert.That(result.Parameters, Is.EqualTo(8 * (784 + 300) + 8 * (300 + 100) + 8 * (100 + 10)), "only the adapters train");
            Assert.That(result.Before, Is.LessThan(0.3), "a digit classifier does not know clothes");
            Assert.That(result.After, Is.GreaterThan(result.Before + 0.45), "LoRA on the frozen int4 base learns the new task");

            // The exported model: the same int4 codes, adapters as float branches, the accuracy train reported.
            var exported = ModelReader.Load(adapted);
            foreach (var b in quantized.Graph.Initializers.Where(v => v.Initializer!.DataType == (int)DT.Uint8))
                Assert.That(exported.Graph.Initializers.Single(v => v.Name == b.Name).Initializer!.ReadRawBytes(), Is.EqualTo(b.Initializer!.ReadRawBytes()), $"{b.Name} frozen");
            Assert.That(exported.Graph.Nodes.Count(n => n.OpType == "MatMulNBits"), Is.EqualTo(3));
            using var runner = new OrtRunner(File.ReadAllBytes(adapted));
            Assert.That(Evaluation.Classify(runner, FashionTest()).Accuracy, Is.EqualTo(result.After).Within(1e-9));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Gemm(x, DequantizeLinear(W_int8, per-row scale), b): LoRA attaches to the DQ-fed Gemm and trains through it.</summary>
    [Test]
    public void LoraOnAnInt8DequantizedBaseLearnsFashionMnist()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            var model = ModelReader.Load(TrainedModels.LeNetMnist);
            int converted = ToInt8Dequantized(model);
            Assert.That(converted, Is.EqualTo(3));
            string int8 = Path.Combine(dir, "lenet_int8dq.onnx"), adapted = Path.Combine(dir, "lenet_int8dq_lora.onnx");
            ModelWriter.Save(model, int8);
            var result = TrainLora(int8, adapted);
            TestContext.Out.WriteLine($"Fashion-MNIST test ({Samples}) with LoRA r=8 on the int8 DequantizeLinear base: {result.Before:P2} → {result.After:P2}");
            Assert.That(result.After, Is.GreaterThan(result.Before + 0.45));
            var exported = ModelReader.Load(adapted);
            Assert.That(exported.Graph.Nodes.Count(n => n.OpType == "DequantizeLinear"), Is.EqualTo(3), "the int8 base stays quantized");
            using var runner = new OrtRunner(File.ReadAllBytes(adapted));
            Assert.That(Evaluation.Classify(runner, FashionTest()).Accuracy, Is.EqualTo(result.After).Within(1e-9));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Each Gemm weight W [out, in] (transB = 1) becomes DequantizeLinear(W_int8, s) with s = max|W_row| / 127 per row (axis 0).</summary>
    private static int ToInt8Dequantized(Model model)
    {
        var g = model.Graph;
        int count = 0;
        foreach (var node in g.Nodes.Where(n => n.OpType == "Gemm").ToList())
        {
            var w = node.Inputs[1]!;
            var t = w.Initializer!;
            var data = t.ToFloatArray();
            int rows = (int)t.Dims[0], cols = (int)t.Dims[1];
            var codes = new byte[data.Length];
            var scales = new float[rows];
            for (int r = 0; r < rows; r++)
            {
                float amax = 0;
                for (int c = 0; c < cols; c++) amax = Math.Max(amax, Math.Abs(data[r * cols + c]));
                scales[r] = amax > 0 ? amax / 127 : 1;
                for (int c = 0; c < cols; c++) codes[r * cols + c] = unchecked((byte)(sbyte)Math.Clamp((int)MathF.Round(data[r * cols + c] / scales[r]), -127, 127));
            }
            var q = g.AddInitializer(new Value(w.Name + "_int8"), Tensor.FromRawBytes("", (int)DT.Int8, t.Dims, codes));
            var s = g.AddInitializer(new Value(w.Name + "_scale"), Tensor.FromFloats("", new long[] { rows }, scales));
            var deq = new Value(w.Name + "_dq");
            var dq = new Node("DequantizeLinear", new Value?[] { q, s }, new[] { deq }, name: w.Name + "_dq_node");
            dq.Attributes.Add(Attr.FromInt("axis", 0));
            g.InsertBefore(node, dq);
            node.SetInput(1, deq);
            g.RemoveInitializer(w);
            count++;
        }
        return count;
    }
}

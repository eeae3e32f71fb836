using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>
/// A real pretrained model fine-tuned: CNTK's ResNet18 (NuGet, frozen) with a linear head on real
/// Fashion-MNIST images, and the composed preprocess + ResNet18 + head model checked in ORT.
/// </summary>
public class FineTuneTests
{
    [Test]
    public void HeadOnFrozenResNet18LearnsFashionMnistAndTheComposedModelAgrees()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string output = Path.Combine(dir, "resnet18_fashion_mnist.onnx");
            var r = FineTuning.Run(new FineTuneOptions
            {
                PreprocessModel = PackageModels.Path(PackageModels.ResNetPreprocess),
                BackboneModel = PackageModels.Path(PackageModels.ResNet18),
                DataDir = RepoPaths.Dataset("fashion-mnist"),
                TrainCount = 200, TestCount = 100, CheckCount = 100, Epochs = 20, Threads = 1, Seed = 0, OutputPath = output,
                Log = TestContext.Progress.WriteLine,
            });
            Assert.That(r.MeanImageRange.Min, Is.GreaterThan(50f), "the preprocessing subtracts a mean image of pixel values 0–255");
            Assert.That(r.MeanImageRange.Max, Is.LessThan(255f));
            Assert.That(r.Before.Accuracy, Is.LessThan(0.3), "a random head is near chance (10 classes)");
            Assert.That(r.After.Accuracy, Is.GreaterThan(0.6), "the trained head is far above chance");
            Assert.That(r.After.Loss, Is.LessThan(r.Before.Loss));

            Assert.That(r.ComposedCheck.Samples, Is.EqualTo(100));
            Assert.That(r.ComposedCheck.Accuracy, Is.EqualTo(r.HeadCheck.Accuracy));
            Assert.That(r.CheckAgreement, Is.EqualTo(100));
            Assert.That(r.CheckMaxAbsLogitDiff, Is.LessThan(1e-3));

            var composed = ModelReader.Load(output);
            Assert.That(composed.OpsetVersion(""), Is.EqualTo(8));
            Assert.That(composed.Graph.Inputs.Where(v => v.Initializer is null).Select(v => v.Name), Is.EqualTo(new[] { "OriginalInput" }));
            Assert.That(composed.Graph.Outputs.Select(v => v.Name), Is.EqualTo(new[] { "logits" }));
            Assert.That(r.Bytes, Is.GreaterThan(60_000_000), "the ResNet18 weights are inside");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void BilinearUpscaleMatchesHalfPixelInterpolation()
    {
        // PyTorch: F.interpolate(torch.tensor([[[[0.,1.],[2.,3.]]]]), size=4, mode="bilinear", align_corners=False)
        var expected = new float[] { 0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3 };
        var actual = new float[16];
        ImageTransforms.ResizeBilinear(new float[] { 0, 1, 2, 3 }, 2, 2, actual, 4, 4);
        Assert.That(actual, Is.EqualTo(expected).Within(1e-6f));
        var rgb = new float[3 * 16];
        ImageTransforms.GreyToChannels(new float[] { 0, 1, 2, 3 }, 2, 2, rgb, 4, 255f);
        for (int c = 0; c < 3; c++)
            Assert.That(rgb.AsSpan(c * 16, 16).ToArray(), Is.EqualTo(expected.Select(v => v * 255f).ToArray()).Within(1e-3f));
    }

    [Test]
    public void ComposingAModelWithItselfKeepsNamesApartAndComputesTheChain()
    {
        var head = ModelZoo.LinearClassifier(4, 4, seed: 1);
        var header = new Schema.ModelProto { IrVersion = 8 };
        header.OpsetImport.Add(new Schema.OperatorSetIdProto { Domain = "", Version = 17 });
        var m = new Model(new Graph("twice"), header);
        var x = m.Graph.AddInput(new Value("x", ModelComposer.FloatTensor(2, 4)));
        var h = ModelComposer.Inline(m, head, "a/", new Dictionary<string, Value> { ["x"] = x })[0];
        var y = ModelComposer.Inline(m, head, "a/", new Dictionary<string, Value> { ["x"] = h })[0];
        m.Graph.Outputs.Add(y);
        var names = m.Graph.Nodes.SelectMany(n => n.Outputs).Select(v => v.Name).Concat(m.Graph.Initializers.Select(v => v.Name)).ToList();
        Assert.That(names, Is.Unique);
        Assert.That(m.Graph.Initializers, Has.Count.EqualTo(4));

        var w = head.Graph.Initializers.First(v => v.Name == "fc.weight").Initializer!.ToFloatArray();
        var b = head.Graph.Initializers.First(v => v.Name == "fc.bias").Initializer!.ToFloatArray();
        float[] Linear(float[] v) => Enumerable.Range(0, 4).Select(o => b[o] + Enumerable.Range(0, 4).Sum(i => w[o * 4 + i] * v[i])).ToArray();
        var input = new float[] { 1, -2, 0.5f, 3, 0, 1, 2, -1 };
        using var runner = new OrtRunner(ModelWriter.ToBytes(m));
        var output = runner.Run(new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(Tensor.FromFloats("x", new long[] { 2, 4 }, input).Proto) })[y.Name];
        var expected = Linear(Linear(input[..4])).Concat(Linear(Linear(input[4..]))).ToArray();
        Assert.That(new Tensor(output.AsTensor()).ToFloatArray(), Is.EqualTo(expected).Within(1e-5f));
    }

    [Test]
    public void AnOpWhoseMeaningMayDifferAcrossOpsetsIsRefused()
    {
        var source = ModelZoo.ResidualMlp(depth: 1, width: 8, inputs: 4);   // LayerNormalization (opset 17)
        var header = new Schema.ModelProto { IrVersion = 4 };
        header.OpsetImport.Add(new Schema.OperatorSetIdProto { Domain = "", Version = 8 });
        var m = new Model(new Graph("old"), header);
        var x = m.Graph.AddInput(new Value("x", ModelComposer.FloatTensor(1, 4)));
        var e = Assert.Throws<OnnxRevException>(() => ModelComposer.Inline(m, source, "s/", new Dictionary<string, Value> { ["x"] = x }))!;
        Assert.That(e.Message, Does.Contain("LayerNormalization").And.Contain("opset 8"));
    }
}

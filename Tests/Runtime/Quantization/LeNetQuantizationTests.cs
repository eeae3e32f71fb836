using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Quantization;

/// <summary>
/// Acceptance: LeNet-300-100 trained on real MNIST, quantized to INT8 dynamically and statically (calibrated on 1 000
/// training digits), keeps held-out accuracy within 0.5 points of fp32 at a file at least 3.5× smaller.
/// </summary>
public class LeNetQuantizationTests
{
    [TestCase(Int8Mode.Dynamic, CalibrationMethod.MinMax)]
    [TestCase(Int8Mode.Static, CalibrationMethod.MinMax)]
    [TestCase(Int8Mode.Static, CalibrationMethod.Percentile)]
    [TestCase(Int8Mode.Static, CalibrationMethod.Entropy)]
    public void Int8KeepsHeldOutAccuracyWithinHalfAPointAtAQuarterOfTheSize(Int8Mode mode, CalibrationMethod method)
    {
        string path = TrainedModels.LeNetMnist;
        var (train, heldOut) = TrainedModels.MnistSplit();
        var model = ModelReader.Load(path);
        var quantizer = new Int8Quantizer(model, mode, new QuantizationOptions { PerChannel = true }, train.Take(1000), new CalibrationOptions { Method = method });
        var result = quantizer.Quantize();
        Assert.That(result.QuantizedNodes, Has.Count.EqualTo(3), "all three Gemm layers");
        string dir = RepoPaths.NewTempDir();
        try
        {
            string outPath = Path.Combine(dir, "lenet_int8.onnx");
            ModelWriter.Save(result.Model, outPath);
            double before, after;
            using (var r = new OrtRunner(path)) before = Evaluation.Classify(r, heldOut).Accuracy;
            using (var r = new OrtRunner(outPath)) after = Evaluation.Classify(r, heldOut).Accuracy;
            double ratio = (double)new FileInfo(path).Length / new FileInfo(outPath).Length;
            TestContext.Out.WriteLine($"{mode} {method}: held-out accuracy {before:P2} → {after:P2}, file {new FileInfo(path).Length} → {new FileInfo(outPath).Length} bytes ({ratio:F2}×)");
            Assert.That(before, Is.GreaterThan(0.9), "the trained float model");
            Assert.That(Math.Abs(after - before), Is.LessThanOrEqualTo(0.005), "accuracy within 0.5 points");
            Assert.That(ratio, Is.GreaterThanOrEqualTo(3.5), "file at least 3.5× smaller");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void AccuracyAwareModeKeepsTheMostSensitiveLayersFloatUntilTheFloorIsMet()
    {
        var (train, heldOut) = TrainedModels.MnistSplit();
        var model = ModelReader.Load(TrainedModels.LeNetMnist);
        // Deliberately harsh calibration (clip at the 70th percentile of |x|) so that full quantization loses accuracy.
        var quantizer = new Int8Quantizer(model, Int8Mode.Static, new QuantizationOptions { PerChannel = true }, train.Take(500),
            new CalibrationOptions { Method = CalibrationMethod.Percentile, Percentile = 70 });
        var eval = heldOut.Take(1000);
        var easy = Sensitivity.AccuracyAware(quantizer, eval, 0.1);
        Assert.That(easy.KeptFloat, Is.Empty, "a floor the quantized model meets keeps nothing float");
        double floor = easy.FloatAccuracy - 0.01;
        Assert.That(easy.FullyQuantizedAccuracy, Is.LessThan(floor), "the harsh calibration must cost more than a point for this test to mean anything");
        var hard = Sensitivity.AccuracyAware(quantizer, eval, floor);
        TestContext.Out.WriteLine($"float {hard.FloatAccuracy:P2}, all quantized {hard.FullyQuantizedAccuracy:P2}, floor {floor:P2}: kept float " +
            $"{string.Join(",", hard.KeptFloat)} → {hard.Accuracy:P2}; sensitivities " + string.Join(", ", hard.Sensitivities.Select(s => $"{s.Node}={s.OutputMse:G3}")));
        Assert.That(hard.KeptFloat, Is.Not.Empty);
        Assert.That(hard.KeptFloat, Has.Count.LessThan(3), "some layer stays quantized");
        Assert.That(hard.Accuracy, Is.GreaterThanOrEqualTo(floor));
        Assert.That(hard.Sensitivities, Has.Count.EqualTo(3));
        Assert.That(hard.Sensitivities.Select(s => s.OutputMse), Is.Ordered.Descending);
        Assert.That(hard.KeptFloat, Is.EqualTo(hard.Sensitivities.Take(hard.KeptFloat.Count).Select(s => s.Node)), "most sensitive first");
        Assert.That(hard.Result.QuantizedNodes, Has.Count.EqualTo(3 - hard.KeptFloat.Count));
    }
}

using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Tests.Passes.Quantization;

namespace OnnxRev.Tests.Runtime.Quantization;

public class CalibratorTests
{
    [Test]
    public void MinMaxSeesIntermediateTensorsAcrossBatches()
    {
        // y = x·W; the calibrated range of the MatMul output must equal the extremes over all rows, whatever the batching.
        var model = QuantTestModels.MatMul(1, 16, 8);
        var w = model.Graph.Initializers[0].Initializer!.ToFloatArray();
        const int rows = 37;
        var x = QuantTestModels.Random(rows * 16, 4, 2f);
        var y = new float[rows * 8];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < 8; c++)
            {
                double s = 0;
                for (int k = 0; k < 16; k++) s += x[r * 16 + k] * w[k * 8 + c];
                y[r * 8 + c] = (float)s;
            }
        model.Graph.Inputs[0].Type = Support.ModelFactory.FloatType(-1, 16);
        model.Graph.Inputs[0].Type!.TensorType.Shape.Dim[0].ClearDimValue();
        model.Graph.Inputs[0].Type!.TensorType.Shape.Dim[0].DimParam = "n";
        model.Graph.Outputs[0].Type = null;
        var data = new Dataset(x, new long[rows], new[] { 16 }, 1, "random");
        var ranges = Calibrator.Collect(model, new[] { "x", "y" }, data, new CalibrationOptions { BatchSize = 5 });
        Assert.That(ranges["x"].Min, Is.EqualTo(x.Min()));
        Assert.That(ranges["x"].Max, Is.EqualTo(x.Max()));
        Assert.That(ranges["y"].Min, Is.EqualTo(y.Min()).Within(1e-4));
        Assert.That(ranges["y"].Max, Is.EqualTo(y.Max()).Within(1e-4));
    }

    [Test]
    public void PercentileAndEntropyClipRareOutliers()
    {
        // 100 000 values ~ N(0,1) (|x| histogram) plus ten outliers at 50: min-max would spend the range on them.
        var rng = new Random(3);
        var hist = new double[2048];
        double width = 50.0 / 2048;
        for (int i = 0; i < 100_000; i++)
        {
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            hist[Math.Min(2047, (int)(Math.Abs(g) / width))]++;
        }
        hist[2047] += 10;
        double p = HistogramThresholds.Percentile(hist, width, 99.9);
        double e = HistogramThresholds.Entropy(hist, width);
        TestContext.Out.WriteLine($"percentile 99.9 → {p:F3}, entropy → {e:F3}");
        Assert.That(p, Is.InRange(3.1, 3.5), "99.9 % of |N(0,1)| lies below ≈3.29");
        Assert.That(e, Is.InRange(2.0, 10.0), "KL keeps the bulk and drops the outliers");
        Assert.That(HistogramThresholds.Percentile(hist, width, 100), Is.EqualTo(50).Within(1e-9));
    }

    [Test]
    public void EmptyCalibrationSetIsAClearError()
    {
        var model = QuantTestModels.MatMul(1, 4, 2);
        var data = new Dataset(Array.Empty<float>(), Array.Empty<long>(), new[] { 4 }, 1, "empty");
        Assert.Throws<OnnxRevException>(() => Calibrator.Collect(model, new[] { "x" }, data));
    }
}

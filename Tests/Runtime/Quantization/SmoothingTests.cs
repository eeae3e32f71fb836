using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Serialization;
using OnnxRev.Tests.Passes.Quantization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Quantization;

/// <summary>
/// <see cref="ChannelStatistics"/> and <see cref="Int8Quantizer.Smooth"/>: the statistics are the per-channel max and
/// mean of |x| over every row fed, and smoothing leaves the prepared float model computing the same outputs (float
/// rounding only, 1e-5 absolute + relative) while the weight absorbs s = max|x|^α / max|W|^(1−α).
/// </summary>
public class SmoothingTests
{
    [Test]
    public void StatisticsAndSmoothingAreExact()
    {
        const int rows = 4, k = 6, n = 3;
        var model = QuantTestModels.MatMul(rows, k, n);
        var w = model.Graph.Initializers[0].Initializer!.ToFloatArray();
        var x1 = QuantTestModels.Random(rows * k, 5, 2f);
        var x2 = QuantTestModels.Random(rows * k, 6, 2f);
        for (int r = 0; r < rows; r++) x2[r * k + 1] *= 40;                  // an outlier channel
        var feeds = new[] { x1, x2 }.Select(x => (IReadOnlyDictionary<string, DataValue>)QuantTestModels.Feed("x", new long[] { rows, k }, x)).ToList();
        var stats = ChannelStatistics.Collect(model, feeds)["x"];
        for (int j = 0; j < k; j++)
        {
            var column = Enumerable.Range(0, 2 * rows).Select(i => Math.Abs((i < rows ? x1 : x2)[(i % rows) * k + j])).ToArray();
            Assert.That(stats.MaxAbs[j], Is.EqualTo(column.Max()));
            Assert.That(stats.MeanAbs[j], Is.EqualTo(column.Average()).Within(1e-5));
        }
        Assert.That(stats.Rows, Is.EqualTo(2 * rows));

        var quantizer = new Int8Quantizer(model, Int8Mode.Dynamic, new QuantizationOptions());
        var before = quantizer.PreparedFloat;
        Assert.That(quantizer.Smooth(feeds, 0.5), Is.EqualTo(new[] { "x" }));
        var smoothed = ModelReader.Load(quantizer.PreparedFloat);
        var scaledW = smoothed.Graph.Initializers.Single(i => i.Initializer!.Dims.Count == 2).Initializer!.ToFloatArray();
        for (int j = 0; j < k; j++)
        {
            double wmax = Enumerable.Range(0, n).Max(c => Math.Abs(w[j * n + c]));
            double s = Math.Sqrt(stats.MaxAbs[j]) / Math.Sqrt(wmax);
            Assert.That(scaledW[j * n], Is.EqualTo(w[j * n] * s).Within(1e-5 * Math.Abs(w[j * n] * s) + 1e-7), $"row {j} scaled by s");
        }
        var expected = OrtCheck.Run(before, feeds[1]);
        var actual = OrtCheck.Run(quantizer.PreparedFloat, feeds[1]);
        var cmp = OutputComparison.Compare(actual, expected, 1e-5, 1e-5);
        Assert.That(cmp.Ok, Is.True, cmp.ToString());
        Assert.Throws<OnnxRevException>(() => quantizer.Smooth(feeds, 1.5));
    }
}

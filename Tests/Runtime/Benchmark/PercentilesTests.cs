using OnnxRev.Runtime.Benchmark;

namespace OnnxRev.Tests.Runtime.Benchmark;

public class PercentilesTests
{
    [Test]
    public void InterpolatesBetweenClosestRanks()
    {
        var s = new double[] { 5, 1, 4, 2, 3 };
        Assert.That(Percentiles.Median(s), Is.EqualTo(3));
        Assert.That(Percentiles.Of(s, 0), Is.EqualTo(1));
        Assert.That(Percentiles.Of(s, 100), Is.EqualTo(5));
        Assert.That(Percentiles.Of(s, 90), Is.EqualTo(4.6).Within(1e-12));
        Assert.That(Percentiles.Median(new double[] { 1, 2 }), Is.EqualTo(1.5));
        Assert.Throws<ArgumentException>(() => Percentiles.Median(Array.Empty<double>()));
    }
}

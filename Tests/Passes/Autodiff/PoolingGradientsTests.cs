using OnnxRev.Tests.Support;
using A = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>
/// Finite-difference checks of the pooling rules. MaxPool runs in float64 (ONNX Runtime has a double
/// kernel). AveragePool, GlobalAveragePool and GlobalMaxPool have float32 CPU kernels only
/// ("Could not find an implementation" for doubles), so they run in float32 with eps = 1e-2 and
/// rtol = atol = 1e-3: the ops are (piecewise) linear, so only float32 rounding of the loss divided
/// by 2·eps remains. Max-pool inputs are distinct values spaced further apart than 2·eps, so no
/// perturbation moves an argmax.
/// </summary>
public class PoolingGradientsTests
{
    private static A Ints(string name, params long[] v) => A.FromInts(name, v);

    /// <summary>A shuffled ramp: distinct values, at least <paramref name="spacing"/> apart.</summary>
    private static double[] Distinct(long[] shape, double spacing, int seed = 7)
    {
        int n = (int)shape.Aggregate(1L, (a, b) => a * b);
        var rng = new Random(seed);
        return Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Select(i => (i - n / 2.0) * spacing).ToArray();
    }

    private static void Max(long[] x, int opset = 17, params A[] attrs) =>
        new GradCheck { Op = "MaxPool", Opset = opset, Inputs = new[] { new GradInput(x, Values: Distinct(x, 0.01)) }, Attributes = attrs }.Run();

    private static void Avg(long[] x, params A[] attrs) =>
        new GradCheck { Op = "AveragePool", Inputs = new[] { new GradInput(x) }, Attributes = attrs, FloatType = 1, Eps = 1e-2, Rtol = 1e-3, Atol = 1e-3 }.Run();

    [Test]
    public void MaxPoolOverlappingWindows() => Max(new long[] { 2, 2, 6, 6 }, 17, Ints("kernel_shape", 3, 3), Ints("strides", 1, 1));

    [Test]
    public void MaxPoolStride2Padded() => Max(new long[] { 1, 3, 7, 6 }, 17, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 0));

    [Test]
    public void MaxPoolCeilMode() => Max(new long[] { 1, 2, 6, 7 }, 17, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), A.FromInt("ceil_mode", 1));

    [Test]
    public void MaxPoolDilated() => Max(new long[] { 1, 2, 7, 7 }, 17, Ints("kernel_shape", 2, 2), Ints("dilations", 2, 2));

    [Test]
    public void MaxPoolOneD() => Max(new long[] { 2, 3, 9 }, 17, Ints("kernel_shape", 3), Ints("strides", 2), Ints("pads", 1, 1));

    [Test]
    public void MaxPoolSameUpper() => Max(new long[] { 1, 2, 5, 5 }, 17, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), A.FromString("auto_pad", "SAME_UPPER"));

    [Test]
    public void MaxPoolOpset13WithoutOverlapUsesPlainScatter() => Max(new long[] { 1, 2, 6, 6 }, 13, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2));

    [Test]
    public void MaxPoolOpset13WithOverlapFailsNamingTheOpset()
    {
        var ex = Assert.Throws<OnnxRevException>(() => Max(new long[] { 1, 1, 5, 5 }, 13, Ints("kernel_shape", 3, 3), Ints("strides", 1, 1)));
        Assert.That(ex!.Message, Does.Contain("opset 16").And.Contain("opset 13"));
    }

    [Test]
    public void AveragePoolExcludingPads() => Avg(new long[] { 2, 2, 6, 5 }, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));

    [Test]
    public void AveragePoolIncludingPads() =>
        Avg(new long[] { 2, 2, 6, 5 }, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 0, 1, 2), A.FromInt("count_include_pad", 1));

    [Test]
    public void AveragePoolOverlappingUnpadded() => Avg(new long[] { 1, 3, 5, 5 }, Ints("kernel_shape", 3, 2), Ints("strides", 1, 1));

    [TestCase(0)]
    [TestCase(1)]
    public void AveragePoolCeilMode(int includePad) =>
        Avg(new long[] { 1, 2, 6, 7 }, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), A.FromInt("ceil_mode", 1), A.FromInt("count_include_pad", includePad));

    [Test]
    public void AveragePoolOneD() => Avg(new long[] { 2, 2, 9 }, Ints("kernel_shape", 4), Ints("strides", 3), Ints("pads", 2, 1));

    [Test]
    public void AveragePoolSameLower() => Avg(new long[] { 1, 2, 5, 6 }, Ints("kernel_shape", 2, 3), Ints("strides", 2, 2), A.FromString("auto_pad", "SAME_LOWER"));

    [Test]
    public void GlobalAveragePool([Values(3, 4)] int rank)
    {
        var shape = rank == 3 ? new long[] { 2, 3, 5 } : new long[] { 2, 3, 4, 5 };
        new GradCheck { Op = "GlobalAveragePool", Inputs = new[] { new GradInput(shape) }, FloatType = 1, Eps = 1e-2, Rtol = 1e-3, Atol = 1e-3 }.Run();
    }

    [Test]
    public void GlobalMaxPool([Values(3, 4)] int rank)
    {
        var shape = rank == 3 ? new long[] { 2, 3, 5 } : new long[] { 2, 3, 4, 5 };
        new GradCheck
        {
            Op = "GlobalMaxPool", Inputs = new[] { new GradInput(shape, Values: Distinct(shape, 0.05)) }, FloatType = 1, Eps = 1e-2, Rtol = 1e-3, Atol = 1e-3,
            MaxElements = 120,
        }.Run();
    }
}

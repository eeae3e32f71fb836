using OnnxRev.Tests.Support;
using A = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>
/// Finite-difference checks of the Conv rule (dX, dW, dB). ONNX Runtime's CPU provider has Conv and
/// ConvTranspose for float32 only (Conv(11) with doubles: "Could not find an implementation"), so
/// these run in float32. Conv is linear in each input, so a large step (1e-2) costs no truncation
/// error; what is left is float32 rounding of the loss (~1e-6 over these sizes) divided by 2·eps,
/// hence rtol = atol = 1e-3 — a wrong gradient is off by far more.
/// </summary>
public class ConvGradientsTests
{
    private static void Check(long[] x, long[] w, bool bias, params A[] attrs)
    {
        var inputs = new List<GradInput?> { new(x), new(w) };
        if (bias) inputs.Add(new GradInput(new[] { w[0] }));
        new GradCheck { Op = "Conv", Inputs = inputs, Attributes = attrs, FloatType = 1, Eps = 1e-2, Rtol = 1e-3, Atol = 1e-3 }.Run();
    }

    private static A Ints(string name, params long[] v) => A.FromInts(name, v);

    [Test]
    public void Plain2D() => Check(new long[] { 2, 3, 5, 6 }, new long[] { 4, 3, 3, 3 }, bias: true);

    [Test]
    public void NoBias() => Check(new long[] { 1, 2, 4, 4 }, new long[] { 3, 2, 2, 2 }, bias: false);

    [Test]
    public void Padded() => Check(new long[] { 2, 3, 5, 5 }, new long[] { 4, 3, 3, 3 }, bias: true, Ints("pads", 1, 1, 1, 1));

    [Test]
    public void AsymmetricPads() => Check(new long[] { 1, 2, 5, 6 }, new long[] { 3, 2, 3, 3 }, bias: true, Ints("pads", 0, 1, 2, 0));

    [Test]
    public void Stride2UnevenInput() => Check(new long[] { 1, 2, 7, 6 }, new long[] { 3, 2, 3, 3 }, bias: true, Ints("strides", 2, 2));

    [Test]
    public void Dilation2() => Check(new long[] { 1, 2, 7, 7 }, new long[] { 2, 2, 3, 2 }, bias: true, Ints("dilations", 2, 2));

    [Test]
    public void Groups2() => Check(new long[] { 2, 4, 5, 5 }, new long[] { 6, 2, 3, 3 }, bias: true, A.FromInt("group", 2), Ints("pads", 1, 1, 1, 1));

    [Test]
    public void Depthwise() => Check(new long[] { 2, 3, 6, 6 }, new long[] { 3, 1, 3, 3 }, bias: true, A.FromInt("group", 3), Ints("pads", 1, 1, 1, 1));

    [Test]
    public void DepthwiseMultiplier2Stride2() =>
        Check(new long[] { 1, 3, 7, 7 }, new long[] { 6, 1, 3, 3 }, bias: true, A.FromInt("group", 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));

    [Test]
    public void EverythingAtOnce() =>
        Check(new long[] { 2, 4, 9, 8 }, new long[] { 4, 2, 3, 2 }, bias: true, A.FromInt("group", 2), Ints("strides", 2, 3), Ints("dilations", 2, 1), Ints("pads", 1, 0, 2, 1));

    [Test]
    public void OneD() => Check(new long[] { 2, 2, 9 }, new long[] { 3, 2, 3 }, bias: true, Ints("strides", 2), Ints("pads", 1, 0));

    [Test]
    public void OneDGroupedDilated() => Check(new long[] { 1, 4, 10 }, new long[] { 4, 2, 2 }, bias: false, A.FromInt("group", 2), Ints("dilations", 3));

    [TestCase("SAME_UPPER")]
    [TestCase("SAME_LOWER")]
    [TestCase("VALID")]
    public void AutoPad(string mode) => Check(new long[] { 1, 2, 6, 7 }, new long[] { 2, 2, 4, 3 }, bias: true, A.FromString("auto_pad", mode), Ints("strides", 2, 2));

    [Test]
    public void OnlyWeightsTrainable() =>
        new GradCheck
        {
            Op = "Conv", FloatType = 1, Eps = 1e-2, Rtol = 1e-3, Atol = 1e-3,
            Inputs = new GradInput?[] { new(new long[] { 1, 2, 5, 5 }, Differentiable: false), new(new long[] { 2, 2, 3, 3 }) },
        }.Run();
}

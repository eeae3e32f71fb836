using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>
/// Float64 finite-difference checks of Softmax and LogSoftmax, with the coerced-2-D axis of opset
/// 11 (softmax over every axis from axis on) and the single axis of opset 13.
/// </summary>
public class SoftmaxGradientsTests
{
    [Test]
    public void AxisVariants([Values("Softmax", "LogSoftmax")] string op, [Values(11, 13)] int opset, [Values(null, 0, 1, 2, -1)] int? axis)
    {
        var attrs = axis is { } a ? new[] { Attr.FromInt("axis", a) } : System.Array.Empty<Attr>();
        new GradCheck { Op = op, Opset = opset, Inputs = new[] { new GradInput(new long[] { 2, 3, 4 }) }, Attributes = attrs }.Run();
    }

    [TestCase("Softmax")]
    [TestCase("LogSoftmax")]
    public void TwoD(string op) => new GradCheck { Op = op, Inputs = new[] { new GradInput(new long[] { 3, 5 }) } }.Run();
}

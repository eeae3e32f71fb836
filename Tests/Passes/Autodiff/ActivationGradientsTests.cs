using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>Float64 finite-difference checks of the activation rules.</summary>
public class ActivationGradientsTests
{
    private static readonly long[] S = { 3, 4 };

    /// <summary>n values spread over [lo, hi], nudged off the grid so none lands on a kink.</summary>
    private static double[] Spread(int n, double lo, double hi) =>
        Enumerable.Range(0, n).Select(i => lo + (hi - lo) * (i + 0.37) / n).ToArray();

    private static GradCheck Unary(string op, double[]? values = null, int opset = 17, params Attr[] attrs) =>
        new() { Op = op, Inputs = new[] { new GradInput(S, Values: values) }, Attributes = attrs, Opset = opset };

    /// <summary>
    /// For ops ONNX Runtime implements in float32 only (it reports "Could not find an implementation"
    /// for double): the check runs in float32, where the loss carries ~1e-7 relative rounding, so
    /// the step is 1e-3 (rounding error ≈ 1e-7·|loss|/2e-3 ≈ 1e-4, truncation ≈ 1e-6·f‴) and the
    /// tolerance is rtol 1e-2, atol 1e-3 instead of the float64 1e-6 / 1e-8.
    /// </summary>
    private static GradCheck Float32(string op, double[]? values, int opset, params Attr[] attrs) =>
        new() { Op = op, Inputs = new[] { new GradInput(S, Values: values) }, Attributes = attrs, Opset = opset, FloatType = 1, Eps = 1e-3, Rtol = 1e-2, Atol = 1e-3 };

    [TestCase("Relu")]
    [TestCase("Sigmoid")]
    [TestCase("Tanh")]
    [TestCase("Exp")]
    [TestCase("Abs")]
    [TestCase("LeakyRelu")]
    public void OnSymmetricRange(string op) => Unary(op).Run();

    [TestCase("Log")]
    [TestCase("Sqrt")]
    [TestCase("Reciprocal")]
    public void OnPositiveRange(string op) => Unary(op, Spread(12, 0.3, 3)).Run();

    [Test]
    public void ReciprocalOfNegatives() => Unary("Reciprocal", Spread(12, -3, -0.3)).Run();

    [Test]
    public void LeakyReluAlpha() => Unary("LeakyRelu", Spread(12, -2, 2), 17, Attr.FromFloat("alpha", 0.3f)).Run();

    // The following ops have float32-only kernels in ONNX Runtime (Softplus, Elu, HardSigmoid, Erf;
    // HardSwish and Gelu "none" are expanded into HardSigmoid / Erf): checked in float32, see Float32.
    [Test]
    public void Softplus() => Float32("Softplus", Spread(12, -2, 2), 17).Run();

    [Test]
    public void Elu() => Float32("Elu", Spread(12, -2, 2), 17).Run();

    [Test]
    public void EluAlpha() => Float32("Elu", Spread(12, -2, 2), 17, Attr.FromFloat("alpha", 0.7f)).Run();

    [Test]
    public void HardSigmoidAllRegions() => Float32("HardSigmoid", Spread(12, -6, 6), 17).Run();

    [Test]
    public void HardSigmoidAlphaBeta() =>
        Float32("HardSigmoid", Spread(12, -4, 4), 17, Attr.FromFloat("alpha", 0.5f), Attr.FromFloat("beta", 0.3f)).Run();

    [Test]
    public void HardSwishAllRegions() => Float32("HardSwish", Spread(12, -5, 5), 14).Run();

    [Test]
    public void Erf() => Float32("Erf", Spread(12, -2, 2), 17).Run();

    [Test]
    public void GeluExact() => Float32("Gelu", Spread(12, -3, 3), 20, Attr.FromString("approximate", "none")).Run();

    [Test]
    public void GeluTanh() => Unary("Gelu", Spread(12, -3, 3), 20, Attr.FromString("approximate", "tanh")).Run();

    [Test]
    public void PowBothInputsWithBroadcast() => new GradCheck
    {
        Op = "Pow",
        Inputs = new[] { new GradInput(new long[] { 2, 3 }, Values: Spread(6, 0.5, 2)), new GradInput(new long[] { 3 }, Values: new[] { 0.5, 1.5, 2.5 }) },
    }.Run();

    [Test]
    public void PowNegativeBaseIntegerExponent() => new GradCheck
    {
        // Only the base is differentiable (ln of a negative base is undefined).
        Op = "Pow",
        Inputs = new[] { new GradInput(S, Values: Spread(12, -2, 2)), new GradInput(System.Array.Empty<long>(), Differentiable: false, Values: new[] { 3.0 }) },
    }.Run();

    [Test]
    public void PowInt64Exponent() => new GradCheck
    {
        Op = "Pow",
        Inputs = new[] { new GradInput(S), new GradInput(System.Array.Empty<long>(), Differentiable: false, Values: new[] { 2.0 }, ElemType: 7) },
    }.Run();

    [Test]
    public void ClipInputsMinAndMax() => new GradCheck
    {
        Op = "Clip",
        Opset = 13,
        Inputs = new[] { new GradInput(S, Values: Spread(12, -2, 2)), new GradInput(System.Array.Empty<long>(), Values: new[] { -0.9 }), new GradInput(System.Array.Empty<long>(), Values: new[] { 1.1 }) },
    }.Run();

    [Test]
    public void ClipOnlyMax() => new GradCheck
    {
        Op = "Clip",
        Opset = 12,
        Inputs = new GradInput?[] { new GradInput(S, Values: Spread(12, -2, 2)), null, new GradInput(System.Array.Empty<long>(), Values: new[] { 0.6 }) },
    }.Run();

    [Test]
    public void ClipConstantBounds() => new GradCheck
    {
        Op = "Clip",
        Inputs = new[]
        {
            new GradInput(S, Values: Spread(12, -2, 2)),
            new GradInput(System.Array.Empty<long>(), Differentiable: false, Values: new[] { -0.5 }),
            new GradInput(System.Array.Empty<long>(), Differentiable: false, Values: new[] { 0.8 }),
        },
    }.Run();

    [Test]
    public void ClipInputsOpset11() => new GradCheck
    {
        // Clip-11 has a float32-only kernel in ONNX Runtime (double from Clip-12): float32, see Float32.
        Op = "Clip",
        Opset = 11,
        Inputs = new GradInput?[] { new GradInput(S, Values: Spread(12, -2, 2)), new GradInput(System.Array.Empty<long>(), Values: new[] { -0.9 }), new GradInput(System.Array.Empty<long>(), Values: new[] { 0.6 }) },
        FloatType = 1, Eps = 1e-3, Rtol = 1e-2, Atol = 1e-3,
    }.Run();

    // Clip with min/max attributes (Clip-6, opsets 6–10); float32-only in ONNX Runtime. Opset 10
    // rather than 6 because the check's ReduceSum loss backpropagates through Expand (opset 8+).
    [Test]
    public void ClipAttributesOpset10() => Float32("Clip", Spread(12, -2, 2), 10, Attr.FromFloat("min", -0.5f), Attr.FromFloat("max", 0.75f)).Run();

    [Test]
    public void CastFloatToDouble() => new GradCheck
    {
        // The input is float32, so the step must be large enough to survive float32 rounding; the
        // loss is linear in X, so the large step costs nothing but that rounding (~1e-7 / 1e-2).
        Op = "Cast",
        Inputs = new[] { new GradInput(S, ElemType: 1) },
        Attributes = new[] { Attr.FromInt("to", 11) },
        Eps = 1e-2, Rtol = 1e-4, Atol = 1e-5,
    }.Run();

    [Test]
    public void CastDoubleToFloat() => new GradCheck
    {
        // The output, and so the loss, is float32: same reasoning as above.
        Op = "Cast",
        Inputs = new[] { new GradInput(S, ElemType: 11) },
        FloatType = 1,
        Attributes = new[] { Attr.FromInt("to", 1) },
        Eps = 1e-2, Rtol = 1e-4, Atol = 1e-5,
    }.Run();

    [Test]
    public void WhereBothBranchesBroadcast() => new GradCheck
    {
        Op = "Where",
        Inputs = new[]
        {
            new GradInput(new long[] { 2, 3 }, Differentiable: false, Values: new double[] { 1, 0, 1, 0, 0, 1 }, ElemType: 9),
            new GradInput(new long[] { 2, 3 }),
            new GradInput(new long[] { 3 }),
        },
    }.Run();

    [TestCase("Max")]
    [TestCase("Min")]
    public void SelectionOfThreeWithBroadcast(string op) => new GradCheck
    {
        Op = op,
        Inputs = new[] { new GradInput(new long[] { 2, 3 }), new GradInput(new long[] { 3 }), new GradInput(new long[] { 2, 1 }) },
    }.Run();

    [TestCase("Max")]
    [TestCase("Min")]
    public void SelectionOfTwo(string op) => new GradCheck { Op = op, Inputs = new[] { new GradInput(S), new GradInput(S) } }.Run();
}

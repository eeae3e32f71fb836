using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>Float64 finite-difference checks of MatMul (1-D promotion, batch broadcasting) and Gemm (every attribute and C shape).</summary>
public class MatMulGradientsTests
{
    [TestCase(new long[] { 3, 4 }, new long[] { 4, 5 })]
    [TestCase(new long[] { 4 }, new long[] { 4, 5 })]
    [TestCase(new long[] { 3, 4 }, new long[] { 4 })]
    [TestCase(new long[] { 4 }, new long[] { 4 })]
    [TestCase(new long[] { 4 }, new long[] { 2, 4, 5 })]
    [TestCase(new long[] { 2, 3, 4 }, new long[] { 4 })]
    [TestCase(new long[] { 2, 3, 4 }, new long[] { 4, 5 })]
    [TestCase(new long[] { 3, 4 }, new long[] { 2, 4, 5 })]
    [TestCase(new long[] { 2, 3, 4 }, new long[] { 2, 4, 5 })]
    [TestCase(new long[] { 2, 1, 3, 4 }, new long[] { 5, 4, 2 })]
    [TestCase(new long[] { 1, 3, 3, 4 }, new long[] { 2, 1, 4, 2 })]
    public void MatMul(long[] a, long[] b) => new GradCheck { Op = "MatMul", Inputs = new[] { new GradInput(a), new GradInput(b) } }.Run();

    [Test]
    public void MatMulOnlyB() =>
        new GradCheck { Op = "MatMul", Inputs = new[] { new GradInput(new long[] { 2, 1, 3, 4 }, Differentiable: false), new GradInput(new long[] { 5, 4, 2 }) } }.Run();

    private const int M = 3, K = 4, N = 5;

    private static readonly long[]?[] CShapes = { null, new long[] { M, N }, new long[] { N }, new long[] { 1, N }, new long[] { M, 1 }, System.Array.Empty<long>() };

    [Test]
    public void Gemm([Values(0, 1)] int transA, [Values(0, 1)] int transB, [Values(1.0, 0.5)] double alpha, [Values(1.0, -2.0)] double beta, [Range(0, 5)] int c)
    {
        var a = transA == 1 ? new long[] { K, M } : new long[] { M, K };
        var b = transB == 1 ? new long[] { N, K } : new long[] { K, N };
        var inputs = new List<GradInput?> { new(a), new(b) };
        if (CShapes[c] is { } cs) inputs.Add(new GradInput(cs));
        var attrs = new List<Attr> { Attr.FromInt("transA", transA), Attr.FromInt("transB", transB) };
        if (alpha != 1) attrs.Add(Attr.FromFloat("alpha", (float)alpha));
        if (beta != 1) attrs.Add(Attr.FromFloat("beta", (float)beta));
        new GradCheck { Op = "Gemm", Inputs = inputs, Attributes = attrs }.Run();
    }

    [Test]
    public void GemmOpset9WithRequiredC() => new GradCheck
    {
        Op = "Gemm",
        Opset = 9,
        Inputs = new[] { new GradInput(new long[] { M, K }), new GradInput(new long[] { N, K }), new GradInput(new long[] { N }) },
        Attributes = new[] { Attr.FromInt("transB", 1), Attr.FromFloat("alpha", 0.25f) },
    }.Run();
}

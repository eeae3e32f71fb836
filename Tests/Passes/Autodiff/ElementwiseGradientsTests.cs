using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>Float64 finite-difference checks of the elementwise rules, broadcasting included.</summary>
public class ElementwiseGradientsTests
{
    private static readonly long[][][] Shapes =
    {
        new[] { new long[] { 2, 3 }, new long[] { 2, 3 } },
        new[] { new long[] { 2, 3 }, new long[] { 3 } },        // trailing broadcast
        new[] { new long[] { 4, 1, 3 }, new long[] { 2, 1 } },  // both sides broadcast
        new[] { new long[] { 2, 3 }, System.Array.Empty<long>() }, // scalar
    };

    [Test]
    public void Binary([Values("Add", "Sub", "Mul", "Div")] string op, [Range(0, 3)] int shapes)
    {
        var a = new GradInput(Shapes[shapes][0]);
        // Keep divisors away from zero.
        var bShape = Shapes[shapes][1];
        long n = bShape.Aggregate(1L, (x, y) => x * y);
        var b = op == "Div" ? new GradInput(bShape, Values: Enumerable.Range(0, (int)n).Select(i => 1.5 + 0.25 * i).ToArray()) : new GradInput(bShape);
        new GradCheck { Op = op, Inputs = new[] { a, b } }.Run();
    }

    [TestCase("Neg")]
    [TestCase("Identity")]
    public void Unary(string op) => new GradCheck { Op = op, Inputs = new[] { new GradInput(new long[] { 3, 4 }) } }.Run();

    [Test]
    public void OnlyTheRequestedInputGetsAGradient()
    {
        // The constant side is not differentiable: the check must still pass for the other one.
        new GradCheck { Op = "Mul", Inputs = new[] { new GradInput(new long[] { 2, 3 }), new GradInput(new long[] { 2, 3 }, Differentiable: false) } }.Run();
    }
}

/// <summary>Float64 finite-difference checks of the reduction rules.</summary>
public class ReductionGradientsTests
{
    [TestCase("ReduceSum", 1, new long[] { 1 })]
    [TestCase("ReduceSum", 0, new long[] { 0, 2 })]
    [TestCase("ReduceSum", 0, new long[] { -1 })]
    [TestCase("ReduceMean", 1, new long[] { 1 })]
    [TestCase("ReduceMean", 0, new long[] { 0, 2 })]
    public void AxesAsInput(string op, int keepdims, long[] axes)
    {
        var inputs = new List<GradInput?> { new(new long[] { 2, 3, 4 }) };
        var attrs = new List<OnnxRev.Ir.Attribute> { OnnxRev.Ir.Attribute.FromInt("keepdims", keepdims) };
        if (op == "ReduceSum") inputs.Add(new GradInput(new long[] { axes.Length }, Differentiable: false, Values: axes.Select(a => (double)a).ToArray(), ElemType: 7));
        else attrs.Add(OnnxRev.Ir.Attribute.FromInts("axes", axes));
        new GradCheck { Op = op, Inputs = inputs, Attributes = attrs }.Run();
    }

    [Test]
    public void ReduceAll() => new GradCheck { Op = "ReduceSum", Inputs = new[] { new GradInput(new long[] { 3, 2 }) }, Attributes = new[] { OnnxRev.Ir.Attribute.FromInt("keepdims", 0) } }.Run();

    [Test]
    public void SumOfThreeWithBroadcast() =>
        new GradCheck { Op = "Sum", Inputs = new[] { new GradInput(new long[] { 2, 3 }), new GradInput(new long[] { 3 }), new GradInput(new long[] { 2, 1 }) } }.Run();
}

using OnnxRev.Tests.Support;
using A = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>Float64 finite-difference checks of Slice, Gather and GatherElements.</summary>
public class IndexingGradientsTests
{
    private static GradInput Int64s(params long[] v) => ShapeGradientsTests.Int64s(v);

    private static GradInput Indices(long[] shape, params long[] v) => new(shape, Differentiable: false, Values: v.Select(x => (double)x).ToArray(), ElemType: 7);

    private static void Check(string op, IReadOnlyList<GradInput?> inputs, int opset = 17, params A[] attrs) =>
        new GradCheck { Op = op, Inputs = inputs, Attributes = attrs, Opset = opset }.Run();

    [Test]
    public void SliceStep1NegativeStart() => Check("Slice", new[] { new GradInput(new long[] { 4, 6 }), Int64s(1, -4), Int64s(3, 100), Int64s(0, 1) });

    [Test]
    public void SliceStep2() => Check("Slice", new[] { new GradInput(new long[] { 3, 7 }), Int64s(1), Int64s(7), Int64s(1), Int64s(2) });

    [Test]
    public void SliceStepMinus1Reverses() => Check("Slice", new[] { new GradInput(new long[] { 3, 5 }), Int64s(-1), Int64s(long.MinValue), Int64s(1), Int64s(-1) });

    [Test]
    public void SliceStepMinus2Partial() => Check("Slice", new[] { new GradInput(new long[] { 8, 2 }), Int64s(6), Int64s(0), Int64s(0), Int64s(-2) });

    [Test]
    public void SliceMixedAxes() =>
        Check("Slice", new[] { new GradInput(new long[] { 5, 4, 6 }), Int64s(0, 4, 1), Int64s(5, 0, -1), Int64s(2, 0, 1), Int64s(3, -2, 1) });

    [Test]
    public void SliceAttributesOpset9() =>
        Check("Slice", new[] { new GradInput(new long[] { 4, 5 }) }, opset: 9,
            attrs: new[] { A.FromInts("starts", new long[] { 1, 0 }), A.FromInts("ends", new long[] { -1, 3 }), A.FromInts("axes", new long[] { 0, 1 }) });

    [Test]
    public void GatherEmbeddingRepeatedAndNegativeIndices([Values(13, 17)] int opset) =>
        Check("Gather", new[] { new GradInput(new long[] { 5, 4 }), Indices(new long[] { 2, 3 }, 0, 2, 2, -1, 0, 4) }, opset);

    [Test]
    public void GatherInnerAxis([Values(13, 17)] int opset) =>
        Check("Gather", new[] { new GradInput(new long[] { 3, 5, 2 }), Indices(new long[] { 3 }, 4, -2, 4) }, opset, A.FromInt("axis", 1));

    [Test]
    public void GatherLastAxisMatrixIndices() =>
        Check("Gather", new[] { new GradInput(new long[] { 2, 3, 4 }), Indices(new long[] { 2, 2 }, 3, 0, -1, 1) }, attrs: A.FromInt("axis", -1));

    [Test]
    public void GatherScalarIndex([Values(13, 17)] int opset) =>
        Check("Gather", new[] { new GradInput(new long[] { 3, 4 }), Indices(System.Array.Empty<long>(), -2) }, opset, A.FromInt("axis", 1));

    [Test]
    public void GatherInt32Indices() =>
        Check("Gather", new[] { new GradInput(new long[] { 4, 2 }), new GradInput(new long[] { 3 }, Differentiable: false, Values: new[] { 1.0, 1, -4 }, ElemType: 6) });

    [Test]
    public void GatherElements() =>
        Check("GatherElements", new[] { new GradInput(new long[] { 3, 4 }), Indices(new long[] { 3, 3 }, 0, 3, 3, -1, 1, 1, 2, 0, -4) }, attrs: A.FromInt("axis", 1));
}

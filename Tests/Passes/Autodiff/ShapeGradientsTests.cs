using OnnxRev.Tests.Support;
using A = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>Float64 finite-difference checks of the shape rules (every op here has double kernels in ONNX Runtime).</summary>
public class ShapeGradientsTests
{
    internal static GradInput Int64s(params long[] v) => new(new long[] { v.Length }, Differentiable: false, Values: v.Select(x => (double)x).ToArray(), ElemType: 7);

    private static void Check(string op, IReadOnlyList<GradInput?> inputs, int opset = 17, int outputs = 1, IReadOnlyList<int>? loss = null, params A[] attrs) =>
        new GradCheck { Op = op, Inputs = inputs, Attributes = attrs, Opset = opset, Outputs = outputs, LossOutputs = loss }.Run();

    [Test]
    public void Reshape() => Check("Reshape", new[] { new GradInput(new long[] { 2, 3, 4 }), Int64s(4, -1) });

    [Test]
    public void Flatten() => Check("Flatten", new[] { new GradInput(new long[] { 2, 3, 4, 2 }) }, attrs: A.FromInt("axis", 2));

    [Test]
    public void TransposeWithPerm() => Check("Transpose", new[] { new GradInput(new long[] { 2, 3, 4 }) }, attrs: A.FromInts("perm", new long[] { 2, 0, 1 }));

    [Test]
    public void TransposeDefaultReverses() => Check("Transpose", new[] { new GradInput(new long[] { 2, 3, 4, 5 }) });

    [Test]
    public void UnsqueezeAxesInput() => Check("Unsqueeze", new[] { new GradInput(new long[] { 2, 3 }), Int64s(0, 3) });

    [Test]
    public void UnsqueezeAxesAttributeOpset11() => Check("Unsqueeze", new[] { new GradInput(new long[] { 2, 3 }) }, opset: 11, attrs: A.FromInts("axes", new long[] { -1 }));

    [Test]
    public void Squeeze() => Check("Squeeze", new[] { new GradInput(new long[] { 2, 1, 3, 1 }), Int64s(1) });

    [Test]
    public void Expand() => Check("Expand", new[] { new GradInput(new long[] { 3, 1 }), Int64s(2, 3, 4) });

    [Test]
    public void Tile() => Check("Tile", new[] { new GradInput(new long[] { 2, 3 }), Int64s(3, 2) });

    [Test]
    public void Tile3D() => Check("Tile", new[] { new GradInput(new long[] { 2, 1, 3 }), Int64s(1, 4, 2) });

    [Test]
    public void SplitUnequalSizes() => Check("Split", new[] { new GradInput(new long[] { 2, 6, 2 }), Int64s(1, 2, 3) }, outputs: 3, attrs: A.FromInt("axis", 1));

    [Test]
    public void SplitWithAnOutputWithoutGradient() =>
        Check("Split", new[] { new GradInput(new long[] { 2, 6 }), Int64s(2, 1, 3) }, outputs: 3, loss: new[] { 0, 2 }, attrs: A.FromInt("axis", -1));

    [Test]
    public void SplitNumOutputsOpset18() => Check("Split", new[] { new GradInput(new long[] { 6, 2 }) }, opset: 18, outputs: 2, attrs: A.FromInt("num_outputs", 2));

    [Test]
    public void SplitAttributeOpset11() =>
        Check("Split", new[] { new GradInput(new long[] { 5, 2 }) }, opset: 11, outputs: 2, attrs: A.FromInts("split", new long[] { 2, 3 }));

    [Test]
    public void Concat([Values(1, -2)] int axis) =>
        Check("Concat", new[] { new GradInput(new long[] { 2, 1, 3 }), new GradInput(new long[] { 2, 3, 3 }), new GradInput(new long[] { 2, 2, 3 }) }, attrs: A.FromInt("axis", axis));

    [Test]
    public void ConcatWithAConstantPart() =>
        Check("Concat", new[] { new GradInput(new long[] { 2, 3 }, Differentiable: false), new GradInput(new long[] { 1, 3 }) }, attrs: A.FromInt("axis", 0));

    [Test]
    public void PadPositive() => Check("Pad", new[] { new GradInput(new long[] { 2, 3 }), Int64s(1, 0, 2, 3) });

    [Test]
    public void PadNegativeCrops() => Check("Pad", new[] { new GradInput(new long[] { 4, 5 }), Int64s(-1, 2, 1, -2) });

    [Test]
    public void PadConstantValueGradient() =>
        Check("Pad", new[] { new GradInput(new long[] { 2, 3 }), Int64s(1, 1, 0, 2), new GradInput(System.Array.Empty<long>()) });

    [Test]
    public void PadAxesOpset18() => Check("Pad", new[] { new GradInput(new long[] { 2, 3, 2 }), Int64s(1, 2), null, Int64s(-2) }, opset: 18);

    [Test]
    public void PadAttributeOpset10() => Check("Pad", new[] { new GradInput(new long[] { 2, 3 }) }, opset: 10, attrs: A.FromInts("pads", new long[] { 0, 1, 1, 0 }));

    [Test]
    public void PadReflectIsRejected() =>
        Assert.Throws<OnnxRevException>(() => Check("Pad", new[] { new GradInput(new long[] { 3, 3 }), Int64s(1, 1, 1, 1) }, attrs: A.FromString("mode", "reflect")));
}

using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Shapes;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Passes.Shapes;

/// <summary>Shape and data inference on graphs built in code.</summary>
public class ShapeInferenceTests
{
    private static string Shape(Model m, Value v) => ShapeInference.Infer(m).Describe(v);

    private static string Data(Model m, Value v) =>
        ShapeInference.Infer(m).TryGetData(v, out var d) ? Dim.Format(d) : "<none>";

    [TestCase(32L, 3L, 1L, 0L, 1L, 30L)]
    [TestCase(32L, 3L, 2L, 1L, 1L, 16L)]
    [TestCase(33L, 3L, 2L, 1L, 1L, 17L)]
    [TestCase(32L, 3L, 1L, 0L, 2L, 28L)]
    [TestCase(224L, 7L, 2L, 3L, 1L, 112L)]
    [TestCase(10L, 1L, 3L, 0L, 1L, 4L)]
    public void ConvOutputSizeFollowsPadsStridesDilations(long size, long k, long stride, long pad, long dilation, long expected)
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 3, size, size + 1);
        var y = g.Op("Conv", new[] { x, g.Floats(8, 3, k, k) },
            ("strides", new[] { stride, stride }), ("pads", new[] { pad, pad, pad, pad }), ("dilations", new[] { dilation, dilation }));
        var m = g.Build(17, y);
        long w = (size + 1 + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        Assert.That(Shape(m, y), Is.EqualTo($"[n,8,{expected},{w}]"));
    }

    [TestCase("SAME_UPPER", 33L, 17L)]
    [TestCase("SAME_LOWER", 32L, 16L)]
    [TestCase("VALID", 33L, 16L)]
    public void ConvAutoPad(string autoPad, long size, long expected)
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", 1, 3, size, size);
        var y = g.Op("Conv", new[] { x, g.Floats(4, 3, 3, 3) }, ("strides", new[] { 2L, 2L }), ("auto_pad", autoPad));
        Assert.That(Shape(g.Build(17, y), y), Is.EqualTo($"[1,4,{expected},{expected}]"));
    }

    [TestCase(112L, 3L, 2L, 0L, 0L, 55L)]
    [TestCase(112L, 3L, 2L, 0L, 1L, 56L)]
    [TestCase(56L, 3L, 2L, 1L, 1L, 29L)]
    [TestCase(5L, 2L, 2L, 1L, 1L, 3L)] // the fourth window would start in the right padding: dropped
    [TestCase(5L, 2L, 2L, 1L, 0L, 3L)]
    public void MaxPoolCeilMode(long size, long k, long stride, long pad, long ceil, long expected)
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 16, size, size);
        var ys = g.Ops("MaxPool", new[] { x }, 2, ("kernel_shape", new[] { k, k }), ("strides", new[] { stride, stride }),
            ("pads", new[] { pad, pad, pad, pad }), ("ceil_mode", ceil));
        var m = g.Build(17, ys[0]);
        var info = ShapeInference.Infer(m);
        Assert.That(info.Describe(ys[0]), Is.EqualTo($"[n,16,{expected},{expected}]"));
        Assert.That(info.TryGetType(ys[1], out int t, out _) && t == (int)DT.Int64, "MaxPool indices are int64");
    }

    [Test]
    public void PoolsAndGlobalPools()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 16, 9, 9);
        var avg = g.Op("AveragePool", new[] { x }, ("kernel_shape", new[] { 3L, 3L }), ("strides", new[] { 3L, 3L }));
        var gap = g.Op("GlobalAveragePool", new[] { x });
        var m = g.Build(17, avg, gap);
        Assert.That(Shape(m, avg), Is.EqualTo("[n,16,3,3]"));
        Assert.That(Shape(m, gap), Is.EqualTo("[n,16,1,1]"));
    }

    [Test]
    public void BroadcastingKeepsSymbolsAndPrefersKnownSizes()
    {
        var g = new ShapeTestGraph();
        var a = g.FloatInput("a", "n", 1, 4);
        var b = g.FloatInput("b", 3, 1);
        var c = g.FloatInput("c", "n");
        var d = g.FloatInput("d", 5);
        var e = g.FloatInput("e", "m", 4);
        var ab = g.Op("Add", new[] { a, b });
        var cd = g.Op("Mul", new[] { c, d });
        var ae = g.Op("Sub", new[] { a, e });
        var cmp = g.Op("Less", new[] { a, b });
        var where = g.Op("Where", new[] { cmp, a, b });
        var m = g.Build(17, ab, cd, ae, where);
        var info = ShapeInference.Infer(m);
        Assert.That(info.Describe(ab), Is.EqualTo("[n,3,4]"));
        Assert.That(info.Describe(cd), Is.EqualTo("[5]"), "n must be 1 or 5; the result is 5");
        Assert.That(info.Describe(ae), Is.EqualTo("[n,m,4]"));
        Assert.That(info.Describe(where), Is.EqualTo("[n,3,4]"));
        Assert.That(info.TryGetType(cmp, out int t, out _) && t == (int)DT.Bool);
    }

    [Test]
    public void ReshapeWithZeroAndMinusOneKeepsSymbolicBatch()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 116, 8, 8);
        var r1 = g.Op("Reshape", new[] { x, g.Ints(new long[] { 0, 2, 58, -1 }) });
        var r2 = g.Op("Reshape", new[] { x, g.Ints(new long[] { -1, 64 }) });
        var r3 = g.Op("Reshape", new[] { x, g.Ints(new long[] { 0, -1 }) });
        var m = g.Build(17, r1, r2, r3);
        var info = ShapeInference.Infer(m);
        Assert.That(info.Describe(r1), Is.EqualTo("[n,2,58,64]"));
        Assert.That(info.Describe(r2), Is.EqualTo("[?,64]"), "n*116 is not a single symbol");
        Assert.That(info.Describe(r3), Is.EqualTo("[n,7424]"));
    }

    [Test]
    public void ChannelShuffleChainKeepsBatchSymbolic()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 116, 8, 8);
        var shape = g.Op("Shape", new[] { x });
        var batch = g.Op("Gather", new[] { shape, g.Scalar(0) }, ("axis", 0L));
        var channels = g.Op("Gather", new[] { shape, g.Scalar(1) }, ("axis", 0L));
        var half = g.Op("Div", new[] { channels, g.Scalar(2) });
        var h = g.Op("Gather", new[] { shape, g.Scalar(2) });
        var w = g.Op("Gather", new[] { shape, g.Scalar(-1) });
        Value U(Value v) => g.Op("Unsqueeze", new[] { v, g.Ints(new long[] { 0 }) });
        var target = g.Op("Concat", new[] { U(batch), g.Ints(new long[] { 2 }), U(half), U(h), U(w) }, ("axis", 0L));
        var r = g.Op("Reshape", new[] { x, target });
        var t = g.Op("Transpose", new[] { r }, ("perm", new long[] { 0, 2, 1, 3, 4 }));
        var back = g.Op("Concat", new[] { U(batch), g.Ints(new long[] { -1 }), U(h), U(w) }, ("axis", 0L));
        var y = g.Op("Reshape", new[] { t, back });
        var m = g.Build(13, y);
        var info = ShapeInference.Infer(m);
        Assert.That(Data(m, shape), Is.EqualTo("[n,116,8,8]"));
        Assert.That(Data(m, batch), Is.EqualTo("[n]"));
        Assert.That(info.Describe(batch), Is.EqualTo("[]"), "Gather with a scalar index gives a scalar");
        Assert.That(Data(m, half), Is.EqualTo("[58]"));
        Assert.That(Data(m, w), Is.EqualTo("[8]"));
        Assert.That(Data(m, target), Is.EqualTo("[n,2,58,8,8]"));
        Assert.That(info.Describe(r), Is.EqualTo("[n,2,58,8,8]"));
        Assert.That(info.Describe(t), Is.EqualTo("[n,58,2,8,8]"));
        Assert.That(info.Describe(y), Is.EqualTo("[n,116,8,8]"));
    }

    [Test]
    public void ConcatOfPartiallyKnownData()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 3);
        var k = g.Input("k", (int)DT.Int64, 2);
        var first = g.Op("Slice", new[] { g.Op("Shape", new[] { x }), g.Ints(new long[] { 0 }), g.Ints(new long[] { 1 }) });
        var joined = g.Op("Concat", new[] { first, k, g.Ints(new long[] { 5 }) }, ("axis", 0L));
        var sum = g.Op("Add", new[] { joined, g.Ints(new long[] { 0, 1, 0, 1 }) });
        var m = g.Build(17, sum);
        Assert.That(Data(m, joined), Is.EqualTo("[n,?,?,5]"));
        Assert.That(Data(m, sum), Is.EqualTo("[n,?,?,6]"), "n + 0 keeps the symbol");
        Assert.That(Shape(m, joined), Is.EqualTo("[4]"));
    }

    [Test]
    public void UnsqueezeAndSqueezeAxesAsAttributeBeforeOpset13AndInputAfter()
    {
        var g11 = new ShapeTestGraph();
        var x11 = g11.FloatInput("x", "n", 4);
        var u11 = g11.Op("Unsqueeze", new[] { x11 }, ("axes", new long[] { 0, -1 }));
        var s11 = g11.Op("Squeeze", new[] { u11 }, ("axes", new long[] { 0 }));
        var m11 = g11.Build(11, s11);
        Assert.That(Shape(m11, u11), Is.EqualTo("[1,n,4,1]"));
        Assert.That(Shape(m11, s11), Is.EqualTo("[n,4,1]"));

        var g13 = new ShapeTestGraph();
        var x13 = g13.FloatInput("x", "n", 4);
        var u13 = g13.Op("Unsqueeze", new[] { x13, g13.Ints(new long[] { 1 }) });
        var s13 = g13.Op("Squeeze", new[] { u13, g13.Ints(new long[] { -2 }) });
        var all = g13.Op("Squeeze", new[] { g13.FloatInput("y", 1, 3, 1) });
        var unknownAll = g13.Op("Squeeze", new[] { x13 });
        var m13 = g13.Build(13, s13, all, unknownAll);
        Assert.That(Shape(m13, u13), Is.EqualTo("[n,1,4]"));
        Assert.That(Shape(m13, s13), Is.EqualTo("[n,4]"));
        Assert.That(Shape(m13, all), Is.EqualTo("[3]"));
        Assert.That(Shape(m13, unknownAll), Is.EqualTo("<unknown rank>"), "n might be 1: the rank is not known");
    }

    [Test]
    public void ReductionsWithKeepdimsAndAxes()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 3, 5, 7);
        var mean = g.Op("ReduceMean", new[] { x }, ("axes", new long[] { 2, 3 }), ("keepdims", 0L));
        var meanKeep = g.Op("ReduceMean", new[] { x }, ("axes", new long[] { -1 }));
        var sum = g.Op("ReduceSum", new[] { x, g.Ints(new long[] { 1 }) });
        var all = g.Op("ReduceMax", new[] { x }, ("keepdims", 0L));
        var arg = g.Op("ArgMax", new[] { x }, ("axis", 1L), ("keepdims", 0L));
        var m = g.Build(17, mean, meanKeep, sum, all, arg);
        Assert.That(Shape(m, mean), Is.EqualTo("[n,3]"));
        Assert.That(Shape(m, meanKeep), Is.EqualTo("[n,3,5,1]"));
        Assert.That(Shape(m, sum), Is.EqualTo("[n,1,5,7]"));
        Assert.That(Shape(m, all), Is.EqualTo("[]"));
        Assert.That(Shape(m, arg), Is.EqualTo("[n,5,7]"));
    }

    [Test]
    public void GemmMatMulFlatten()
    {
        var g = new ShapeTestGraph();
        var a = g.FloatInput("a", "n", 64);
        var gemm = g.Op("Gemm", new[] { a, g.Floats(10, 64), g.Floats(10) }, ("transB", 1L));
        var gemmT = g.Op("Gemm", new[] { g.FloatInput("at", 64, "n"), g.Floats(64, 10) }, ("transA", 1L));
        var batched = g.Op("MatMul", new[] { g.FloatInput("b", "n", 4, 1, 5, 6), g.Floats(3, 6, 7) });
        var vec = g.Op("MatMul", new[] { g.FloatInput("v", 6), g.FloatInput("w", "n", 6, 7) });
        var flat = g.Op("Flatten", new[] { g.FloatInput("f", "n", 3, 4) });
        var flat0 = g.Op("Flatten", new[] { g.FloatInput("f0", "n", 3, 4) }, ("axis", 0L));
        var m = g.Build(17, gemm, gemmT, batched, vec, flat, flat0);
        Assert.That(Shape(m, gemm), Is.EqualTo("[n,10]"));
        Assert.That(Shape(m, gemmT), Is.EqualTo("[n,10]"));
        Assert.That(Shape(m, batched), Is.EqualTo("[n,4,3,5,7]"));
        Assert.That(Shape(m, vec), Is.EqualTo("[n,7]"));
        Assert.That(Shape(m, flat), Is.EqualTo("[n,12]"));
        Assert.That(Shape(m, flat0), Is.EqualTo("[1,?]"));
    }

    [Test]
    public void SliceGatherSplitExpandTranspose()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 10, 6);
        var slice = g.Op("Slice", new[] { x, g.Ints(new long[] { 2, 0 }), g.Ints(new long[] { 8, long.MaxValue }), g.Ints(new long[] { 1, 0 }) });
        var stepped = g.Op("Slice", new[] { x, g.Ints(new long[] { -1 }), g.Ints(new long[] { long.MinValue }), g.Ints(new long[] { 2 }), g.Ints(new long[] { -2 }) });
        var gather = g.Op("Gather", new[] { x, g.Ints(new long[] { 0, 1, 2 }) }, ("axis", 1L));
        var parts = g.Ops("Split", new[] { x, g.Ints(new long[] { 4, 2 }) }, 2, ("axis", 2L));
        var expand = g.Op("Expand", new[] { g.FloatInput("e", 1, 6), g.Op("Shape", new[] { x }) });
        var t = g.Op("Transpose", new[] { x });
        var m = g.Build(17, slice, stepped, gather, parts[0], parts[1], expand, t);
        Assert.That(Shape(m, slice), Is.EqualTo("[n,6,6]"));
        Assert.That(Shape(m, stepped), Is.EqualTo("[n,10,3]"));
        Assert.That(Shape(m, gather), Is.EqualTo("[n,3,6]"));
        Assert.That(Shape(m, parts[0]), Is.EqualTo("[n,10,4]"));
        Assert.That(Shape(m, parts[1]), Is.EqualTo("[n,10,2]"));
        Assert.That(Shape(m, expand), Is.EqualTo("[n,10,6]"));
        Assert.That(Shape(m, t), Is.EqualTo("[6,10,n]"));
    }

    [Test]
    public void ConstantOfShapeRangeAndComparisonsComputeData()
    {
        var g = new ShapeTestGraph();
        var value = new OnnxRev.Schema.TensorProto { DataType = (int)DT.Int64, Dims = { 1 }, Int64Data = { 1 } };
        var ones = g.Op("ConstantOfShape", new[] { g.Ints(new long[] { 3 }) }, ("value", value));
        var range = g.Op("Range", new[] { g.Scalar(0), g.Scalar(7), g.Scalar(3) });
        var eq = g.Op("Equal", new[] { range, g.Scalar(3) });
        var where = g.Op("Where", new[] { eq, ones, range });
        var m = g.Build(17, where);
        Assert.That(Data(m, ones), Is.EqualTo("[1,1,1]"));
        Assert.That(Data(m, range), Is.EqualTo("[0,3,6]"));
        Assert.That(Data(m, eq), Is.EqualTo("[0,1,0]"));
        Assert.That(Data(m, where), Is.EqualTo("[0,1,6]"));
    }

    [Test]
    public void UnknownStaysUnknown()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", null, 3);
        var custom = g.Op("MyOp", new[] { x });
        var after = g.Op("Relu", new[] { custom });
        var relu = g.Op("Relu", new[] { x });
        var shape = g.Op("Shape", new[] { x });
        var m = g.Build(17, after, relu, shape);
        var info = ShapeInference.Infer(m);
        Assert.That(info.TryGetType(custom, out _, out _), Is.False);
        Assert.That(info.TryGetType(after, out _, out _), Is.False);
        Assert.That(info.Describe(relu), Is.EqualTo("[?,3]"));
        Assert.That(Data(m, shape), Is.EqualTo("[?,3]"));
    }

    [Test]
    public void DeclaredTypesFillGapsButInferredSymbolsWin()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 3);
        var y = g.Op("MyOp", new[] { x });
        y.Type = OnnxRev.Tests.Support.ModelFactory.FloatType(7, 3);
        var z = g.Op("Relu", new[] { y });
        var m = g.Build(17, z);
        Assert.That(Shape(m, z), Is.EqualTo("[7,3]"));
    }
}

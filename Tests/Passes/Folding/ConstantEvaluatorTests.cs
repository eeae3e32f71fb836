using OnnxRev.Passes.Cleanup.Folding;
using OnnxRev.Schema;
using static OnnxRev.Tests.Passes.Folding.FoldingTestHelpers;

namespace OnnxRev.Tests.Passes.Folding;

/// <summary>Hand-computed checks of <see cref="ConstantEvaluator"/>: the op table, declines, broadcasting,
/// negative axes and Reshape's 0/-1.</summary>
[TestFixture]
public sealed class ConstantEvaluatorTests
{
    [Test]
    public void OpTableAnswersSupports()
    {
        Assert.That(ConstantEvaluator.Supports("Add", ""), Is.True);
        Assert.That(ConstantEvaluator.Supports("Add", "ai.onnx"), Is.True);
        Assert.That(ConstantEvaluator.Supports("Add", "com.microsoft"), Is.False);
        Assert.That(ConstantEvaluator.Supports("Conv", ""), Is.False);
        Assert.That(ConstantEvaluator.SupportedOps, Does.Contain("ReduceMean").And.Contain("NonZero").And.Contain("MatMul"));
    }

    [Test]
    public void DeclinesUnsupportedOpsAndTypes()
    {
        Assert.That(Declines("Conv", 13, [Iota(1, 1, 3, 3), Iota(1, 1, 1, 1)]), Is.EqualTo("op 'Conv' is not folded"));
        var bf16 = new HostTensor(OnnxDataType.BFloat16, [1], new ushort[] { 0x3F80 });
        Assert.That(Declines("Add", 13, [Iota(1), bf16]), Is.EqualTo("input 1 has unsupported type bfloat16"));
        Assert.That(Declines("Add", 13, [Iota(2), I64([2], 1, 2)]), Does.Contain("mixed types"));
        Assert.That(Declines("Sqrt", 13, [I64([1], 4)]), Does.Contain("does not take int64"));
    }

    [Test]
    public void BroadcastsBothWays()
    {
        // [2,1] + [3] -> [2,3]: rows 0 and 10 plus columns 1,2,3.
        HostTensor r = Eval1("Add", 13, [F([2, 1], 0, 10), F([3], 1, 2, 3)]);
        Assert.That(r.Dims, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(r.Data, Is.EqualTo(new float[] { 1, 2, 3, 11, 12, 13 }));
        // Scalar against [2,2].
        HostTensor m = Eval1("Mul", 13, [I64([], 3), I64([2, 2], 1, 2, 3, 4)]);
        Assert.That(m.Data, Is.EqualTo(new long[] { 3, 6, 9, 12 }));
        // Where broadcasts all three inputs: cond [2,1], x [1,2], y scalar.
        var cond = new HostTensor(OnnxDataType.Bool, [2, 1], new[] { true, false });
        HostTensor w = Eval1("Where", 16, [cond, F([1, 2], 5, 6), F([], -1)]);
        Assert.That(w.Dims, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(w.Data, Is.EqualTo(new float[] { 5, 6, -1, -1 }));
        Assert.That(Declines("Add", 13, [Iota(2, 3), Iota(2)]), Does.Contain("do not broadcast"));
    }

    [Test]
    public void ComparisonsAndExpandBroadcast()
    {
        HostTensor lt = Eval1("Less", 13, [I32([3], 1, 5, 3), I32([1], 3)]);
        Assert.That(lt.DataType, Is.EqualTo(OnnxDataType.Bool));
        Assert.That(lt.Data, Is.EqualTo(new[] { true, false, false }));
        HostTensor e = Eval1("Expand", 13, [F([3, 1], 1, 2, 3), I64([3], 2, 1, 2)]);
        Assert.That(e.Dims, Is.EqualTo(new long[] { 2, 3, 2 }));
        Assert.That(e.Data, Is.EqualTo(new float[] { 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3 }));
    }

    [Test]
    public void NegativeAxes()
    {
        HostTensor x = Iota(2, 3); // [[0,1,2],[3,4,5]]
        Assert.That(Eval1("Gather", 13, [x, I64([2], -1, 0)], Int("axis", -1)).Data, Is.EqualTo(new float[] { 2, 0, 5, 3 }));
        Assert.That(Eval1("Gather", 13, [x, I64([], -2)]).Data, Is.EqualTo(new float[] { 0, 1, 2 }));
        HostTensor c = Eval1("Concat", 13, [x, F([2, 1], 9, 9)], Int("axis", -1));
        Assert.That(c.Dims, Is.EqualTo(new long[] { 2, 4 }));
        Assert.That(c.Data, Is.EqualTo(new float[] { 0, 1, 2, 9, 3, 4, 5, 9 }));
        Assert.That(Eval1("Unsqueeze", 13, [x, I64([1], -1)]).Dims, Is.EqualTo(new long[] { 2, 3, 1 }));
        Assert.That(Eval1("Unsqueeze", 11, [x], Ints("axes", -3)).Dims, Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(Eval1("Squeeze", 11, [Iota(2, 1)], Ints("axes", -1)).Dims, Is.EqualTo(new long[] { 2 }));
        HostTensor s = Eval1("ReduceSum", 13, [x, I64([1], -1)], Int("keepdims", 0));
        Assert.That(s.Dims, Is.EqualTo(new long[] { 2 }));
        Assert.That(s.Data, Is.EqualTo(new float[] { 3, 12 }));
        HostTensor mx = Eval1("ReduceMax", 13, [x], Ints("axes", -2));
        Assert.That(mx.Dims, Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(mx.Data, Is.EqualTo(new float[] { 3, 4, 5 }));
        HostTensor[] parts = Eval("Split", 13, [x, I64([2], 1, 2)], Int("axis", -1));
        Assert.That(parts[0].Data, Is.EqualTo(new float[] { 0, 3 }));
        Assert.That(parts[1].Data, Is.EqualTo(new float[] { 1, 2, 4, 5 }));
        Assert.That(Eval1("Flatten", 13, [Iota(2, 3, 4)], Int("axis", -1)).Dims, Is.EqualTo(new long[] { 6, 4 }));
        Assert.That(Declines("Gather", 13, [x, I64([1], 3)], Int("axis", 1)), Does.Contain("out of range"));
    }

    [Test]
    public void ConcatAcceptsEmptyInputs()
    {
        HostTensor empty = HostTensor.Create([0], Array.Empty<long>());
        HostTensor r = Eval1("Concat", 13, [empty, I64([2], 4, 5), empty], Int("axis", 0));
        Assert.That(r.Dims, Is.EqualTo(new long[] { 2 }));
        Assert.That(r.Data, Is.EqualTo(new long[] { 4, 5 }));
        HostTensor wide = Eval1("Concat", 13, [HostTensor.Create([2, 0], Array.Empty<float>()), Iota(2, 2)], Int("axis", 1));
        Assert.That(wide.Dims, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(wide.Data, Is.EqualTo(new float[] { 0, 1, 2, 3 }));
        HostTensor none = Eval1("Concat", 13, [empty, empty], Int("axis", 0));
        Assert.That(none.Dims, Is.EqualTo(new long[] { 0 }));
    }

    [Test]
    public void ReshapeZeroCopiesAndMinusOneInfers()
    {
        HostTensor x = Iota(2, 3, 4);
        Assert.That(Eval1("Reshape", 13, [x, I64([2], 0, -1)]).Dims, Is.EqualTo(new long[] { 2, 12 }));
        Assert.That(Eval1("Reshape", 13, [x, I64([3], -1, 0, 2)]).Dims, Is.EqualTo(new long[] { 4, 3, 2 }));
        // allowzero=1: 0 is a real zero-sized dimension.
        HostTensor empty = HostTensor.Create([0, 3], Array.Empty<float>());
        Assert.That(Eval1("Reshape", 14, [empty, I64([2], 3, 0)], Int("allowzero", 1)).Dims, Is.EqualTo(new long[] { 3, 0 }));
        Assert.That(Declines("Reshape", 13, [x, I64([2], -1, -1)]), Does.Contain("more than one -1"));
        Assert.That(Declines("Reshape", 13, [x, I64([2], 5, -1)]), Does.Contain("cannot infer"));
    }

    [Test]
    public void ShapeHonoursStartEndFromOpset15()
    {
        HostTensor x = Iota(2, 3, 4);
        Assert.That(Eval1("Shape", 15, [x], Int("start", -2)).Data, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(Eval1("Shape", 15, [x], Int("start", 1), Int("end", -1)).Data, Is.EqualTo(new long[] { 3 }));
        Assert.That(Eval1("Shape", 13, [x], Int("start", 1)).Data, Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(Eval1("Size", 13, [x]).Data, Is.EqualTo(new long[] { 24 }));
    }

    [Test]
    public void SplitNeedsSizesOrOutputCount()
    {
        HostTensor x = Iota(6);
        Assert.That(Declines("Split", 13, [x]), Does.Contain("output count is unknown"));
        bool ok = ConstantEvaluator.TryEvaluate("Split", "", 13, [x], [], 3, out HostTensor[] outs, out _);
        Assert.That(ok, Is.True);
        Assert.That(outs.Select(o => o.Data), Is.EqualTo(new[] { new float[] { 0, 1 }, new float[] { 2, 3 }, new float[] { 4, 5 } }));
        HostTensor[] attr = Eval("Split", 11, [x], Ints("split", 1, 5));
        Assert.That(attr[1].Data, Is.EqualTo(new float[] { 1, 2, 3, 4, 5 }));
        HostTensor[] uneven = Eval("Split", 18, [Iota(5)], Int("num_outputs", 2));
        Assert.That(uneven.Select(o => o.Dims[0]), Is.EqualTo(new long[] { 3, 2 }));
    }

    [Test]
    public void TransposeTileConstantOfShapeRangeNonZero()
    {
        HostTensor t = Eval1("Transpose", 13, [Iota(2, 3)]);
        Assert.That(t.Dims, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(t.Data, Is.EqualTo(new float[] { 0, 3, 1, 4, 2, 5 }));
        Assert.That(Eval1("Tile", 13, [F([2], 1, 2), I64([1], 3)]).Data, Is.EqualTo(new float[] { 1, 2, 1, 2, 1, 2 }));
        var value = new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = I64([1], 7).ToProto("v") };
        HostTensor k = Eval1("ConstantOfShape", 13, [I64([2], 2, 1)], value);
        Assert.That(k.DataType, Is.EqualTo(OnnxDataType.Int64));
        Assert.That(k.Data, Is.EqualTo(new long[] { 7, 7 }));
        Assert.That(Eval1("Range", 13, [I32([], 10), I32([], 1), I32([], -3)]).Data, Is.EqualTo(new[] { 10, 7, 4 }));
        Assert.That(Eval1("Range", 13, [F([], 0), F([], 1), F([], 0.25f)]).Data, Is.EqualTo(new[] { 0f, 0.25f, 0.5f, 0.75f }));
        HostTensor nz = Eval1("NonZero", 13, [F([2, 2], 1, 0, 0, 3)]);
        Assert.That(nz.Dims, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(nz.Data, Is.EqualTo(new long[] { 0, 1, 0, 1 }));
    }

    [Test]
    public void ClipBoundsByOpset()
    {
        HostTensor x = F([4], -2, -0.5f, 0.5f, 2);
        Assert.That(Eval1("Clip", 6, [x], Float("min", -1), Float("max", 1)).Data, Is.EqualTo(new float[] { -1, -0.5f, 0.5f, 1 }));
        Assert.That(Eval1("Clip", 13, [x, null, F([], 0)]).Data, Is.EqualTo(new float[] { -2, -0.5f, 0, 0 }));
        Assert.That(Eval1("Clip", 13, [I64([3], -5, 0, 5), I64([], -1), I64([], 1)]).Data, Is.EqualTo(new long[] { -1, 0, 1 }));
    }

    [Test]
    public void MatMulBatchesAndPromotesVectors()
    {
        // [2,2,2] x [2,1]: batch 0 [[0,1],[2,3]], batch 1 [[4,5],[6,7]] times [1,10].
        HostTensor r = Eval1("MatMul", 13, [Iota(2, 2, 2), F([2, 1], 1, 10)]);
        Assert.That(r.Dims, Is.EqualTo(new long[] { 2, 2, 1 }));
        Assert.That(r.Data, Is.EqualTo(new float[] { 10, 32, 54, 76 }));
        HostTensor v = Eval1("MatMul", 13, [F([2], 1, 2), Iota(2, 3)]);
        Assert.That(v.Dims, Is.EqualTo(new long[] { 3 }));
        Assert.That(v.Data, Is.EqualTo(new float[] { 6, 9, 12 }));
    }

    [Test]
    public void Float32ArithmeticStaysInFloat()
    {
        // 16777216 + 1 is not representable in float: float addition gives 16777216, and 0.1f * 3 rounds in float.
        Assert.That(Eval1("Add", 13, [F([1], 16777216f), F([1], 1f)]).Data, Is.EqualTo(new[] { 16777216f }));
        Assert.That(Eval1("Mul", 13, [F([1], 0.1f), F([1], 3f)]).Data, Is.EqualTo(new[] { 0.1f * 3f }));
        // Pow with scalar exponent 3 is x*x*x as in ONNX Runtime.
        float b = 1.1f;
        Assert.That(Eval1("Pow", 13, [F([2], b, 2), F([], 3)]).Data, Is.EqualTo(new[] { b * b * b, 8f }));
        Assert.That(Eval1("Pow", 13, [F([1], 2), I64([1], 10)]).Data, Is.EqualTo(new[] { 1024f }));
    }
}

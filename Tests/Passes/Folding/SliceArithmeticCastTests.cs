using OnnxRev.Passes.Cleanup.Folding;
using static OnnxRev.Tests.Passes.Folding.FoldingTestHelpers;

namespace OnnxRev.Tests.Passes.Folding;

/// <summary>Hand-computed checks of Slice clamping and negative steps, integer Div/Mod, and Cast rounding.</summary>
[TestFixture]
public sealed class SliceArithmeticCastTests
{
    private static float[] Slice1D(long start, long end, long step, int opset = 13) =>
        (float[])Eval1("Slice", opset, [Iota(10), I64([1], start), I64([1], end), I64([1], 0), I64([1], step)]).Data;

    [Test]
    public void SliceClampsStartsAndEnds()
    {
        Assert.That(Slice1D(-100, 100, 1), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (float)i)));
        Assert.That(Slice1D(20, 30, 1), Is.Empty);
        Assert.That(Slice1D(2, -3, 2), Is.EqualTo(new float[] { 2, 4, 6 }));
        Assert.That(Slice1D(0, long.MaxValue, 4), Is.EqualTo(new float[] { 0, 4, 8 }));
        Assert.That(Slice1D(5, 2, 1), Is.Empty);
    }

    [Test]
    public void SliceNegativeSteps()
    {
        Assert.That(Slice1D(8, 2, -2), Is.EqualTo(new float[] { 8, 6, 4 }));
        // start clamps to dim-1; end -1000 + 10 clamps to -1, i.e. past the first element.
        Assert.That(Slice1D(100, -1000, -1), Is.EqualTo(Enumerable.Range(0, 10).Reverse().Select(i => (float)i)));
        Assert.That(Slice1D(-1, long.MinValue, -3), Is.EqualTo(new float[] { 9, 6, 3, 0 }));
        Assert.That(Slice1D(2, 5, -1), Is.Empty);
        Assert.That(Declines("Slice", 13, [Iota(10), I64([1], 0), I64([1], 5), I64([1], 0), I64([1], 0)]), Does.Contain("step 0"));
    }

    [Test]
    public void SliceOnSeveralAxesAndOldOpset()
    {
        HostTensor x = Iota(3, 4); // rows 0..3, 4..7, 8..11
        HostTensor r = Eval1("Slice", 13, [x, I64([2], -1, 1), I64([2], -4, 3), I64([2], -2, 1), I64([2], -1, 1)]);
        Assert.That(r.Dims, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(r.Data, Is.EqualTo(new float[] { 9, 10, 5, 6, 1, 2 }));
        HostTensor old = Eval1("Slice", 9, [x], Ints("starts", 1), Ints("ends", 1000), Ints("axes", 1));
        Assert.That(old.Dims, Is.EqualTo(new long[] { 3, 3 }));
        Assert.That(old.Data, Is.EqualTo(new float[] { 1, 2, 3, 5, 6, 7, 9, 10, 11 }));
    }

    [Test]
    public void IntegerDivisionTruncatesTowardZero()
    {
        HostTensor r = Eval1("Div", 13, [I32([4], 7, -7, 7, -7), I32([4], 2, 2, -2, -2)]);
        Assert.That(r.Data, Is.EqualTo(new[] { 3, -3, -3, 3 }));
        HostTensor u = Eval1("Div", 13, [HostTensor.Create([2], new byte[] { 255, 7 }), HostTensor.Create([2], new byte[] { 2, 8 })]);
        Assert.That(u.Data, Is.EqualTo(new byte[] { 127, 0 }));
        Assert.That(Declines("Div", 13, [I64([1], 1), I64([1], 0)]), Does.Contain("division by zero"));
        Assert.That(Eval1("Div", 13, [F([2], 1, -1), F([2], 0, 0)]).Data, Is.EqualTo(new[] { float.PositiveInfinity, float.NegativeInfinity }));
    }

    [Test]
    public void ModFollowsTheFmodAttribute()
    {
        HostTensor a = I32([4], 7, -7, 7, -7), b = I32([4], 3, 3, -3, -3);
        Assert.That(Eval1("Mod", 13, [a, b]).Data, Is.EqualTo(new[] { 1, 2, -2, -1 }));
        Assert.That(Eval1("Mod", 13, [a, b], Int("fmod", 1)).Data, Is.EqualTo(new[] { 1, -1, 1, -1 }));
        Assert.That(Eval1("Mod", 13, [F([2], 5.5f, -5.5f), F([1], 2)], Int("fmod", 1)).Data, Is.EqualTo(new[] { 1.5f, -1.5f }));
        Assert.That(Declines("Mod", 13, [F([1], 1), F([1], 2)]), Does.Contain("fmod must be 1"));
    }

    private static HostTensor Cast(HostTensor x, int to) => Eval1("Cast", 13, [x], Int("to", to));

    [Test]
    public void CastFloatToIntTruncatesTowardZero()
    {
        HostTensor x = F([6], 2.7f, -2.7f, 0.5f, -0.5f, 1.5f, -1.9999f);
        Assert.That(Cast(x, OnnxDataType.Int32).Data, Is.EqualTo(new[] { 2, -2, 0, 0, 1, -1 }));
        Assert.That(Cast(x, OnnxDataType.Int64).Data, Is.EqualTo(new long[] { 2, -2, 0, 0, 1, -1 }));
        Assert.That(Cast(F([2], 255.9f, 0.9f), OnnxDataType.UInt8).Data, Is.EqualTo(new byte[] { 255, 0 }));
        Assert.That(Declines("Cast", 13, [F([1], 3e9f)], Int("to", OnnxDataType.Int32)), Does.Contain("out of range"));
        Assert.That(Declines("Cast", 13, [F([1], -1f)], Int("to", OnnxDataType.UInt32)), Does.Contain("out of range"));
        Assert.That(Declines("Cast", 13, [F([1], float.NaN)], Int("to", OnnxDataType.Int64)), Does.Contain("NaN"));
    }

    [Test]
    public void CastIntegersWrapAndBoolIsNonZero()
    {
        Assert.That(Cast(I32([3], 300, -1, 128), OnnxDataType.Int8).Data, Is.EqualTo(new sbyte[] { 44, -1, -128 }));
        Assert.That(Cast(I64([2], -1, 65536), OnnxDataType.UInt16).Data, Is.EqualTo(new ushort[] { 65535, 0 }));
        Assert.That(Cast(F([4], 0, -0f, 0.1f, float.NaN), OnnxDataType.Bool).Data, Is.EqualTo(new[] { false, false, true, true }));
        var b = new HostTensor(OnnxDataType.Bool, [2], new[] { true, false });
        Assert.That(Cast(b, OnnxDataType.Float).Data, Is.EqualTo(new[] { 1f, 0f }));
        // int64 to float rounds to nearest even: 2^24 + 1 is not representable.
        Assert.That(Cast(I64([1], 16777217), OnnxDataType.Float).Data, Is.EqualTo(new[] { 16777216f }));
    }

    [Test]
    public void CastToAndFromFloat16Rounds()
    {
        HostTensor h = Cast(F([4], 1.0009765625f, 1.00048828125f, 65520f, 0.1f), OnnxDataType.Float16);
        // 1 + 2^-10 is exact; 1 + 2^-11 is a tie and rounds to even (1); 65520 overflows to +inf; 0.1 -> 0.0999755859375.
        Assert.That(h.Data, Is.EqualTo(new[] { (Half)1.0009765625f, (Half)1f, Half.PositiveInfinity, (Half)0.0999755859375f }));
        Assert.That(Cast(h, OnnxDataType.Float).Data, Is.EqualTo(new[] { 1.0009765625f, 1f, float.PositiveInfinity, 0.0999755859375f }));
        Assert.That(Cast(HostTensor.Create([1], new[] { (Half)(-2.5f) }), OnnxDataType.Int32).Data, Is.EqualTo(new[] { -2 }));
        Assert.That(Cast(HostTensor.Create([1], new[] { 0.1 }), OnnxDataType.Float).Data, Is.EqualTo(new[] { 0.1f }));
    }
}

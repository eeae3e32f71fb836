using Google.Protobuf;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using static OnnxRev.Tests.Runtime.TestModels;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Runtime;

public class OutputComparisonTests
{
    private static DataValue F(params float[] v) => DataValue.Tensor(Floats("y", [v.Length], v));

    [Test]
    public void Tolerance_IsAtolPlusRtolTimesExpected_InclusiveAtTheBoundary()
    {
        // |a - e| = 0.25 exactly; allowed = 0.05 + 0.1 * 2 = 0.25 (all exactly representable).
        var ok = OutputComparison.Compare("y", F(2.25f), F(2f), rtol: 0.1, atol: 0.05);
        Assert.That(ok.Ok, Is.True, ok.Reason);
        Assert.That(ok.MaxAbsError, Is.EqualTo(0.25));
        Assert.That(ok.MaxRelError, Is.EqualTo(0.125));

        var bad = OutputComparison.Compare("y", F(1f, 2.3125f), F(1f, 2f), rtol: 0.1, atol: 0.05);
        Assert.That(bad.Ok, Is.False);
        Assert.That(bad.Worst, Is.EqualTo(new ElementDifference("y", 1, "2.3125", "2")));
        Assert.That(bad.Reason, Does.Contain("'y'").And.Contain("element 1"));
    }

    [Test]
    public void Rtol_ScalesWithExpected_NotActual()
    {
        // |a-e| = 1 ; rtol*|e| = 0.5*1 = 0.5 fails although rtol*|a| = 1 would pass.
        Assert.That(OutputComparison.Compare("y", F(2f), F(1f), rtol: 0.5, atol: 0).Ok, Is.False);
        Assert.That(OutputComparison.Compare("y", F(1f), F(2f), rtol: 0.5, atol: 0).Ok, Is.True);
    }

    [Test]
    public void NaN_EqualsNaN_Infinities_MustMatchExactly()
    {
        Assert.That(OutputComparison.Compare("y", F(float.NaN, float.PositiveInfinity), F(float.NaN, float.PositiveInfinity)).Ok, Is.True);
        Assert.That(OutputComparison.Compare("y", F(float.NaN), F(1f), rtol: 1, atol: 1).Ok, Is.False);
        Assert.That(OutputComparison.Compare("y", F(float.PositiveInfinity), F(float.NegativeInfinity), rtol: 1e9, atol: 1e9).Ok, Is.False);
        Assert.That(OutputComparison.Compare("y", F(float.MaxValue), F(float.PositiveInfinity), rtol: 1e9, atol: 1e9).Ok, Is.False);
        var r = OutputComparison.Compare("y", F(0f, 5f), F(0f, float.NaN));
        Assert.That(r.Worst!.FlatIndex, Is.EqualTo(1));
        Assert.That(r.MaxAbsError, Is.EqualTo(double.PositiveInfinity));
    }

    [Test]
    public void WorstElement_IsTheOneFurthestPastTolerance()
    {
        var r = OutputComparison.Compare("y", F(1.2f, 100f, 3.5f), F(1f, 99.9f, 3f), rtol: 0, atol: 0.1);
        Assert.That(r.Ok, Is.False);
        Assert.That(r.Worst!.FlatIndex, Is.EqualTo(2));
        Assert.That(r.MaxAbsError, Is.EqualTo(0.5).Within(1e-6));
    }

    [Test]
    public void ShapeAndDtypeMismatch_FailWithClearReason()
    {
        var shape = OutputComparison.Compare("y", DataValue.Tensor(Floats("y", [2, 1], 1, 2)), DataValue.Tensor(Floats("y", [1, 2], 1, 2)));
        Assert.That(shape.Ok, Is.False);
        Assert.That(shape.Reason, Is.EqualTo("Output 'y' has shape [2,1] but [1,2] was expected."));

        var d = new TensorProto { Name = "y", DataType = (int)DT.Double };
        d.Dims.Add(2);
        d.DoubleData.Add([1, 2]);
        var dtype = OutputComparison.Compare("y", F(1, 2), DataValue.Tensor(d), rtol: 1, atol: 1);
        Assert.That(dtype.Ok, Is.False);
        Assert.That(dtype.Reason, Is.EqualTo("Output 'y' has element type float but double was expected."));
    }

    [Test]
    public void Integers_Bools_Strings_MustBeEqual()
    {
        var ints = OutputComparison.Compare("i", DataValue.Tensor(Int64s("i", [3], 1, 2, 3)), DataValue.Tensor(Int64s("i", [3], 1, 2, 4)), rtol: 10, atol: 10);
        Assert.That(ints.Ok, Is.False);
        Assert.That(ints.Worst, Is.EqualTo(new ElementDifference("i", 2, "3", "4")));

        var s = OutputComparison.Compare("s", DataValue.Tensor(Strings("s", [2], "a", "b")), DataValue.Tensor(Strings("s", [2], "a", "c")));
        Assert.That(s.Ok, Is.False);
        Assert.That(s.Worst!.Expected, Is.EqualTo("c"));

        var b = new TensorProto { Name = "b", DataType = (int)DT.Bool, RawData = ByteString.CopyFrom(1, 0) };
        b.Dims.Add(2);
        var b2 = b.Clone();
        b2.RawData = ByteString.CopyFrom(1, 1);
        Assert.That(OutputComparison.Compare("b", DataValue.Tensor(b), DataValue.Tensor(b.Clone())).Ok, Is.True);
        Assert.That(OutputComparison.Compare("b", DataValue.Tensor(b), DataValue.Tensor(b2)).Ok, Is.False);
    }

    [Test]
    public void Dictionaries_Sequences_MissingOutputs()
    {
        var seqA = DataValue.Sequence([F(1f), F(2f)]);
        var seqB = DataValue.Sequence([F(1f), F(2.5f)]);
        var r = OutputComparison.Compare(new Dictionary<string, DataValue> { ["s"] = seqA }, new Dictionary<string, DataValue> { ["s"] = seqB });
        Assert.That(r.Ok, Is.False);
        Assert.That(r.Worst!.OutputName, Is.EqualTo("s[1]"));

        var missing = OutputComparison.Compare(new Dictionary<string, DataValue>(), new Dictionary<string, DataValue> { ["z"] = F(1f) });
        Assert.That(missing.Reason, Is.EqualTo("Output 'z' is missing from the actual outputs."));
    }

    [Test]
    public void BitIdentical_DistinguishesRawFromValue()
    {
        Assert.That(OutputComparison.BitIdentical(F(0f), F(-0f)), Is.False);
        Assert.That(OutputComparison.BitIdentical(F(float.NaN), F(float.NaN)), Is.True);
        var typed = Floats("y", [2], 1, 2);
        var raw = new TensorProto { Name = "y", DataType = (int)DT.Float, RawData = ByteString.CopyFrom(TensorProtoData.GetBytes(typed)) };
        raw.Dims.Add(2);
        Assert.That(OutputComparison.BitIdentical(DataValue.Tensor(typed), DataValue.Tensor(raw)), Is.True);
        Assert.That(OutputComparison.BitIdentical(F(1f), DataValue.Optional(F(1f))), Is.False);
    }
}

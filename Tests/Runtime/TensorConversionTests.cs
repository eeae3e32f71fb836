using Google.Protobuf;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Runtime;

public class TensorConversionTests
{
    /// <summary>Typed-field tensors as the IR spec lays them out, with the little-endian bytes they mean.</summary>
    private static IEnumerable<TestCaseData> TypedCases()
    {
        static TensorProto T(DT dt, Action<TensorProto> fill) { var t = new TensorProto { Name = "t", DataType = (int)dt }; t.Dims.Add(3); fill(t); return t; }
        static byte[] Bytes<TV>(params TV[] v) where TV : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

        yield return new TestCaseData(T(DT.Float, t => t.FloatData.Add([1.5f, -0f, float.NaN])), Bytes(1.5f, -0f, float.NaN)).SetArgDisplayNames("float");
        yield return new TestCaseData(T(DT.Double, t => t.DoubleData.Add([1e300, -2.5, double.NegativeInfinity])), Bytes(1e300, -2.5, double.NegativeInfinity)).SetArgDisplayNames("double");
        yield return new TestCaseData(T(DT.Float16, t => t.Int32Data.Add([0x3C00, 0xC000, 0x7C00])), Bytes<ushort>(0x3C00, 0xC000, 0x7C00)).SetArgDisplayNames("float16");
        yield return new TestCaseData(T(DT.Bfloat16, t => t.Int32Data.Add([0x3F80, 0xC040, 0x0001])), Bytes<ushort>(0x3F80, 0xC040, 0x0001)).SetArgDisplayNames("bfloat16");
        yield return new TestCaseData(T(DT.Int8, t => t.Int32Data.Add([-128, 0, 127])), Bytes<sbyte>(-128, 0, 127)).SetArgDisplayNames("int8");
        yield return new TestCaseData(T(DT.Int16, t => t.Int32Data.Add([-32768, 1, 32767])), Bytes<short>(-32768, 1, 32767)).SetArgDisplayNames("int16");
        yield return new TestCaseData(T(DT.Int32, t => t.Int32Data.Add([int.MinValue, 0, int.MaxValue])), Bytes(int.MinValue, 0, int.MaxValue)).SetArgDisplayNames("int32");
        yield return new TestCaseData(T(DT.Int64, t => t.Int64Data.Add([long.MinValue, -1, long.MaxValue])), Bytes(long.MinValue, -1L, long.MaxValue)).SetArgDisplayNames("int64");
        yield return new TestCaseData(T(DT.Uint8, t => t.Int32Data.Add([0, 128, 255])), Bytes<byte>(0, 128, 255)).SetArgDisplayNames("uint8");
        yield return new TestCaseData(T(DT.Uint16, t => t.Int32Data.Add([0, 40000, 65535])), Bytes<ushort>(0, 40000, 65535)).SetArgDisplayNames("uint16");
        yield return new TestCaseData(T(DT.Uint32, t => t.Uint64Data.Add([0, 3_000_000_000, uint.MaxValue])), Bytes(0u, 3_000_000_000u, uint.MaxValue)).SetArgDisplayNames("uint32");
        yield return new TestCaseData(T(DT.Uint64, t => t.Uint64Data.Add([0, 1UL << 63, ulong.MaxValue])), Bytes(0UL, 1UL << 63, ulong.MaxValue)).SetArgDisplayNames("uint64");
        yield return new TestCaseData(T(DT.Bool, t => t.Int32Data.Add([1, 0, 1])), Bytes<byte>(1, 0, 1)).SetArgDisplayNames("bool");
    }

    [TestCaseSource(nameof(TypedCases))]
    public void TypedFields_RoundTripThroughOrtValue_AsRawData(TensorProto typed, byte[] expectedBytes)
    {
        using var value = TensorConversion.ToOrtValue(typed);
        Assert.That((int)value.GetTensorTypeAndShape().ElementDataType, Is.EqualTo(typed.DataType));
        var back = TensorConversion.ToTensorProto(value, "back");

        Assert.That(back.Name, Is.EqualTo("back"));
        Assert.That(back.DataType, Is.EqualTo(typed.DataType));
        Assert.That(back.Dims, Is.EqualTo(new long[] { 3 }));
        Assert.That(back.RawData.ToByteArray(), Is.EqualTo(expectedBytes));
        Assert.That(OutputComparison.BitIdentical(DataValue.Tensor(typed), DataValue.Tensor(back)), Is.True);
    }

    [TestCaseSource(nameof(TypedCases))]
    public void RawData_RoundTripsBitExactly(TensorProto typed, byte[] expectedBytes)
    {
        var raw = new TensorProto { Name = "r", DataType = typed.DataType, RawData = ByteString.CopyFrom(expectedBytes) };
        raw.Dims.Add([1, 3]);
        using var value = TensorConversion.ToOrtValue(raw);
        var back = TensorConversion.ToTensorProto(value, "r");
        Assert.That(back.Dims, Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(back.RawData.ToByteArray(), Is.EqualTo(expectedBytes));
    }

    [Test]
    public void Strings_And_EmptyTensors_RoundTrip()
    {
        var s = TestModels.Strings("s", [2, 1], "héllo", "");
        using (var v = TensorConversion.ToOrtValue(s))
        {
            var back = TensorConversion.ToTensorProto(v, "s");
            Assert.That(back.StringData.Select(b => b.ToStringUtf8()), Is.EqualTo(new[] { "héllo", "" }));
            Assert.That(back.Dims, Is.EqualTo(new long[] { 2, 1 }));
        }
        var empty = TestModels.Floats("e", [0, 4]);
        using (var v = TensorConversion.ToOrtValue(empty))
        {
            var back = TensorConversion.ToTensorProto(v, "e");
            Assert.That(back.Dims, Is.EqualTo(new long[] { 0, 4 }));
            Assert.That(back.RawData.Length, Is.Zero);
        }
    }

    [Test]
    public void Sequence_RoundTripsThroughOrtSequence()
    {
        var seq = DataValue.Sequence([DataValue.Tensor(TestModels.Int64s("", [2], 1, 2)), DataValue.Tensor(TestModels.Int64s("", [1], 3))]);
        using var value = TensorConversion.ToOrtValue(seq, "seq");
        Assert.That(value.OnnxType, Is.EqualTo(Microsoft.ML.OnnxRuntime.OnnxValueType.ONNX_TYPE_SEQUENCE));
        Assert.That(value.GetValueCount(), Is.EqualTo(2));
        var back = TensorConversion.ToDataValue(value, "seq");
        Assert.That(OutputComparison.BitIdentical(seq, back), Is.True);
        Assert.That(TestModels.ReadInt64s(back.AsSequence()[1].AsTensor()), Is.EqualTo(new long[] { 3 }));
    }

    [Test]
    public void WrongValueCount_And_UnsupportedType_AreOnnxRevExceptions()
    {
        var shortTensor = TestModels.Floats("w", [2, 2], 1, 2, 3);
        var e = Assert.Throws<OnnxRevException>(() => TensorConversion.ToOrtValue(shortTensor));
        Assert.That(e!.Message, Does.Contain("'w'").And.Contain("needs 4"));

        var complex = new TensorProto { Name = "c", DataType = (int)DT.Complex64 };
        complex.Dims.Add(1);
        complex.FloatData.Add([1, 2]);
        Assert.That(() => TensorConversion.ToOrtValue(complex), Throws.TypeOf<OnnxRevException>().With.Message.Contains("complex64"));
    }
}

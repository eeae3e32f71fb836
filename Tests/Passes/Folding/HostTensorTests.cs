using Google.Protobuf;
using OnnxRev.Passes.Cleanup.Folding;
using OnnxRev.Schema;

namespace OnnxRev.Tests.Passes.Folding;

/// <summary>Reading typed and raw TensorProto fields into <see cref="HostTensor"/> and writing raw_data back.</summary>
[TestFixture]
public sealed class HostTensorTests
{
    private static TensorProto Proto(int type, params long[] dims)
    {
        var p = new TensorProto { DataType = type, Name = "t" };
        p.Dims.AddRange(dims);
        return p;
    }

    [Test]
    public void ReadsSmallTypesFromInt32Data()
    {
        TensorProto i8 = Proto(OnnxDataType.Int8, 2);
        i8.Int32Data.AddRange([-3, 127]);
        Assert.That(HostTensor.FromProto(i8).Data, Is.EqualTo(new sbyte[] { -3, 127 }));
        TensorProto u16 = Proto(OnnxDataType.UInt16, 1);
        u16.Int32Data.Add(65535);
        Assert.That(HostTensor.FromProto(u16).Data, Is.EqualTo(new ushort[] { 65535 }));
        TensorProto b = Proto(OnnxDataType.Bool, 3);
        b.Int32Data.AddRange([1, 0, 1]);
        Assert.That(HostTensor.FromProto(b).Data, Is.EqualTo(new[] { true, false, true }));
        TensorProto h = Proto(OnnxDataType.Float16, 1);
        h.Int32Data.Add(0x3C00); // 1.0 in float16 bits
        Assert.That(HostTensor.FromProto(h).Data, Is.EqualTo(new[] { (Half)1 }));
    }

    [Test]
    public void ReadsUnsignedWideTypesFromUint64Data()
    {
        TensorProto u32 = Proto(OnnxDataType.UInt32, 1);
        u32.Uint64Data.Add(4000000000);
        Assert.That(HostTensor.FromProto(u32).Data, Is.EqualTo(new uint[] { 4000000000 }));
        TensorProto u64 = Proto(OnnxDataType.UInt64, 1);
        u64.Uint64Data.Add(ulong.MaxValue);
        Assert.That(HostTensor.FromProto(u64).Data, Is.EqualTo(new[] { ulong.MaxValue }));
    }

    [Test]
    public void ReadsRawDataLittleEndian()
    {
        TensorProto p = Proto(OnnxDataType.Int32, 2);
        p.RawData = ByteString.CopyFrom(1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF);
        Assert.That(HostTensor.FromProto(p).Data, Is.EqualTo(new[] { 1, -2 }));
    }

    [Test]
    public void RoundTripsThroughRawData()
    {
        HostTensor[] tensors =
        [
            HostTensor.Create([2, 2], new[] { 1.5f, -2, float.NaN, 0 }),
            HostTensor.Create([2], new[] { long.MinValue, 7 }),
            HostTensor.Create([3], new byte[] { 0, 128, 255 }),
            HostTensor.Create([1], new[] { (Half)0.5f }),
            new HostTensor(OnnxDataType.Bool, [2], new[] { true, false }),
            HostTensor.Create([], new[] { 3.25 }),
            HostTensor.Create([2], new[] { "a", "ünï" }),
        ];
        foreach (HostTensor t in tensors)
        {
            TensorProto p = t.ToProto("x");
            Assert.That(p.Name, Is.EqualTo("x"));
            Assert.That(p.RawData.IsEmpty, Is.EqualTo(t.DataType == OnnxDataType.String));
            HostTensor back = HostTensor.FromProto(p);
            Assert.That(back.DataType, Is.EqualTo(t.DataType));
            Assert.That(back.Dims, Is.EqualTo(t.Dims));
            Assert.That(back.Data, Is.EqualTo(t.Data), t.ToString());
        }
    }

    [Test]
    public void RejectsMismatchedSizesAndExternalData()
    {
        TensorProto p = Proto(OnnxDataType.Float, 3);
        p.FloatData.AddRange([1, 2]);
        Assert.That(HostTensor.TryFromProto(p, out _, out string why), Is.False);
        Assert.That(why, Does.Contain("needs 3"));
        TensorProto ext = Proto(OnnxDataType.Float, 1);
        ext.DataLocation = TensorProto.Types.DataLocation.External;
        Assert.Throws<OnnxRevException>(() => HostTensor.FromProto(ext));
        Assert.That(HostTensor.TryFromProto(Proto(OnnxDataType.Float, 0), out HostTensor? empty, out _), Is.True);
        Assert.That(empty!.ElementCount, Is.EqualTo(0));
    }
}

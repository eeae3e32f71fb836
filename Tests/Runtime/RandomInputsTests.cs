using Google.Protobuf;
using OnnxRev.Runtime;
using static OnnxRev.Tests.Runtime.TestModels;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Runtime;

public class RandomInputsTests
{
    private static byte[] Mixed() => Model(
        [Node("Identity", ["F"], ["F2"]), Node("Identity", ["I"], ["I2"]), Node("Identity", ["B"], ["B2"]), Node("Identity", ["H"], ["H2"])],
        [Tensor("F", DT.Float, "batch", 500L), Tensor("I", DT.Int32, "len"), Tensor("B", DT.Bool, 64L), Tensor("H", DT.Float16, 4L)],
        [Tensor("F2", DT.Float, "batch", 500L), Tensor("I2", DT.Int32, "len"), Tensor("B2", DT.Bool, 64L), Tensor("H2", DT.Float16, 4L)]).ToByteArray();

    [Test]
    public void SameSeed_SameValues_DifferentSeed_DifferentValues()
    {
        using var runner = new OrtRunner(Mixed());
        var a = RandomInputs.For(runner, seed: 42);
        var b = RandomInputs.For(runner, seed: 42);
        var c = RandomInputs.For(runner, seed: 43);
        Assert.That(OutputComparison.BitIdentical(a, b), Is.True);
        Assert.That(OutputComparison.BitIdentical(a["F"], c["F"]), Is.False);
    }

    [Test]
    public void Values_FollowTheRequestedDistributions_AndRunThroughTheModel()
    {
        using var runner = new OrtRunner(Mixed());
        var inputs = RandomInputs.For(runner, seed: 7, new Dictionary<string, long> { ["batch"] = 4 });
        Assert.That(inputs["F"].AsTensor().Dims, Is.EqualTo(new long[] { 4, 500 }));
        Assert.That(inputs["I"].AsTensor().Dims, Is.EqualTo(new long[] { 1 }), "unlisted symbolic dims default to 1");

        float[] f = ReadFloats(inputs["F"].AsTensor());
        double mean = f.Average(), sd = Math.Sqrt(f.Select(x => (x - mean) * (x - mean)).Average());
        Assert.That(mean, Is.EqualTo(0).Within(0.1));
        Assert.That(sd, Is.EqualTo(1).Within(0.1));

        var ints = RandomInputs.For(runner, seed: 7, new Dictionary<string, long> { ["len"] = 200 })["I"].AsTensor();
        var iv = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(TensorProtoData.GetBytes(ints)).ToArray();
        Assert.That(iv, Has.All.InRange(0, 9));
        Assert.That(iv.Distinct().Count(), Is.GreaterThan(5));

        byte[] bools = TensorProtoData.GetBytes(inputs["B"].AsTensor());
        Assert.That(bools, Has.All.LessThanOrEqualTo(1));
        Assert.That(bools.Count(x => x == 1), Is.InRange(10, 54));

        var outputs = runner.Run(inputs);
        Assert.That(OutputComparison.BitIdentical(outputs["F2"], DataValue.Tensor(Rename(inputs["F"].AsTensor(), "F2"))), Is.True);
    }

    [Test]
    public void SequenceInputs_GetTheRequestedLength()
    {
        var model = Model([Node("SequenceLength", ["S"], ["L"])],
            [Value("S", SequenceType(TensorType(DT.Float, "K")))], [Tensor("L", DT.Int64)]).ToByteArray();
        using var runner = new OrtRunner(model);
        var inputs = RandomInputs.For(runner, seed: 1, new Dictionary<string, long> { ["K"] = 5 }, sequenceLength: 3);
        Assert.That(inputs["S"].AsSequence(), Has.Count.EqualTo(3));
        Assert.That(inputs["S"].AsSequence()[0].AsTensor().Dims, Is.EqualTo(new long[] { 5 }));
        Assert.That(ReadInt64s(runner.Run(inputs)["L"].AsTensor()), Is.EqualTo(new long[] { 3 }));
    }

    private static OnnxRev.Schema.TensorProto Rename(OnnxRev.Schema.TensorProto t, string name)
    {
        var c = t.Clone();
        c.Name = name;
        return c;
    }
}

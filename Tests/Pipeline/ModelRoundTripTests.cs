using Google.Protobuf;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Pipeline;

/// <summary>protobuf → IR → protobuf keeps every field, on real exported models.</summary>
public class ModelRoundTripTests
{
    private static IEnumerable<string> Fixtures() => RepoPaths.FixtureModels;

    [TestCaseSource(nameof(Fixtures))]
    public void FixtureRoundTripIsProtoIdentical(string name)
    {
        string path = Path.Combine(RepoPaths.Fixtures, name + ".onnx");
        var original = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var model = ModelReader.Load(path);
        var written = ModelWriter.ToProto(model);
        Assert.That(written, Is.EqualTo(original), "the written ModelProto differs from the one read");
    }

    [Test]
    public void UnknownFieldsSurvive()
    {
        var model = ModelFactory.LinearRelu();
        var bytes = ModelWriter.ToBytes(model);
        // Append unknown fields (numbers the schema does not use) at model, node and tensor level.
        var proto = ModelProto.Parser.ParseFrom(bytes);
        var withUnknown = AppendUnknownVarint(bytes, 999, 42);
        var nodeBytes = AppendUnknownVarint(proto.Graph.Node[0].ToByteArray(), 777, 7);
        var parsed = ModelProto.Parser.ParseFrom(withUnknown);
        parsed.Graph.Node[0] = NodeProto.Parser.ParseFrom(nodeBytes);
        var reread = ModelReader.Load(parsed.ToByteArray());
        var again = ModelWriter.ToProto(reread);
        Assert.That(again, Is.EqualTo(parsed));
        Assert.That(again.ToByteArray(), Is.EqualTo(parsed.ToByteArray()));
    }

    [Test]
    public void DocStringsMetadataFunctionsAndValueInfoSurvive()
    {
        var proto = ModelWriter.ToProto(ModelFactory.LinearRelu());
        proto.DocString = "model doc";
        proto.MetadataProps.Add(new StringStringEntryProto { Key = "k", Value = "v" });
        proto.Graph.DocString = "graph doc";
        proto.Graph.Node[1].DocString = "node doc";
        proto.Graph.Node[1].MetadataProps.Add(new StringStringEntryProto { Key = "nk", Value = "nv" });
        proto.Graph.ValueInfo.Add(new ValueInfoProto { Name = "mm", Type = ModelFactory.FloatType(2, 3), DocString = "vi doc" });
        proto.Graph.ValueInfo.Add(new ValueInfoProto { Name = "no_such_value", Type = ModelFactory.FloatType(1) });
        proto.Graph.Initializer[0].DocString = "weights";
        var fn = new FunctionProto { Name = "MyFn", Domain = "custom" };
        fn.Input.Add("a"); fn.Output.Add("b");
        fn.Node.Add(new NodeProto { OpType = "Relu", Input = { "a" }, Output = { "b" } });
        fn.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        proto.Functions.Add(fn);
        proto.TrainingInfo.Add(new TrainingInfoProto { Algorithm = new GraphProto { Name = "algo" } });
        var model = ModelReader.Load(proto.ToByteArray());
        Assert.That(ModelWriter.ToProto(model), Is.EqualTo(proto));
    }

    private static byte[] AppendUnknownVarint(byte[] message, int field, int value)
    {
        using var ms = new MemoryStream();
        ms.Write(message);
        var cos = new Google.Protobuf.CodedOutputStream(ms);
        cos.WriteTag(field, Google.Protobuf.WireFormat.WireType.Varint);
        cos.WriteInt32(value);
        cos.Flush();
        return ms.ToArray();
    }
}

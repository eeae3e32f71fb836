using OnnxRev.Ir;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Pipeline;

/// <summary>Unreadable and inconsistent models give one clear OnnxRevException naming the problem.</summary>
public class BadModelTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(byte[] bytes)
    {
        string p = Path.Combine(_dir, "bad.onnx");
        File.WriteAllBytes(p, bytes);
        return p;
    }

    [Test]
    public void MissingFile() =>
        Assert.That(Assert.Throws<OnnxRevException>(() => ModelReader.Load(Path.Combine(_dir, "nope.onnx")))!.Message, Does.Contain("does not exist"));

    [Test]
    public void EmptyFile() =>
        Assert.That(Assert.Throws<OnnxRevException>(() => ModelReader.Load(Write(Array.Empty<byte>())))!.Message, Does.Contain("empty"));

    [Test]
    public void TruncatedRealModel()
    {
        var bytes = File.ReadAllBytes(Path.Combine(RepoPaths.Fixtures, "squeezenet1_1.onnx"));
        var e = Assert.Throws<OnnxRevException>(() => ModelReader.Load(Write(bytes[..(bytes.Length / 2)])))!;
        Assert.That(e.Message, Does.Contain("not a valid ONNX model"));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void RandomBytes(int seed)
    {
        var bytes = new byte[4096];
        new Random(seed).NextBytes(bytes);
        var e = Assert.Throws<OnnxRevException>(() => ModelReader.Load(Write(bytes)))!;
        Assert.That(e.Message, Does.Contain("bad.onnx"));
    }

    [Test]
    public void UndefinedInput()
    {
        var proto = ModelWriter.ToProto(ModelFactory.LinearRelu());
        proto.Graph.Node[1].Input[0] = "ghost";
        var e = Assert.Throws<OnnxRevException>(() => ModelReader.Load(Google.Protobuf.MessageExtensions.ToByteArray(proto)))!;
        Assert.That(e.Message, Does.Contain("'ghost'").And.Contain("add"));
    }

    [Test]
    public void Cycle()
    {
        var proto = ModelWriter.ToProto(ModelFactory.LinearRelu());
        proto.Graph.Node[0].Input[0] = "add"; // matmul reads add, add reads matmul
        var e = Assert.Throws<OnnxRevException>(() => ModelReader.Load(Google.Protobuf.MessageExtensions.ToByteArray(proto)))!;
        Assert.That(e.Message, Does.Contain("cycle"));
    }

    [Test]
    public void DuplicateDefinition()
    {
        var proto = ModelWriter.ToProto(ModelFactory.LinearRelu());
        proto.Graph.Node[1].Output[0] = "mm";
        var e = Assert.Throws<OnnxRevException>(() => ModelReader.Load(Google.Protobuf.MessageExtensions.ToByteArray(proto)))!;
        Assert.That(e.Message, Does.Contain("defined twice"));
    }

    [Test]
    public void OutOfOrderNodesAreSorted()
    {
        var proto = ModelWriter.ToProto(ModelFactory.LinearRelu());
        var nodes = proto.Graph.Node.Reverse().ToList();
        proto.Graph.Node.Clear();
        proto.Graph.Node.AddRange(nodes);
        var model = ModelReader.Load(Google.Protobuf.MessageExtensions.ToByteArray(proto));
        Assert.That(model.Graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "MatMul", "Add", "Relu" }));
        Assert.That(GraphAlgorithms.IsTopologicallySorted(model.Graph));
    }
}

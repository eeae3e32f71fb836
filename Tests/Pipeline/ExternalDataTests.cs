using OnnxRev.Ir;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Pipeline;

/// <summary>External data: written, read back lazily, and refused when it points outside the model's folder.</summary>
public class ExternalDataTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void ExternalizedModelReadsBackTheSameData()
    {
        var model = ModelFactory.LinearRelu();
        var inlineProto = ModelWriter.ToProto(model);
        string path = Path.Combine(_dir, "m.onnx");
        ModelWriter.Save(model, path, new WriteOptions(ExternalDataPolicy.Externalize, ExternalThreshold: 1));
        Assert.That(File.Exists(path + ".data"), Is.True);
        var raw = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.That(raw.Graph.Initializer.All(t => t.DataLocation == TensorProto.Types.DataLocation.External && t.RawData.IsEmpty));
        var back = ModelReader.Load(path);
        Assert.That(back.Graph.Initializers.All(v => v.Initializer!.IsExternal));
        Assert.That(ModelWriter.ToProto(back), Is.EqualTo(inlineProto), "loading the external data inline gives the original model");
        // Saving elsewhere with Keep copies the data file along.
        string other = Path.Combine(_dir, "sub");
        Directory.CreateDirectory(other);
        ModelWriter.Save(back, Path.Combine(other, "copy.onnx"));
        Assert.That(File.Exists(Path.Combine(other, "copy.onnx.data")));
        Assert.That(ModelWriter.ToProto(ModelReader.Load(Path.Combine(other, "copy.onnx"))), Is.EqualTo(inlineProto));
    }

    [Test]
    public void OverwritingTheSourceModelInPlaceKeepsItsData()
    {
        string path = Path.Combine(_dir, "m.onnx");
        var model = ModelFactory.LinearRelu();
        var expected = ModelWriter.ToProto(model);
        ModelWriter.Save(model, path, new WriteOptions(ExternalDataPolicy.Externalize, ExternalThreshold: 1));
        var loaded = ModelReader.Load(path);
        ModelWriter.Save(loaded, path);
        Assert.That(ModelWriter.ToProto(ModelReader.Load(path)), Is.EqualTo(expected));
        Assert.That(ModelWriter.ToProto(loaded), Is.EqualTo(expected), "the in-memory model still reads the rewritten data file");
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "m.onnx", "m.onnx.data" }), "no temporary files left");
    }

    private string WriteWithLocation(string location)
    {
        var proto = ModelWriter.ToProto(ModelFactory.LinearRelu());
        var t = proto.Graph.Initializer[0];
        t.RawData = Google.Protobuf.ByteString.Empty;
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        string path = Path.Combine(_dir, "m.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(proto));
        return path;
    }

    [TestCase("/etc/passwd", "absolute path")]
    [TestCase("../outside.bin", "escapes the model's folder")]
    [TestCase("a/../../outside.bin", "escapes the model's folder")]
    [TestCase("missing.bin", "not found")]
    public void BadLocationsAreRefused(string location, string expected)
    {
        // The escaping target exists, so refusing it proves the path was checked, not that the file was missing.
        File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(_dir)!, "outside.bin"), new byte[48]);
        var path = WriteWithLocation(location);
        var e = Assert.Throws<OnnxRevException>(() => ModelReader.Load(path))!;
        Assert.That(e.Message, Does.Contain(expected));
        Assert.That(e.Message, Does.Contain(location));
    }

    [Test]
    public void SymlinkLeadingOutIsRefused()
    {
        string outside = Path.Combine(Path.GetDirectoryName(_dir)!, "outside-" + Guid.NewGuid().ToString("N") + ".bin");
        File.WriteAllBytes(outside, new byte[48]);
        try
        {
            File.CreateSymbolicLink(Path.Combine(_dir, "w.bin"), outside);
            var path = WriteWithLocation("w.bin");
            var e = Assert.Throws<OnnxRevException>(() => ModelReader.Load(path))!;
            Assert.That(e.Message, Does.Contain("symbolic link"));
        }
        finally { File.Delete(outside); }
    }

    [Test]
    public void DataFileTooShortIsRefused()
    {
        File.WriteAllBytes(Path.Combine(_dir, "w.bin"), new byte[10]);
        var path = WriteWithLocation("w.bin");
        var e = Assert.Throws<OnnxRevException>(() => ModelReader.Load(path))!;
        Assert.That(e.Message, Does.Contain("beyond the end"));
    }

    [Test]
    public void FailedSaveLeavesExistingFileUntouched()
    {
        string path = Path.Combine(_dir, "m.onnx");
        File.WriteAllText(path, "previous content");
        var model = ModelFactory.LinearRelu();
        // An external tensor whose data file vanished makes the save fail halfway.
        string src = Path.Combine(_dir, "src");
        Directory.CreateDirectory(src);
        ModelWriter.Save(model, Path.Combine(src, "s.onnx"), new WriteOptions(ExternalDataPolicy.Externalize, ExternalThreshold: 1));
        var loaded = ModelReader.Load(Path.Combine(src, "s.onnx"));
        File.Delete(Path.Combine(src, "s.onnx.data"));
        Assert.Throws<OnnxRevException>(() => ModelWriter.Save(loaded, path));
        Assert.That(File.ReadAllText(path), Is.EqualTo("previous content"));
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "m.onnx" }));
    }
}

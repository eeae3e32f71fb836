using System.IO.Compression;
using OnnxRev.Runtime.Data;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Data;

/// <summary>Malformed or missing data is an <see cref="OnnxRevException"/> naming the file (and line).</summary>
public class BadDataTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = RepoPaths.NewTempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static OnnxRevException Fails(string path, DataOptions? options = null) =>
        Assert.Throws<OnnxRevException>(() => DatasetLoader.Load(path, options))!;

    [Test]
    public void MissingPath_IsNamed()
    {
        string path = Path.Combine(_dir, "nope.csv");
        Assert.That(Fails(path).Message, Does.Contain(path).And.Contain("does not exist"));
    }

    [Test]
    public void UnknownFileOrFolder_IsRefused()
    {
        Assert.That(Fails(Write("x.txt", "1,2,3\n")).Message, Does.Contain("x.txt").And.Contain(".csv"));
        Assert.That(Fails(_dir).Message, Does.Contain("no recognised layout"));
    }

    [Test]
    public void RaggedCsvRow_NamesFileAndLine()
    {
        string path = Write("ragged.csv", "a,b,label\n1,2,0\n3,4,1\n\n5,6,7,1\n");
        var message = Fails(path).Message;
        Assert.That(message, Does.Contain("Line 5 of").And.Contain("ragged.csv").And.Contain("4 fields").And.Contain("3"));
    }

    [Test]
    public void NonIntegerLabel_NamesFileAndLine()
    {
        string path = Write("labels.csv", "1,2,0\n3,4,1.5\n");
        Assert.That(Fails(path).Message, Does.Contain("Line 2 of").And.Contain("labels.csv").And.Contain("'1.5'").And.Contain("not an integer"));
        string word = Write("word.csv", "1,2,0\n3,4,cat\n");
        Assert.That(Fails(word).Message, Does.Contain("Line 2 of").And.Contain("'cat'"));
    }

    [Test]
    public void NonNumericFeature_NamesLineAndField()
    {
        string path = Write("feature.csv", "1,2,0\n3,x,1\n");
        Assert.That(Fails(path).Message, Does.Contain("Line 2 of").And.Contain("field 2").And.Contain("'x'"));
    }

    [Test]
    public void NegativeLabel_OrAtOrAboveClassCount_IsOutOfRange()
    {
        string negative = Write("neg.csv", "1,2,0\n3,4,-1\n");
        Assert.That(Fails(negative).Message, Does.Contain("Label -1").And.Contain("line 2 of").And.Contain("neg.csv"));
        string high = Write("high.csv", "1,2,0\n3,4,10\n");
        Assert.That(Fails(high, new DataOptions { ClassCount = 10 }).Message, Does.Contain("Label 10").And.Contain("[0, 10)"));
        Assert.That(DatasetLoader.Load(high).ClassCount, Is.EqualTo(11));
    }

    [Test]
    public void CsvHeaders_LikeScikitLearnsIris_AreSkipped_AndFloatLabelsThatAreIntegersAccepted()
    {
        string path = Write("iris.csv", "150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,2.0\r\n");
        var data = DatasetLoader.Load(path);
        Assert.That(data.Count, Is.EqualTo(2));
        Assert.That(data.SampleShape, Is.EqualTo(new[] { 4 }));
        Assert.That(data.Labels, Is.EqualTo(new long[] { 0, 2 }));
        Assert.That(data.Features[4], Is.EqualTo(4.9f));
    }

    [Test]
    public void CorruptGzip_IsNamed()
    {
        string path = Write("bad.csv.gz", "this is not gzip");
        Assert.That(Fails(path).Message, Does.Contain("bad.csv.gz").And.Contain("gzip"));
    }

    private void WriteIdx(string name, byte[] bytes, bool gzip)
    {
        string path = Path.Combine(_dir, name + (gzip ? ".gz" : ""));
        if (!gzip) { File.WriteAllBytes(path, bytes); return; }
        using var file = File.Create(path);
        using var zip = new GZipStream(file, CompressionLevel.Fastest);
        zip.Write(bytes);
    }

    private static byte[] Idx(int magic, int[] dims, int dataBytes, byte fill = 7)
    {
        var bytes = new byte[4 + 4 * dims.Length + dataBytes];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        bytes.AsSpan(4 + 4 * dims.Length).Fill(fill);
        return bytes;
    }

    [TestCase(true)]
    [TestCase(false)]
    public void SmallIdx_IsRead(bool gzip)
    {
        WriteIdx("train-images-idx3-ubyte", Idx(0x803, [3, 2, 2], 12, fill: 255), gzip);
        WriteIdx("train-labels-idx1-ubyte", Idx(0x801, [3], 3, fill: 4), gzip);
        var data = DatasetLoader.Load(_dir);
        Assert.That(data.Count, Is.EqualTo(3));
        Assert.That(data.SampleShape, Is.EqualTo(new[] { 2, 2 }));
        Assert.That(data.Features, Is.All.EqualTo(1f));
        Assert.That(data.ClassCount, Is.EqualTo(5));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void TruncatedIdx_SaysWhatTheHeaderPromised(bool gzip)
    {
        WriteIdx("train-images-idx3-ubyte", Idx(0x803, [3, 2, 2], 11), gzip);
        WriteIdx("train-labels-idx1-ubyte", Idx(0x801, [3], 3), gzip);
        var message = Fails(_dir).Message;
        Assert.That(message, Does.Contain("train-images-idx3-ubyte").And.Contain("truncated").And.Contain("3 images of 2×2"));
    }

    [Test]
    public void IdxWithTrailingBytes_WrongMagic_CountMismatch_OrNoLabels_AreRefused()
    {
        WriteIdx("train-images-idx3-ubyte", Idx(0x803, [3, 2, 2], 13), false);
        WriteIdx("train-labels-idx1-ubyte", Idx(0x801, [3], 3), false);
        Assert.That(Fails(_dir).Message, Does.Contain("bytes after"));
        WriteIdx("train-images-idx3-ubyte", Idx(0x801, [3, 2, 2], 12), false);
        Assert.That(Fails(_dir).Message, Does.Contain("magic number 0x00000801"));
        WriteIdx("train-images-idx3-ubyte", Idx(0x803, [3, 2, 2], 12), false);
        WriteIdx("train-labels-idx1-ubyte", Idx(0x801, [4], 4), false);
        Assert.That(Fails(_dir).Message, Does.Contain("3 images").And.Contain("4 labels"));
        File.Delete(Path.Combine(_dir, "train-labels-idx1-ubyte"));
        Assert.That(Fails(_dir).Message, Does.Contain("no labels file").And.Contain("train-labels-idx1-ubyte"));
    }

    [Test]
    public void NpmMnist_MissingClassFile_OrRaggedData_IsNamed()
    {
        var sample = string.Join(",", Enumerable.Repeat("0.5", 784));
        for (int d = 0; d < 10; d++) Write($"{d}.json", $"{{\"data\":[{sample}]}}");
        Assert.That(DatasetLoader.Load(_dir).Count, Is.EqualTo(10));
        Write("3.json", $"{{\"data\":[{sample},1]}}");
        Assert.That(Fails(_dir).Message, Does.Contain("3.json").And.Contain("785 values"));
        Write("3.json", "{\"data\":[0.5,");
        Assert.That(Fails(_dir).Message, Does.Contain("3.json").And.Contain("not valid JSON"));
        Write("3.json", $"{{\"data\":[{sample}]}}");
        File.Delete(Path.Combine(_dir, "7.json"));
        Assert.That(Fails(_dir).Message, Does.Contain("no 7.json"));
    }

    [Test]
    public void BadOptions_AreRefused()
    {
        Assert.Throws<OnnxRevException>(() => DatasetLoader.Load(RepoPaths.DigitsCsv, new DataOptions { MaxSamples = -1 }));
        Assert.Throws<OnnxRevException>(() => DatasetLoader.Load(RepoPaths.DigitsCsv, new DataOptions { ClassCount = 0 }));
        Assert.Throws<OnnxRevException>(() => DatasetLoader.Load(RepoPaths.DigitsCsv, new DataOptions { Scale = float.NaN }));
    }
}

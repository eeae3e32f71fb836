using Google.Protobuf;
using OnnxRev.Runtime.Data;
using OnnxRev.Schema;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Data;

public class DatasetTests
{
    /// <summary>n samples of 2 features (i, -i), label i % 3.</summary>
    internal static Dataset Small(int n)
    {
        var features = new float[2 * n];
        var labels = new long[n];
        for (int i = 0; i < n; i++)
        {
            features[2 * i] = i;
            features[2 * i + 1] = -i;
            labels[i] = i % 3;
        }
        return new Dataset(features, labels, [2], 3, "small");
    }

    [Test]
    public void Split_IsSeeded_Disjoint_AndCoversEverySample()
    {
        var data = DatasetLoader.Load(RepoPaths.DigitsCsv);
        var (train, validation) = data.Split(0.2, seed: 7);
        Assert.That(validation.Count, Is.EqualTo(359)); // round(0.2 · 1797)
        Assert.That(train.Count, Is.EqualTo(1797 - 359));
        var (train2, validation2) = data.Split(0.2, seed: 7);
        Assert.That(validation2.Features, Is.EqualTo(validation.Features));
        Assert.That(train2.Labels, Is.EqualTo(train.Labels));
        var (_, other) = data.Split(0.2, seed: 8);
        Assert.That(other.Features, Is.Not.EqualTo(validation.Features));

        var small = Small(100);
        var (a, b) = small.Split(0.3, 1);
        var ids = a.Features.Where((_, i) => i % 2 == 0).Concat(b.Features.Where((_, i) => i % 2 == 0)).Select(v => (int)v).ToArray();
        Assert.That(ids, Is.EquivalentTo(Enumerable.Range(0, 100)));
        Assert.That(b.Features.Where((_, i) => i % 2 == 0), Is.Ordered, "each part keeps the data's order");
        Assert.That(b.Labels.Select((l, i) => l == (long)b.Features[2 * i] % 3), Is.All.True, "labels travel with their features");
    }

    [Test]
    public void Split_RefusesFractionsThatLeaveAPartEmpty()
    {
        Assert.Throws<OnnxRevException>(() => Small(10).Split(0, 1));
        Assert.Throws<OnnxRevException>(() => Small(10).Split(1, 1));
        Assert.Throws<OnnxRevException>(() => Small(10).Split(0.01, 1));
    }

    [Test]
    public void Subset_And_Take_CopyTheChosenSamples()
    {
        var data = Small(10);
        var subset = data.Subset([9, 0, 9]);
        Assert.That(subset.Features, Is.EqualTo(new float[] { 9, -9, 0, 0, 9, -9 }));
        Assert.That(subset.Labels, Is.EqualTo(new long[] { 0, 0, 0 }));
        Assert.That(subset.ClassCount, Is.EqualTo(3));
        var first = data.Take(4);
        Assert.That(first.Labels, Is.EqualTo(new long[] { 0, 1, 2, 0 }));
        Assert.That(first.Features, Is.Not.SameAs(data.Features));
        Assert.That(data.Take(99).Count, Is.EqualTo(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset([10]));
    }

    [Test]
    public void Constructor_ChecksSizesAndLabels()
    {
        Assert.Throws<ArgumentException>(() => new Dataset(new float[5], new long[2], [2], 3, "x"));
        Assert.Throws<ArgumentException>(() => new Dataset(new float[4], new long[] { 0, 3 }, [2], 3, "x"));
    }

    private static void WriteTensor(string file, TensorProto tensor) => File.WriteAllBytes(file, tensor.ToByteArray());

    [Test]
    public void TestDataFolder_FeaturesFromInput0_LabelsFromLabelsOrOutput0()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            var x = new TensorProto { Name = "x", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 3, 1, 2, 2 } };
            x.FloatData.Add(Enumerable.Range(0, 12).Select(i => (float)i));
            WriteTensor(Path.Combine(dir, "input_0.pb"), x);
            var y = new TensorProto { Name = "y", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 3 } };
            y.Int64Data.Add([2, 0, 1]);
            WriteTensor(Path.Combine(dir, "output_0.pb"), y);

            Assert.That(DatasetLoader.DetectLayout(dir), Is.EqualTo(DataLayout.TestDataFolder));
            var data = DatasetLoader.Load(dir, new DataOptions { Scale = 0.5f });
            Assert.That(data.SampleShape, Is.EqualTo(new[] { 1, 2, 2 }));
            Assert.That(data.Labels, Is.EqualTo(new long[] { 2, 0, 1 }));
            Assert.That(data.Sample(2).ToArray(), Is.EqualTo(new[] { 4f, 4.5f, 5f, 5.5f }));

            var labels = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int32, Dims = { 3, 1 } };
            labels.Int32Data.Add([1, 1, 0]);
            WriteTensor(Path.Combine(dir, "labels.pb"), labels);
            Assert.That(DatasetLoader.Load(dir, new DataOptions { MaxSamples = 2 }).Labels, Is.EqualTo(new long[] { 1, 1 }));

            var floats = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, Dims = { 3 } };
            floats.FloatData.Add([1, 1, 0]);
            WriteTensor(Path.Combine(dir, "labels.pb"), floats);
            var ex = Assert.Throws<OnnxRevException>(() => DatasetLoader.Load(dir));
            Assert.That(ex!.Message, Does.Contain("labels.pb").And.Contain("integer"));

            labels.Dims[0] = 2;
            labels.Int32Data.RemoveAt(2);
            WriteTensor(Path.Combine(dir, "labels.pb"), labels);
            ex = Assert.Throws<OnnxRevException>(() => DatasetLoader.Load(dir));
            Assert.That(ex!.Message, Does.Contain("labels.pb").And.Contain("[3]"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

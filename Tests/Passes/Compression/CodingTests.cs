using OnnxRev.Building;
using OnnxRev.Passes.Compression;
using OnnxRev.Passes.Compression.Coding;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>Huffman codes and the .onnxrev package.</summary>
public class CodingTests
{
    [Test]
    public void Huffman_RoundTrips_AndIsNoLongerThanFixedWidth()
    {
        var r = new Random(3);
        var symbols = Enumerable.Range(0, 5000).Select(_ => (int)Math.Min(31, Math.Floor(-Math.Log(r.NextDouble()) * 4))).ToArray();
        var freq = new long[32];
        foreach (int s in symbols) freq[s]++;
        var code = Huffman.FromFrequencies(freq);
        var w = new BitWriter();
        foreach (int s in symbols) code.Encode(w, s);
        Assert.That(w.BitCount, Is.EqualTo(code.CostBits(freq)));
        Assert.That(w.BitCount, Is.LessThan(5L * symbols.Length));
        var decoder = new Huffman(code.Lengths);
        var rd = new BitReader(w.ToArray());
        Assert.That(symbols.Select(_ => decoder.Decode(rd)).ToArray(), Is.EqualTo(symbols));
    }

    [Test]
    public void Huffman_LimitsCodeLengths_OnFibonacciFrequencies()
    {
        var f = new long[40];
        f[0] = 1; f[1] = 1;
        for (int i = 2; i < 40; i++) f[i] = f[i - 1] + f[i - 2];
        var lengths = Huffman.CodeLengths(f);
        Assert.That(lengths.Max(), Is.LessThanOrEqualTo(Huffman.MaxLength));
        Assert.That(lengths.Sum(l => Math.Pow(2, -l)), Is.LessThanOrEqualTo(1.0));
        var code = new Huffman(lengths);
        var w = new BitWriter();
        for (int s = 0; s < 40; s++) code.Encode(w, s);
        var rd = new BitReader(w.ToArray());
        Assert.That(Enumerable.Range(0, 40).Select(_ => code.Decode(rd)), Is.EqualTo(Enumerable.Range(0, 40)));
    }

    private static byte[] ClusteredLeNet(double sparsity)
    {
        var model = ModelZoo.LeNet300100();
        new MagnitudePruning(sparsity).Run(model);
        new WeightClustering(bits: 5).Run(model);
        return ModelWriter.ToBytes(model);
    }

    [TestCase(0.0)]
    [TestCase(0.92)]
    public void Package_UnpacksToTheSameBytes(double sparsity)
    {
        var bytes = ClusteredLeNet(sparsity);
        var packed = OnnxRevPackage.Pack(bytes, 5);
        Assert.That(packed.Tensors.Select(t => t.Name), Is.EquivalentTo(new[] { "fc1.weight", "fc2.weight", "fc3.weight" }));
        if (sparsity > 0) Assert.That(packed.Tensors.First(t => t.Name == "fc1.weight").Mode, Is.EqualTo("sparse"));
        else Assert.That(packed.Tensors.All(t => t.Mode == "dense"), Is.True);
        Assert.That(packed.Bytes.Length, Is.LessThan(bytes.Length / (sparsity > 0 ? 30 : 5)));
        Assert.That(OnnxRevPackage.Unpack(packed.Bytes), Is.EqualTo(bytes));
    }

    [Test]
    public void Package_KeepsNegativeZeroAndNaNBitPatterns()
    {
        var model = ModelZoo.LinearClassifier(8, classes: 4, seed: 1);
        var site = WeightSite.Find(model).Single();
        var d = new float[site.Tensor.ElementCount];
        for (int i = 0; i < d.Length; i++) d[i] = (i % 4) switch { 0 => 0f, 1 => -0f, 2 => 1.5f, _ => float.NaN };
        d[3] = BitConverter.Int32BitsToSingle(0x7FC00123);
        site.Write(d);
        var bytes = ModelWriter.ToBytes(model);
        var packed = OnnxRevPackage.Pack(bytes, 8);
        Assert.That(packed.Tensors, Has.Count.EqualTo(1));
        Assert.That(OnnxRevPackage.Unpack(packed.Bytes), Is.EqualTo(bytes));
    }

    [Test]
    public void CorruptOrTruncatedPackages_AreOneClearError()
    {
        var packed = OnnxRevPackage.Pack(ClusteredLeNet(0.9), 5).Bytes;
        var flipped = (byte[])packed.Clone();
        flipped[packed.Length / 2] ^= 0x10;
        Assert.That(Assert.Throws<OnnxRevException>(() => OnnxRevPackage.Unpack(flipped, "'p'"))!.Message, Does.Contain("checksum"));
        Assert.That(Assert.Throws<OnnxRevException>(() => OnnxRevPackage.Unpack(packed.AsMemory(0, packed.Length - 7), "'p'"))!.Message, Does.Contain("truncated"));
        Assert.That(Assert.Throws<OnnxRevException>(() => OnnxRevPackage.Unpack(packed.AsMemory(0, 12), "'p'"))!.Message, Does.Contain("header"));
        Assert.That(Assert.Throws<OnnxRevException>(() => OnnxRevPackage.Unpack(new byte[] { 8, 1, 2, 3 }, "'p'"))!.Message, Does.Contain("magic"));
        var version = (byte[])packed.Clone();
        version[8] = 9;
        Assert.That(Assert.Throws<OnnxRevException>(() => OnnxRevPackage.Unpack(version, "'p'"))!.Message, Does.Contain("version 9"));
    }

    [Test]
    public void FlopCount_CountsGemmAndConvMacsPerSample()
    {
        Assert.That(FlopCount.Macs(ModelZoo.LeNet300100()).Total, Is.EqualTo(784 * 300 + 300 * 100 + 100 * 10));
        // SmallCnn: conv1 28²·16·9, conv2 14²·32·16·9, fc1 1568·128, fc2 128·10.
        Assert.That(FlopCount.Macs(ModelZoo.SmallCnn()).Total, Is.EqualTo(28 * 28 * 16 * 9 + 14 * 14 * 32 * 144 + 1568 * 128 + 128 * 10));
    }
}

using OnnxRev.Building;
using OnnxRev.Passes.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>BlockDiagonal: independent neuron groups become grouped MatMuls.</summary>
public class BlockDiagonalTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void ExactZeroOffBlocks_SplitIntoTwoMatMuls_AndKeepTheFunction(bool gemm)
    {
        var model = CompressionModels.TwoBlocks(gemm);
        var original = ModelWriter.ToBytes(model);
        var pass = new BlockDiagonal();
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(pass.Groups.Single().Value, Is.EquivalentTo(new[] { (4, 3), (4, 3) }));
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "MatMul"), Is.EqualTo(2));
        Assert.That(model.Graph.Nodes.Any(n => n.OpType == "Gemm"), Is.False);
        Assert.That(model.Graph.Initializers.Any(v => v.Name == "W"), Is.False);
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void DenseWeights_AreLeftAlone() =>
        Assert.That(new BlockDiagonal().Run(ModelZoo.LeNet300100()).Modified, Is.False);

    [Test]
    public void SignificanceTest_DropsUnsupportedWeights_AndSplits()
    {
        // Two groups of weights far outside the initialization range ±1/√8, plus small noise elsewhere: the noise is unsupported at α = 0.05.
        var model = CompressionModels.TwoBlocks(gemm: false);
        var w = model.Graph.Initializers.First(v => v.Name == "W");
        var data = w.Initializer!.ToFloatArray();
        var noise = CompressionModels.Random(data.Length, 9);
        for (int i = 0; i < data.Length; i++) data[i] = data[i] == 0 ? 0.01f * noise[i] : 3 * data[i] + Math.Sign(data[i]) * 2;
        model.Graph.ReplaceInitializer(w, Ir.Tensor.FromFloats("W", new long[] { 8, 6 }, data));
        Assert.That(new BlockDiagonal().Run(model).Modified, Is.False, "no exact zeros: no split without the test");
        var pass = new BlockDiagonal(alpha: 0.05);
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(pass.Groups.Single().Value.Count, Is.EqualTo(2));
        OrtCheck.Run(ModelWriter.ToBytes(model));
    }

    [Test]
    public void NormalQuantile_MatchesKnownValues()
    {
        Assert.That(BlockDiagonal.NormalQuantile(0.975), Is.EqualTo(1.959963985).Within(1e-6));
        Assert.That(BlockDiagonal.NormalQuantile(0.5), Is.EqualTo(0).Within(1e-12));
        Assert.That(BlockDiagonal.NormalQuantile(0.001), Is.EqualTo(-3.090232306).Within(1e-6));
    }
}

using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>MagnitudePruning, NmPruning and WeightSite.</summary>
public class PruningPassTests
{
    private static long Zeros(float[] d) => d.Count(v => BitConverter.SingleToInt32Bits(v) == 0);

    [Test]
    public void Global_PrunesExactlyTheShare_SmallestFirst_AndTheModelRuns()
    {
        var model = ModelZoo.LeNet300100();
        var before = WeightSite.Find(model).ToDictionary(s => s.Name, s => s.Read());
        var biases = model.Graph.Initializers.Where(v => v.Name.EndsWith(".bias", StringComparison.Ordinal)).ToDictionary(v => v.Name, v => v.Initializer!.ToFloatArray());
        Assert.That(new MagnitudePruning(0.9).Run(model).Modified, Is.True);
        var after = WeightSite.Find(model).ToDictionary(s => s.Name, s => s.Read());
        long total = after.Values.Sum(d => (long)d.Length);
        Assert.That(after.Values.Sum(Zeros), Is.EqualTo((long)Math.Round(0.9 * total)));
        // Every kept weight is at least as large as every pruned one.
        float maxPruned = 0, minKept = float.MaxValue;
        foreach (var (name, d) in after)
            for (int i = 0; i < d.Length; i++)
                if (d[i] == 0) maxPruned = Math.Max(maxPruned, Math.Abs(before[name][i]));
                else { minKept = Math.Min(minKept, Math.Abs(d[i])); Assert.That(d[i], Is.EqualTo(before[name][i])); }
        Assert.That(minKept, Is.GreaterThanOrEqualTo(maxPruned));
        foreach (var (name, d) in biases) Assert.That(model.Graph.Initializers.First(v => v.Name == name).Initializer!.ToFloatArray(), Is.EqualTo(d));
        OrtCheck.Run(ModelWriter.ToBytes(model));
    }

    [Test]
    public void LayerScope_AndPerLayerShares_PruneEachTensorToItsShare()
    {
        var model = ModelZoo.LeNet300100();
        new MagnitudePruning(0.8, PruningScope.Layer, new Dictionary<string, double> { ["fc3.weight"] = 0.5 }).Run(model);
        foreach (var s in WeightSite.Find(model))
        {
            double share = s.Name == "fc3.weight" ? 0.5 : 0.8;
            Assert.That(Zeros(s.Read()), Is.EqualTo((long)Math.Round(share * s.Tensor.ElementCount)), s.Name);
        }
        Assert.Throws<OnnxRevException>(() => new MagnitudePruning(0.5, PruningScope.Global, new Dictionary<string, double> { ["nope"] = 0.5 }).Run(ModelZoo.LeNet300100()));
    }

    [Test]
    public void ConstantNodeWeights_ArePrunedInPlace()
    {
        var g = new Graph("const_weight");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(2, 4));
        var w = GraphBuild.ConstantTensor(g, "w", GraphBuild.FloatTensor(new long[] { 4, 3 }, 1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12));
        GraphBuild.Output(g, GraphBuild.Op(g, "MatMul", new[] { x, w }, "y"), ModelFactory.FloatType(2, 3));
        var model = ModelFactory.Wrap(g);
        Assert.That(new MagnitudePruning(0.5).Run(model).Modified, Is.True);
        var site = WeightSite.Find(model).Single();
        Assert.That(site.ConstantNode, Is.Not.Null);
        Assert.That(site.Read(), Is.EqualTo(new float[] { 0, 0, 0, 0, 0, 0, 7, -8, 9, -10, 11, -12 }));
        var y = OrtCheck.Run(ModelWriter.ToBytes(model), Feeds.Floats("x", new long[] { 2, 4 }, 1, 1, 1, 1, 0, 0, 0, 1));
        Assert.That(new Ir.Tensor(y["y"].AsTensor()).ToFloatArray(), Is.EqualTo(new float[] { -3, 3, -3, -10, 11, -12 }));
    }

    [Test]
    public void NmPruning_KeepsTheTwoLargestOfEveryFour_AlongTheReductionAxis()
    {
        var model = ModelZoo.LeNet300100();
        var before = WeightSite.Find(model).ToDictionary(s => s.Name, s => s.Read());
        Assert.That(new NmPruning(2, 4).Run(model).Modified, Is.True);
        foreach (var s in WeightSite.Find(model))
        {
            // Gemm transB: W [out, in]; groups run along "in" (contiguous).
            var d = s.Read();
            var orig = before[s.Name];
            long inputs = s.Dims[1];
            for (long o = 0; o < s.Dims[0]; o++)
                for (long g0 = 0; g0 < inputs; g0 += 4)
                {
                    var idx = Enumerable.Range(0, 4).Select(j => (int)(o * inputs + g0 + j)).ToArray();
                    Assert.That(idx.Count(i => d[i] != 0), Is.LessThanOrEqualTo(2));
                    var kept = idx.Where(i => d[i] != 0).Select(i => Math.Abs(orig[i])).DefaultIfEmpty(float.MaxValue).Min();
                    var dropped = idx.Where(i => d[i] == 0).Select(i => Math.Abs(orig[i])).Max();
                    Assert.That(kept, Is.GreaterThanOrEqualTo(dropped));
                }
        }
        OrtCheck.Run(ModelWriter.ToBytes(model));
    }

    [Test]
    public void NmPruning_OnConv_GroupsInputChannelsPerKernelPosition()
    {
        var model = ModelZoo.SmallCnn();
        new NmPruning(2, 4).Run(model);
        var conv2 = WeightSite.Find(model).First(s => s.Name == "conv2.weight");
        var d = conv2.Read();   // [32, 16, 3, 3]
        for (int o = 0; o < 32; o++)
            for (int k = 0; k < 9; k++)
                for (int g0 = 0; g0 < 16; g0 += 4)
                    Assert.That(Enumerable.Range(g0, 4).Count(i => d[(o * 16 + i) * 9 + k] != 0), Is.LessThanOrEqualTo(2));
        // conv1 has one input channel (not a multiple of 4): unchanged.
        Assert.That(WeightSite.Find(model).First(s => s.Name == "conv1.weight").Read().Count(v => v == 0), Is.EqualTo(0));
        OrtCheck.Run(ModelWriter.ToBytes(model));
    }
}

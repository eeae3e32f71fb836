using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>Folding thin pairs back into one weight, and merging LoRA adapters, checked in ORT (|a − e| ≤ 1e-5 + 1e-4·|e|).</summary>
public class LowRankFoldTests
{
    private static void AssertClose(byte[] original, Model rewritten)
    {
        using var before = new OrtRunner(original, OrtCheck.NoOpt);
        var feeds = RandomInputs.For(before, 11);
        using var after = new OrtRunner(ModelWriter.ToBytes(rewritten), OrtCheck.NoOpt);
        var cmp = OutputComparison.Compare(after.Run(feeds), before.Run(feeds), 1e-4, 1e-5);
        Assert.That(cmp.Ok, Is.True, cmp.ToString());
    }

    [TestCase("resmlp_d8")]
    [TestCase("mobilenet_v3_small")]
    public void FoldUndoesAFullRankFactorization(string name)
    {
        var model = ModelReader.Load(Path.Combine(RepoPaths.Fixtures, name + ".onnx"));
        var original = ModelWriter.ToBytes(model);
        int nodes = model.Graph.Nodes.Count;
        var lowRank = new LowRankFactorization(new LowRankOptions { Rule = RankRule.Fixed, Rank = int.MaxValue, FactorAll = true, Uses = new HashSet<LowRankUse> { LowRankUse.MatMul, LowRankUse.Gemm, LowRankUse.Conv1x1 } });
        lowRank.Run(model);
        int factored = lowRank.Report!.Entries.Count(e => e.Rank > 0);
        Assert.That(factored, Is.GreaterThan(0));
        Assert.That(model.Graph.Nodes.Count, Is.EqualTo(nodes + factored));
        var fold = new LowRankFold();
        Assert.That(fold.Run(model).Modified, Is.True);
        // Every full-rank pair saves nothing and is folded; in MobileNet a linear 1×1 projection followed directly by the next
        // block's 1×1 expansion is such a pair too, so the fold may go below the original graph.
        long originalParameters = LowRankFactorization.ModelParameters(ModelReader.Load(Path.Combine(RepoPaths.Fixtures, name + ".onnx")));
        if (name == "resmlp_d8")
        {
            Assert.That(fold.Folded, Is.EqualTo(factored));
            Assert.That(model.Graph.Nodes.Count, Is.EqualTo(nodes));
            Assert.That(LowRankFactorization.ModelParameters(model), Is.EqualTo(originalParameters));
        }
        else
        {
            Assert.That(model.Graph.Nodes.Count, Is.LessThanOrEqualTo(nodes));
            Assert.That(LowRankFactorization.ModelParameters(model), Is.LessThanOrEqualTo(originalParameters));
        }
        AssertClose(original, model);
    }

    [Test]
    public void ThinPairsThatSaveParametersStayUnlessFoldAll()
    {
        var model = ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"));
        var original = ModelWriter.ToBytes(model);
        new LowRankFactorization(new LowRankOptions { Rule = RankRule.Fixed, Rank = 8 }).Run(model);
        var factored = ModelWriter.ToBytes(model);
        Assert.That(new LowRankFold().Run(model).Modified, Is.False);
        var all = new LowRankFold(all: true);
        Assert.That(all.Run(model).Modified, Is.True);
        AssertClose(factored, model);
        Assert.That(model.Graph.Nodes.Count, Is.EqualTo(ModelReader.FromProto(Schema.ModelProto.Parser.ParseFrom(original), null, "o").Graph.Nodes.Count));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LoraAdaptersAreMergedIntoTheirWeights(bool gemmLayout)
    {
        var g = new Graph("g");
        var x = Input(g, "x", ModelFactory.FloatType(3, 12));
        var rng = new Random(2);
        var w = FloatInit(g, "W", gemmLayout ? new long[] { 10, 12 } : new long[] { 12, 10 }, Enumerable.Range(0, 120).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray());
        Value y = gemmLayout ? Op(g, "Gemm", new[] { x, w }, "y", Ir.Attribute.FromInt("transB", 1)) : Op(g, "MatMul", new[] { x, w }, "y");
        Output(g, y, ModelFactory.FloatType(3, 10));
        var model = ModelFactory.Wrap(g, 13);
        var adapters = LoraAdapters.Insert(model, 3, 6f, TrainableSpec.All);
        // Give B non-zero values, as training would.
        foreach (var a in adapters)
        {
            var bv = model.Graph.Initializers.First(v => v.Name == a.B);
            model.Graph.ReplaceInitializer(bv, Tensor.FromFloats(a.B, bv.Initializer!.Dims, Enumerable.Range(0, (int)bv.Initializer.ElementCount).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray()));
        }
        var withAdapters = ModelWriter.ToBytes(model);
        Assert.That(model.Graph.Nodes.Count, Is.EqualTo(5));
        var fold = new LowRankFold();
        Assert.That(fold.Run(model).Modified, Is.True);
        Assert.That(model.Graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { gemmLayout ? "Gemm" : "MatMul" }));
        Assert.That(model.Graph.Outputs[0].Name, Is.EqualTo("y"));
        AssertClose(withAdapters, model);
    }
}

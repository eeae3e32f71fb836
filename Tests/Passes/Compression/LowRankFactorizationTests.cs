using MathNet.Numerics.LinearAlgebra;
using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>
/// The low-rank pass on real exported graphs and on graphs built for each op form, checked in ONNX Runtime with its
/// optimizations off. Tolerance of the exact (full-rank) rewrites: |a − e| ≤ 1e-5 + 1e-4·|e| — the factored product
/// sums in another order in float32, so it cannot match bit for bit.
/// </summary>
public class LowRankFactorizationTests
{
    private const double Rtol = 1e-4, Atol = 1e-5;

    private static LowRankFactorization Pass(LowRankOptions o) => new(o);

    private static void AssertClose(byte[] original, Model rewritten, IReadOnlyDictionary<string, DataValue>? inputs = null)
    {
        using var before = new OrtRunner(original, OrtCheck.NoOpt, "original");
        var feeds = inputs ?? RandomInputs.For(before, 7);
        var expected = before.Run(feeds);
        using var after = new OrtRunner(ModelWriter.ToBytes(rewritten), OrtCheck.NoOpt, "factored");
        var cmp = OutputComparison.Compare(after.Run(feeds), expected, Rtol, Atol);
        Assert.That(cmp.Ok, Is.True, cmp.ToString());
    }

    private static float[] Floats(int n, int seed) { var r = new Random(seed); return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray(); }

    [TestCase("bert_tiny")]
    [TestCase("squeezenet1_1")]
    [TestCase("mobilenet_v3_small")]
    [TestCase("resmlp_d8")]
    public void FullRankPreservesTheFixturesFunction(string name)
    {
        var path = Path.Combine(RepoPaths.Fixtures, name + ".onnx");
        var model = ModelReader.Load(path);
        var original = ModelWriter.ToBytes(model);
        var pass = Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = int.MaxValue, FactorAll = true });
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(pass.Report!.Entries.All(e => e.Rank > 0), Is.True, "every factorable weight was factored");
        using var runner = new OrtRunner(original, OrtCheck.NoOpt);
        AssertClose(original, model, TestDataFolder.Read(Path.Combine(RepoPaths.Fixtures, name + "_data"), runner).Inputs);
    }

    /// <summary>A weight of exact rank 3 held in a Constant node, read by a MatMul with batched [2,5,32] input: energy 1 finds rank 3 and keeps the function.</summary>
    [Test]
    public void ExactlyLowRankConstantWeightIsFactoredWithoutError()
    {
        var g = new Graph("g");
        var x = Input(g, "x", ModelFactory.FloatType(2, 5, 32));
        var rng = new Random(4);
        var a = Matrix<double>.Build.Dense(32, 3, (_, _) => rng.NextDouble() - 0.5) * Matrix<double>.Build.Dense(3, 24, (_, _) => rng.NextDouble() - 0.5);
        var w = new Value("W");
        var c = new Node("Constant", Array.Empty<Value?>(), new[] { w }, name: "W_const");
        c.Attributes.Add(Attr.FromTensor("value", Tensor.FromFloats("", new long[] { 32, 24 }, a.ToRowMajorArray().Select(v => (float)v).ToArray()).Proto));
        g.Append(c);
        Output(g, Op(g, "MatMul", new[] { x, w }, "y"), ModelFactory.FloatType(2, 5, 24));
        var model = ModelFactory.Wrap(g, 13);
        var original = ModelWriter.ToBytes(model);
        var pass = Pass(new LowRankOptions { Rule = RankRule.Energy, Energy = 1.0, MinParameters = 0 });
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(pass.Report!.Entries.Single().Rank, Is.EqualTo(3));
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "MatMul"), Is.EqualTo(2));
        Assert.That(model.Graph.Nodes.Any(n => n.OpType == "Constant"), Is.False, "the unused Constant is removed");
        Assert.That(pass.Report.ModelParametersAfter, Is.EqualTo(3 * (32 + 24)));
        AssertClose(original, model);
    }

    [TestCase(0, 0, 13)]
    [TestCase(0, 1, 13)]
    [TestCase(1, 0, 13)]
    [TestCase(1, 1, 13)]
    [TestCase(1, 1, 9)]
    [TestCase(0, 0, 9)]
    public void GemmAttributesAndBiasAreKept(int transA, int transB, int opset)
    {
        var g = new Graph("g");
        var a = Input(g, "a", transA == 1 ? ModelFactory.FloatType(20, 4) : ModelFactory.FloatType(4, 20));
        var b = FloatInit(g, "B", transB == 1 ? new long[] { 16, 20 } : new long[] { 20, 16 }, Floats(320, 1));
        var bias = FloatInit(g, "C", new long[] { 16 }, Floats(16, 2));
        var y = Op(g, "Gemm", new Value?[] { a, b, bias }, "y", Attr.FromInt("transA", transA), Attr.FromInt("transB", transB), Attr.FromFloat("alpha", 0.7f), Attr.FromFloat("beta", 1.3f));
        Output(g, y, ModelFactory.FloatType(4, 16));
        var model = ModelFactory.Wrap(g, opset);
        var original = ModelWriter.ToBytes(model);
        Assert.That(Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = 16, FactorAll = true, MinParameters = 0 }).Run(model).Modified, Is.True);
        AssertClose(original, model);
        // Truncated to rank 4 (4·36 < 320): two Gemm/MatMul nodes, and ORT runs them.
        var m2 = ModelReader.FromProto(Schema.ModelProto.Parser.ParseFrom(original), null, "clone");
        Assert.That(Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = 4, MinParameters = 0 }).Run(m2).Modified, Is.True);
        Assert.That(m2.Graph.Nodes.Count, Is.EqualTo(2));
        Assert.That(OrtCheck.Run(ModelWriter.ToBytes(m2))["y"].AsTensor().Dims, Is.EqualTo(new long[] { 4, 16 }));
    }


    /// <summary>Truncated rank r: fed the identity, the factored MatMul returns Ŵ, and ‖W − Ŵ‖_F equals the norm of the discarded singular values (Eckart–Young).</summary>
    [Test]
    public void TruncationErrorInOrtMatchesTheDiscardedSingularValues()
    {
        const int k = 40, n = 28, r = 9;
        var w = Floats(k * n, 5);
        var g = new Graph("g");
        var x = Input(g, "x", ModelFactory.FloatType(k, k));
        var wv = FloatInit(g, "W", new long[] { k, n }, w);
        Output(g, Op(g, "MatMul", new[] { x, wv }, "y"), ModelFactory.FloatType(k, n));
        var model = ModelFactory.Wrap(g, 13);
        Assert.That(Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = r, MinParameters = 0 }).Run(model).Modified, Is.True);
        var eye = new float[k * k];
        for (int i = 0; i < k; i++) eye[i * k + i] = 1;
        var y = TensorProtoData.Floats(OrtCheck.Run(ModelWriter.ToBytes(model), Feeds.Floats("x", new long[] { k, k }, eye))["y"].AsTensor());
        double err = Math.Sqrt(y.Zip(w, (a, b) => (double)(a - b) * (a - b)).Sum());
        var s = Matrix<double>.Build.Dense(k, n, (i, j) => w[i * n + j]).Svd().S;
        double bound = Math.Sqrt(Enumerable.Range(r, n - r).Sum(i => s[i] * s[i]));
        Assert.That(err, Is.EqualTo(bound).Within(1e-4 * bound));
    }

    /// <summary>r·(m + n) &lt; m·n: a 64×64 weight is factored at rank 31 (3968 &lt; 4096), not at 32 (4096).</summary>
    [Test]
    public void FactorsOnlyWhereTheRankSavesParametersAndFlops()
    {
        Model Build()
        {
            var g = new Graph("g");
            var x = Input(g, "x", ModelFactory.FloatType(3, 64));
            var w = FloatInit(g, "W", new long[] { 64, 64 }, Floats(4096, 3));
            Output(g, Op(g, "MatMul", new[] { x, w }, "y"), ModelFactory.FloatType(3, 64));
            return ModelFactory.Wrap(g, 13);
        }
        Assert.That(Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = 32 }).Run(Build()).Modified, Is.False);
        var m = Build();
        var pass = Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = 31 });
        Assert.That(pass.Run(m).Modified, Is.True);
        Assert.That(pass.Report!.ModelParametersAfter, Is.EqualTo(31 * 128));
        // Tucker-2 of a 3×3 kernel at full channel ranks saves nothing: left alone unless asked.
        var g2 = new Graph("g");
        var xi = Input(g2, "x", ModelFactory.FloatType(1, 8, 10, 10));
        var k = FloatInit(g2, "K", new long[] { 8, 8, 3, 3 }, Floats(576, 4));
        Output(g2, Op(g2, "Conv", new[] { xi, k }, "y"), ModelFactory.FloatType(1, 8, 8, 8));
        Assert.That(Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = 8, MinParameters = 0 }).Run(ModelFactory.Wrap(g2, 13)).Modified, Is.False);
    }

    [Test]
    public void SharedWeightIsFactoredOnceAndAWeightWithOtherReadersIsLeftAlone()
    {
        var g = new Graph("g");
        var x = Input(g, "x", ModelFactory.FloatType(2, 32));
        var w = FloatInit(g, "W", new long[] { 32, 32 }, Floats(1024, 6));
        var u = FloatInit(g, "U", new long[] { 32, 32 }, Floats(1024, 7));
        var h = Op(g, "MatMul", new[] { x, w }, "h");
        var y = Op(g, "MatMul", new[] { h, w }, "y");
        var z = Op(g, "MatMul", new[] { y, u }, "z");
        var uu = Op(g, "Mul", new[] { u, u }, "uu");
        Output(g, z, ModelFactory.FloatType(2, 32));
        Output(g, uu, ModelFactory.FloatType(32, 32));
        var model = ModelFactory.Wrap(g, 13);
        var original = ModelWriter.ToBytes(model);
        var pass = Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = 32, FactorAll = true, MinParameters = 0 });
        pass.Run(model);
        Assert.That(pass.Report!.Entries.Select(e => e.Weight), Is.EqualTo(new[] { "W" }), "U has a reader that is not factorable");
        Assert.That(model.Graph.Initializers.Count(v => v.Name.StartsWith("W.lowrank", StringComparison.Ordinal)), Is.EqualTo(2), "one pair of factors for both readers");
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "MatMul"), Is.EqualTo(5));
        AssertClose(original, model);
    }

    [TestCase(1, 1, 0)]
    [TestCase(2, 1, 1)]
    [TestCase(1, 2, 0)]
    public void ConvolutionsAreFactoredExactlyAtFullRank(int stride, int kernelHalf, int pad)
    {
        int k = kernelHalf == 1 ? 1 : 3;
        var g = new Graph("g");
        var x = Input(g, "x", ModelFactory.FloatType(2, 6, 9, 9));
        var w = FloatInit(g, "K", new long[] { 10, 6, k, k }, Floats(60 * k * k, 8));
        var bias = FloatInit(g, "b", new long[] { 10 }, Floats(10, 9));
        var y = Op(g, "Conv", new Value?[] { x, w, bias }, "y", Attr.FromInts("strides", new long[] { stride, stride }), Attr.FromInts("pads", new long[] { pad, pad, pad, pad }));
        g.Outputs.Add(y);
        var model = ModelFactory.Wrap(g, 13);
        var original = ModelWriter.ToBytes(model);
        var pass = Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = 100, FactorAll = true, MinParameters = 0 });
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(model.Graph.Nodes.Count(n => n.OpType == "Conv"), Is.EqualTo(k == 1 ? 2 : 3));
        AssertClose(original, model);
    }

    [Test]
    public void EmbeddingGatherBecomesGatherThenMatMul()
    {
        var g = new Graph("g");
        var ids = Input(g, "ids", ModelFactory.TensorType((int)Schema.TensorProto.Types.DataType.Int64, 2, 7));
        var e = FloatInit(g, "E", new long[] { 50, 16 }, Floats(800, 10));
        var y = Op(g, "Gather", new[] { e, ids }, "y");
        g.Outputs.Add(y);
        var model = ModelFactory.Wrap(g, 13);
        var original = ModelWriter.ToBytes(model);
        Assert.That(Pass(new LowRankOptions { Rule = RankRule.Fixed, Rank = 16, FactorAll = true, MinParameters = 0 }).Run(model).Modified, Is.True);
        Assert.That(model.Graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Gather", "MatMul" }));
        var idValues = new Schema.TensorProto { Name = "ids", DataType = (int)Schema.TensorProto.Types.DataType.Int64 };
        idValues.Dims.Add(2); idValues.Dims.Add(7);
        idValues.Int64Data.AddRange(new long[] { 0, 3, 49, 7, 7, 12, -1, 5, 6, 40, 41, 2, 1, 0 });
        AssertClose(original, model, new Dictionary<string, DataValue> { ["ids"] = DataValue.Tensor(idValues) });
    }

    [Test]
    public void TargetParametersIsMetOverTheWholeModel()
    {
        var model = ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "bert_tiny.onnx"));
        long before = LowRankFactorization.ModelParameters(model);
        var pass = Pass(new LowRankOptions { Rule = RankRule.TargetParameters, TargetParameters = 0.75 });
        Assert.That(pass.Run(model).Modified, Is.True);
        long after = LowRankFactorization.ModelParameters(model);
        Assert.That(after, Is.LessThanOrEqualTo((long)(0.75 * before)));
        Assert.That(after, Is.GreaterThan((long)(0.70 * before)), "the allocation spends the budget instead of over-compressing");
        Assert.That(pass.Report!.ModelParametersAfter, Is.EqualTo(after));
        using var runner = new OrtRunner(ModelWriter.ToBytes(model), OrtCheck.NoOpt);
        Assert.That(runner.Run(RandomInputs.For(runner, 1)), Is.Not.Empty);
    }

    [Test]
    public void UnreachableTargetIsAnInputError()
    {
        var model = ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "lstm.onnx"));
        var e = Assert.Throws<OnnxRevException>(() => Pass(new LowRankOptions { Rule = RankRule.TargetParameters, TargetParameters = 0.01 }).Run(model));
        Assert.That(e!.Message, Does.Contain("cannot be reached"));
    }

    /// <summary>Every fixture: the pass (energy 0.9, and a 0.75 parameter target where reachable) either leaves it unchanged or gives a model ORT runs with outputs of the same shapes.</summary>
    [Test]
    public void EveryFixtureIsUnchangedOrRuns([ValueSource(typeof(RepoPaths), nameof(RepoPaths.FixtureModels))] string name)
    {
        foreach (var options in new[] { new LowRankOptions { Rule = RankRule.Energy, Energy = 0.9 }, new LowRankOptions { Rule = RankRule.TargetParameters, TargetParameters = 0.75 } })
        {
            var model = ModelReader.Load(Path.Combine(RepoPaths.Fixtures, name + ".onnx"));
            var original = ModelWriter.ToBytes(model);
            PassResult result;
            try { result = Pass(options).Run(model); }
            catch (OnnxRevException e) when (options.Rule == RankRule.TargetParameters && e.Message.Contains("cannot be reached")) { continue; }
            if (!result.Modified)
            {
                Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(original), $"{name}: reported unchanged but changed");
                continue;
            }
            using var before = new OrtRunner(original, OrtCheck.NoOpt);
            var feeds = RandomInputs.For(before, 3);
            var expected = before.Run(feeds);
            using var after = new OrtRunner(ModelWriter.ToBytes(model), OrtCheck.NoOpt);
            var actual = after.Run(feeds);
            Assert.That(actual.Keys, Is.EqualTo(expected.Keys));
            foreach (var (k, v) in expected) Assert.That(actual[k].AsTensor().Dims, Is.EqualTo(v.AsTensor().Dims), $"{name}: output {k}");
        }
    }
}

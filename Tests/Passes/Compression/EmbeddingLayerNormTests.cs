using MathNet.Numerics.LinearAlgebra;
using OnnxRev.Ir;
using OnnxRev.Passes.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>The LayerNorm after an embedding lookup, found in real exports (LayerNormalization op and the decomposed opset-13 form), its column metric, and the two-sided factorization that uses it.</summary>
public class EmbeddingLayerNormTests
{
    private static float[]? ScaleOfWordEmbedding(Model model)
    {
        var gather = model.Graph.Nodes.Where(n => n.OpType == "Gather" && n.Inputs[0] is { IsConstant: true, Initializer: { } t } && t.Dims.Count == 2)
            .OrderByDescending(n => n.Inputs[0]!.Initializer!.Dims[0]).First();
        return EmbeddingLayerNorm.Scale(gather.Outputs[0], (int)gather.Inputs[0]!.Initializer!.Dims[1]);
    }

    private static float[] Initializer(Model model, string name) => model.Graph.Initializers.First(v => v.Name == name).Initializer!.ToFloatArray();

    [Test]
    public void FindsTheLayerNormalizationOpInBertTiny()
    {
        var model = ModelReader.Load(Path.Combine(RepoPaths.Fixtures, "bert_tiny.onnx"));
        var gamma = ScaleOfWordEmbedding(model);
        Assert.That(gamma, Is.Not.Null);
        var ln = model.Graph.Nodes.First(n => n.OpType == "LayerNormalization");
        var scale = ln.Inputs[1]!;
        while (scale.Producer is { OpType: "Identity" } id) scale = id.Inputs[0]!;
        Assert.That(gamma, Is.EqualTo(scale.Initializer!.ToFloatArray()));
    }

    [Test]
    public void FindsTheDecomposedLayerNormInMiniLm()
    {
        var model = ModelReader.Load(PackageModels.MiniLm);
        Assert.That(ScaleOfWordEmbedding(model), Is.EqualTo(Initializer(model, "embeddings.LayerNorm.weight")));
    }

    [Test]
    public void NoLayerNormNoScale()
    {
        // resmlp_d8 has no embedding; a Gather straight into a MatMul has no LayerNorm after it.
        var g = new Graph("g");
        var model = ModelFactory.Wrap(g, 13);
        var b = new OnnxRev.Building.GraphBuilder(g);
        var table = b.Initializer(Tensor.FromFloats("", new long[] { 10, 4 }, new float[40]), "table");
        var ids = g.AddInput(new Value("ids", new OnnxRev.Schema.TypeProto { TensorType = new OnnxRev.Schema.TypeProto.Types.Tensor { ElemType = 7 } }));
        var looked = b.Op("Gather", new[] { table, ids });
        g.Outputs.Add(b.Op("MatMul", new[] { looked, b.Initializer(Tensor.FromFloats("", new long[] { 4, 2 }, new float[8]), "w") }));
        Assert.That(EmbeddingLayerNorm.Scale(looked, 4), Is.Null);
        Assert.That(model.Graph.Nodes, Has.Count.EqualTo(2));
    }

    [Test]
    public void ColumnMetricMeasuresTheCenteredScaledError()
    {
        var gamma = new[] { 0.5f, 2f, 1f, 3f, 0.1f };
        var g = Matrix<double>.Build.DenseOfRowMajor(5, 5, EmbeddingLayerNorm.ColumnMetric(gamma));
        var rng = new Random(4);
        double eps = 1e-4 * gamma.Average(x => (double)x * x);
        for (int trial = 0; trial < 5; trial++)
        {
            var x = Vector<double>.Build.Dense(5, _ => rng.NextDouble() - 0.5);
            double mean = x.Average();
            double expected = Enumerable.Range(0, 5).Sum(i => (double)gamma[i] * gamma[i] * (x[i] - mean) * (x[i] - mean)) + eps * x.DotProduct(x);
            Assert.That(x * g * x, Is.EqualTo(expected).Within(1e-12));
        }
    }

    /// <summary>Row weights D and column metric G: the factors reach the discarded spectrum in ‖D^½(S − Ŝ)G^½‖ and beat the row-weighted factors there.</summary>
    [Test]
    public void TwoSidedFactorsMinimizeTheWeightedError()
    {
        const int m = 60, n = 8, rank = 3;
        var rng = new Random(9);
        var data = Enumerable.Range(0, m * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var rows = Enumerable.Range(0, m).Select(i => 0.1 + rng.NextDouble() * (i % 7)).ToArray();
        var gamma = Enumerable.Range(0, n).Select(_ => (float)(0.2 + 2 * rng.NextDouble())).ToArray();
        var metric = EmbeddingLayerNorm.ColumnMetric(gamma);
        var s = Matrix<double>.Build.Dense(m, n, (i, j) => data[i * n + j]);
        var gm = Matrix<double>.Build.DenseOfRowMajor(n, n, metric);
        double Error((float[] L, float[] R) f, int r)
        {
            var e = s - Matrix<double>.Build.Dense(m, r, (i, j) => f.L[i * r + j]) * Matrix<double>.Build.Dense(r, n, (i, j) => f.R[i * n + j]);
            double total = 0;
            for (int i = 0; i < m; i++) total += rows[i] * (e.Row(i) * gm * e.Row(i));
            return total;
        }
        var both = new LowRankBasis(data, m, n, SideWeighting.FromDiagonal(rows, metric, n));
        var rowsOnly = new LowRankBasis(data, m, n, SideWeighting.FromDiagonal(rows));
        double reached = Error(both.Factors(rank), rank);
        Assert.That(reached, Is.EqualTo(both.Discarded(rank)).Within(1e-5 * both.Total));
        Assert.That(reached, Is.LessThan(Error(rowsOnly.Factors(rank), rank)));
        Assert.That(Error(both.Factors(n), n), Is.LessThan(1e-9 * both.Total), "full rank is exact");
    }
}

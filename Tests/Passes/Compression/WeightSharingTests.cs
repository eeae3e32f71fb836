using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>KMeans1D, WeightClustering and the codebook form (incl. its gradient).</summary>
public class WeightSharingTests
{
    [TestCase(CentroidInit.Linear)]
    [TestCase(CentroidInit.KMeansPlusPlus)]
    [TestCase(CentroidInit.Density)]
    public void KMeans_FindsThreeWellSeparatedClusters(CentroidInit init)
    {
        var r = new Random(5);
        float[] centers = { -2f, 0.5f, 4f };
        var values = Enumerable.Range(0, 3000).Select(i => centers[i % 3] + (float)(r.NextDouble() - 0.5) * 0.2f).ToArray();
        var c = KMeans1D.Fit(values, 3, init, seed: 1);
        Assert.That(c, Has.Length.EqualTo(3));
        for (int i = 0; i < 3; i++) Assert.That(c[i], Is.EqualTo(centers[i]).Within(0.02));
        Assert.That(KMeans1D.Fit(values, 3, init, seed: 1), Is.EqualTo(c), "deterministic");
    }

    [Test]
    public void Clustering_LimitsDistinctValues_KeepsZeros_AndTheModelRuns()
    {
        var model = ModelZoo.LeNet300100();
        new MagnitudePruning(0.5).Run(model);
        var zeros = WeightSite.Find(model).ToDictionary(s => s.Name, s => s.Read().Select(v => v == 0).ToArray());
        Assert.That(new WeightClustering(bits: 3).Run(model).Modified, Is.True);
        foreach (var s in WeightSite.Find(model))
        {
            var d = s.Read();
            Assert.That(d.Where(v => v != 0).Distinct().Count(), Is.LessThanOrEqualTo(7), s.Name);
            Assert.That(d.Select(v => v == 0).ToArray(), Is.EqualTo(zeros[s.Name]), s.Name);
        }
        OrtCheck.Run(ModelWriter.ToBytes(model));
    }

    [Test]
    public void CodebookForm_ComputesTheSame_AndDensifyRestoresTheWeights()
    {
        var model = ModelZoo.LeNet300100();
        new MagnitudePruning(0.7).Run(model);
        new WeightClustering(bits: 4).Run(model);
        var dense = ModelWriter.ToBytes(model);
        var form = TrainingGraphBuilder.Clone(model);
        var weights = Codebooks.ToCodebookForm(form, 15);
        Assert.That(weights.Select(w => w.Weight), Is.EquivalentTo(new[] { "fc1.weight", "fc2.weight", "fc3.weight" }));
        Assert.That(form.Graph.Nodes.Count(n => n.OpType == "Gather"), Is.EqualTo(3));
        OrtCheck.AssertEquivalent(dense, form);
        var back = ModelReader.Load(dense);
        Codebooks.Densify(form, back, weights);
        Assert.That(ModelWriter.ToBytes(back), Is.EqualTo(dense));
    }

    [Test]
    public void CodebookGradient_IsTheSumOfTheSharingWeightsGradients()
    {
        // One Gemm layer with 4-bit shared weights: ∂L/∂codebook[j] must equal Σ ∂L/∂W over the weights with index j + 1.
        var model = ModelZoo.LinearClassifier(12, classes: 5, seed: 2);
        new MagnitudePruning(0.3).Run(model);
        new WeightClustering(bits: 3).Run(model);
        var site = WeightSite.Find(model).Single();
        var (book, indices) = Codebooks.Split(site.Read());
        var form = TrainingGraphBuilder.Clone(model);
        var cw = Codebooks.ToCodebookForm(form, 7).Single();
        var x = CompressionModels.Random(4 * 12, 11);
        var feeds = new Dictionary<string, DataValue>
        {
            [model.Graph.Inputs[0].Name] = Feeds.Floats(model.Graph.Inputs[0].Name, new long[] { 4, 12 }, x)[model.Graph.Inputs[0].Name],
        };
        float[] Grad(Ir.Model m, string parameter)
        {
            var (g, grads, labels) = TrainingGraphBuilder.BuildGradient(m, new LossOptions(LossKind.CrossEntropy), new TrainableSpec("names:" + parameter));
            var lt = new Schema.TensorProto { Name = labels!, DataType = (int)Schema.TensorProto.Types.DataType.Int64 };
            lt.Dims.Add(4);
            lt.Int64Data.AddRange(new long[] { 0, 3, 1, 4 });
            var all = new Dictionary<string, DataValue>(feeds) { [labels!] = DataValue.Tensor(lt) };
            var result = OrtCheck.Run(ModelWriter.ToBytes(g), all);
            return new Ir.Tensor(result[grads.Single().Output].AsTensor()).ToFloatArray();
        }
        var denseGrad = Grad(model, site.Name);
        var bookGrad = Grad(form, cw.Codebook);
        Assert.That(bookGrad, Has.Length.EqualTo(book.Length));
        for (int j = 0; j < book.Length; j++)
        {
            double sum = 0;
            for (int i = 0; i < indices.Length; i++) if (indices[i] == j + 1) sum += denseGrad[i];
            Assert.That(bookGrad[j], Is.EqualTo(sum).Within(1e-5 + 1e-5 * Math.Abs(sum)), $"centroid {j}");
        }
    }
}

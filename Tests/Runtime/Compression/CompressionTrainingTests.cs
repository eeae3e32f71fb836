using OnnxRev.Building;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Compression;
using OnnxRev.Runtime.Data;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Compression;

/// <summary>Masked fine-tuning, codebook fine-tuning and gradient saliency on real MNIST digits.</summary>
public class CompressionTrainingTests
{
    private static Dataset Digits(int count) => TrainedModels.MnistSplit().Train.Take(count);

    private static IReadOnlyDictionary<string, float[]> Weights(Ir.Model m) => WeightSite.Find(m).ToDictionary(s => s.Name, s => s.Read());

    [TestCase(true)]
    [TestCase(false)]
    public void PrunedWeights_StayExactlyZero_UnderAdamWWithWeightDecay_OnlyWithKeepZeros(bool keepZeros)
    {
        var model = ModelZoo.LeNet300100();
        new MagnitudePruning(0.9).Run(model);
        var before = Weights(model);
        var tuned = CompressionTraining.FineTune(model, Digits(1024), new FineTuneSettings { Epochs = 1, BatchSize = 64, LearningRate = 1e-2, WeightDecay = 0.1 }, keepZeros);
        var after = Weights(tuned);
        long zerosKept = 0, zerosBefore = 0, nonZerosMoved = 0;
        foreach (var (name, b) in before)
            for (int i = 0; i < b.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(b[i]) == 0) { zerosBefore++; if (BitConverter.SingleToInt32Bits(after[name][i]) == 0) zerosKept++; }
                else if (after[name][i] != b[i]) nonZerosMoved++;
            }
        Assert.That(nonZerosMoved, Is.GreaterThan(0), "training changed nothing");
        if (keepZeros) Assert.That(zerosKept, Is.EqualTo(zerosBefore), "a pruned weight moved");
        else Assert.That(zerosKept, Is.LessThan(zerosBefore / 2), "without masks most pruned weights train again (the check can fail); those on always-blank pixels get no gradient");
        Assert.That(tuned.Graph.Nodes.Select(n => n.OpType), Is.EqualTo(model.Graph.Nodes.Select(n => n.OpType)), "masks do not reach the exported model");
    }

    [Test]
    public void CodebookFineTuning_MovesCentroids_KeepsIndicesAndZeros()
    {
        var model = ModelZoo.LeNet300100();
        new MagnitudePruning(0.8).Run(model);
        new WeightClustering(bits: 4).Run(model);
        var before = WeightSite.Find(model).ToDictionary(s => s.Name, s => Codebooks.Split(s.Read()));
        var tuned = CompressionTraining.FineTuneCodebooks(model, Digits(1024), new FineTuneSettings { Epochs = 1, LearningRate = 1e-3 }, 15);
        foreach (var s in WeightSite.Find(tuned))
        {
            var (book, indices) = Codebooks.Split(s.Read());
            var (oldBook, oldIndices) = before[s.Name];
            Assert.That(book, Has.Length.EqualTo(oldBook.Length), s.Name);
            // Same partition of the weights (centroids keep their order for small steps; compare groupings, not labels).
            var map = new Dictionary<int, int>();
            for (int i = 0; i < indices.Length; i++)
            {
                Assert.That(indices[i] == 0, Is.EqualTo(oldIndices[i] == 0), $"{s.Name}[{i}] zero changed");
                if (map.TryGetValue(oldIndices[i], out int m)) Assert.That(indices[i], Is.EqualTo(m));
                else map[oldIndices[i]] = indices[i];
            }
            Assert.That(book, Is.Not.EqualTo(oldBook), $"{s.Name}: centroids did not train");
        }
    }

    [Test]
    public void GradientSaliency_IsMeanAbsWeightTimesGradient_AsOnnxrevGradComputesIt()
    {
        // One batch of 64 digits: the saliency must equal |w · g| with g written by `onnxrev grad` for that batch.
        string dir = RepoPaths.NewTempDir();
        try
        {
            var model = ModelZoo.LeNet300100();
            string path = Path.Combine(dir, "lenet.onnx");
            ModelWriter.Save(model, path);
            var batch = Digits(64);
            var x = new Schema.TensorProto { Name = "x", DataType = (int)Schema.TensorProto.Types.DataType.Float, RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(batch.Features.AsSpan())) };
            x.Dims.AddRange(new long[] { 64, 784 });
            var y = new Schema.TensorProto { Name = "y", DataType = (int)Schema.TensorProto.Types.DataType.Int64 };
            y.Dims.Add(64);
            y.Int64Data.AddRange(batch.Labels);
            File.WriteAllBytes(Path.Combine(dir, "x.pb"), Google.Protobuf.MessageExtensions.ToByteArray(x));
            File.WriteAllBytes(Path.Combine(dir, "y.pb"), Google.Protobuf.MessageExtensions.ToByteArray(y));
            var r = CliRunner.Run("grad", path, "--input", Path.Combine(dir, "x.pb"), "--labels", Path.Combine(dir, "y.pb"), "--loss", "cross-entropy", "-o", Path.Combine(dir, "g"), "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            var sites = WeightSite.Find(model);
            var scores = GradientSaliency.Scores(model, sites, batch, batchSize: 64, maxBatches: 1);
            for (int k = 0; k < sites.Count; k++)
            {
                var g = new Ir.Tensor(Schema.TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "g", sites[k].Name + ".pb")))).ToFloatArray();
                var w = sites[k].Read();
                for (int i = 0; i < w.Length; i += 97)
                    Assert.That(scores[k][i], Is.EqualTo(Math.Abs(w[i] * g[i])).Within(1e-6 + 1e-4 * Math.Abs(w[i] * g[i])), $"{sites[k].Name}[{i}]");
            }
            var zeros = GradientSaliency.Prune(model, Digits(512), 0.9, PruningScope.Layer, maxBatches: 2);
            foreach (var s in WeightSite.Find(model)) Assert.That(zeros[s.Name], Is.EqualTo((long)Math.Round(0.9 * s.Tensor.ElementCount)));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

using System.Diagnostics;
using OnnxRev.Ir;
using OnnxRev.Passes.Compression;
using OnnxRev.Passes.Compression.Coding;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime.Data;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Compression;

/// <summary>How weights are ranked for pruning.</summary>
public enum PruningCriterion
{
    /// <summary>|w|.</summary>
    Magnitude,
    /// <summary>|w·∂L/∂w| on calibration batches (<see cref="GradientSaliency"/>).</summary>
    Gradient,
}

/// <summary>Settings of <see cref="DeepCompression.Run"/>.</summary>
public sealed record DeepCompressionOptions
{
    /// <summary>Share of Gemm/MatMul/Conv weights pruned (Deep Compression: 92 % for LeNet-300-100).</summary>
    public double Sparsity { get; init; } = 0.92;

    /// <summary>One global threshold, or the same share per layer.</summary>
    public PruningScope Scope { get; init; } = PruningScope.Global;

    /// <summary>Per-weight shares overriding <see cref="Sparsity"/>.</summary>
    public IReadOnlyDictionary<string, double>? LayerSparsity { get; init; }

    /// <summary>Magnitude or gradient saliency.</summary>
    public PruningCriterion Criterion { get; init; } = PruningCriterion.Magnitude;

    /// <summary>Pruning rounds, each followed by fine-tuning (sparsity rises as s·(1 − (1 − i/R)³), Zhu and Gupta); 1 = one shot.</summary>
    public int PruneRounds { get; init; } = 1;

    /// <summary>Fine-tuning after each pruning round (zeros kept).</summary>
    public FineTuneSettings PruneFineTune { get; init; } = new();

    /// <summary>Index bits of the weight sharing (2^bits − 1 centroids + the zero).</summary>
    public int ClusterBits { get; init; } = 5;

    /// <summary>Centroid initialization (Deep Compression recommends linear).</summary>
    public CentroidInit ClusterInit { get; init; } = CentroidInit.Linear;

    /// <summary>Fine-tuning of the codebooks.</summary>
    public FineTuneSettings CodebookFineTune { get; init; } = new();

    /// <summary>Calibration batches for gradient saliency.</summary>
    public int SaliencyBatches { get; init; } = 8;

    /// <summary>Progress lines; null for none.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>One step of the flow: the model's held-out accuracy after it and its stored size.</summary>
/// <param name="Name">prune, fine-tune, cluster, fine-tune-codebooks, code (or "original").</param>
/// <param name="Accuracy">Held-out accuracy after the step.</param>
/// <param name="Bytes">Stored size after the step: the .onnx file, or the .onnxrev package for "code".</param>
/// <param name="Seconds">Time the step took.</param>
/// <param name="Detail">What the step did, in words.</param>
public sealed record CompressionStep(string Name, double Accuracy, long Bytes, double Seconds, string Detail);

/// <summary>What the flow produced.</summary>
/// <param name="Steps">Every step in order, starting with the original.</param>
/// <param name="Clustered">The final model (pruned, clustered, codebooks tuned): what the package unpacks to.</param>
/// <param name="Package">The .onnxrev package bytes.</param>
/// <param name="Packed">How each weight was coded.</param>
public sealed record DeepCompressionResult(IReadOnlyList<CompressionStep> Steps, Model Clustered, byte[] Package, IReadOnlyList<PackedTensor> Packed)
{
    /// <summary>Original .onnx bytes / package bytes.</summary>
    public double Ratio => (double)Steps[0].Bytes / Package.Length;

    /// <summary>Original accuracy − final accuracy, in points.</summary>
    public double AccuracyLossPoints => 100 * (Steps[0].Accuracy - Steps[^1].Accuracy);
}

/// <summary>
/// Han et al.'s Deep Compression as one call: prune (magnitude or gradient saliency) → fine-tune with the pruned
/// weights held at zero → k-means weight sharing → fine-tune the codebooks → Huffman-code into a .onnxrev package. Each
/// step reports held-out accuracy and stored bytes; the package is unpacked and checked to equal the clustered model byte
/// for byte and evaluated again.
/// </summary>
public static class DeepCompression
{
    /// <summary>Runs the flow on a classifier; <paramref name="originalBytes"/> is the stored size of the input model.</summary>
    public static DeepCompressionResult Run(Model model, long originalBytes, Dataset train, Dataset heldOut, DeepCompressionOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var log = o.Log ?? (_ => { });
        var runner = o.PruneFineTune.Runner;
        var steps = new List<CompressionStep>();
        var clock = Stopwatch.StartNew();
        void Step(string name, Model m, long bytes, string detail)
        {
            var acc = CompressionTraining.Evaluate(m, heldOut, runner).Accuracy;
            steps.Add(new CompressionStep(name, acc, bytes, clock.Elapsed.TotalSeconds, detail));
            log($"{name,-20} accuracy {acc:P2}  {bytes,10:N0} bytes  {clock.Elapsed.TotalSeconds,6:F1} s  {detail}");
            clock.Restart();
        }
        var current = TrainingGraphBuilder.Clone(model);
        if (WeightSite.Find(current).Count == 0) throw new OnnxRevException("the model has no Gemm/MatMul/Conv weight to compress");
        Step("original", current, originalBytes, $"{WeightSite.Find(current).Sum(s => s.Tensor.ElementCount):N0} weights");

        int rounds = Math.Max(1, o.PruneRounds);
        for (int i = 1; i <= rounds; i++)
        {
            double share = o.Sparsity * (1 - Math.Pow(1 - (double)i / rounds, 3));
            var perLayer = o.LayerSparsity?.ToDictionary(kv => kv.Key, kv => kv.Value * (1 - Math.Pow(1 - (double)i / rounds, 3)));
            IReadOnlyDictionary<string, long> zeros = o.Criterion == PruningCriterion.Gradient
                ? GradientSaliency.Prune(current, train, share, o.Scope, perLayer, maxBatches: o.SaliencyBatches, runner: runner)
                : Prune(current, share, o.Scope, perLayer);
            long total = WeightSite.Find(current).Sum(s => s.Tensor.ElementCount);
            string suffix = rounds > 1 ? $" {i}/{rounds}" : "";
            Step("prune" + suffix, current, ModelWriter.ToBytes(current).Length,
                $"{o.Criterion.ToString().ToLowerInvariant()}: {zeros.Values.Sum() / (double)total:P1} of weights zero (" + string.Join(", ", zeros.Select(kv => $"{kv.Key} {kv.Value / (double)WeightSite.Find(current).First(s => s.Name == kv.Key).Tensor.ElementCount:P0}")) + ")");
            current = CompressionTraining.FineTune(current, train, o.PruneFineTune with { Seed = o.PruneFineTune.Seed + i - 1 }, keepZeros: true);
            Step("fine-tune" + suffix, current, ModelWriter.ToBytes(current).Length, $"{o.PruneFineTune.Epochs} epochs, zeros kept");
        }

        new WeightClustering(o.ClusterBits, o.ClusterInit).Run(current);
        Step("cluster", current, ModelWriter.ToBytes(current).Length, $"{(1 << o.ClusterBits) - 1} centroids + zero per weight ({o.ClusterInit.ToString().ToLowerInvariant()} init)");
        current = CompressionTraining.FineTuneCodebooks(current, train, o.CodebookFineTune, (1 << o.ClusterBits) - 1);
        Step("fine-tune-codebooks", current, ModelWriter.ToBytes(current).Length, $"{o.CodebookFineTune.Epochs} epochs, centroids trained");

        var modelBytes = ModelWriter.ToBytes(current);
        var packed = OnnxRevPackage.Pack(modelBytes, o.ClusterBits);
        var unpacked = OnnxRevPackage.Unpack(packed.Bytes);
        if (!unpacked.AsSpan().SequenceEqual(modelBytes)) throw new InvalidOperationException("the package does not unpack to the clustered model byte for byte");
        var back = ModelReader.Load(unpacked, "unpacked package");
        Step("code", back, packed.Bytes.Length, $"Huffman-coded: {string.Join(", ", packed.Tensors.Select(t => $"{t.Name} {t.Mode}{(t.GapBits > 0 ? $"/{t.GapBits}-bit gaps" : "")} {t.Bytes:N0} B"))}; model section {packed.ModelSectionBytes:N0} B");
        return new DeepCompressionResult(steps, current, packed.Bytes, packed.Tensors);
    }

    private static IReadOnlyDictionary<string, long> Prune(Model model, double share, PruningScope scope, IReadOnlyDictionary<string, double>? perLayer)
    {
        var pass = new MagnitudePruning(share, scope, perLayer);
        pass.Run(model);
        return pass.Zeros;
    }
}

using Microsoft.ML.OnnxRuntime;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Data;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Compression;

/// <summary>
/// Gradient-based saliency for pruning: s(w) = mean over calibration batches b of |w · ∂L_b/∂w| (first-order Taylor
/// estimate of the loss change when w is removed, per batch so opposite-signed batch gradients do not cancel), from the
/// gradient graph of <see cref="TrainingGraphBuilder.BuildGradient"/> (cross-entropy) run in ONNX Runtime.
/// </summary>
public static class GradientSaliency
{
    /// <summary>The saliency of every weight of <paramref name="sites"/> (same order, same element order).</summary>
    public static IReadOnlyList<float[]> Scores(Model model, IReadOnlyList<WeightSite> sites, Dataset calibration, int batchSize = 256, int maxBatches = 8, RunnerOptions? runner = null)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        if (sites.Any(s => s.ConstantNode is not null))
            throw new OnnxRevException("gradient saliency needs the weights as initializers; run constants-to-initializers first");
        var names = sites.Select(s => s.Name).ToList();
        var (gradModel, gradients, labels) = TrainingGraphBuilder.BuildGradient(model, new LossOptions(LossKind.CrossEntropy), new TrainableSpec("names:" + string.Join(",", names)));
        if (labels is null) throw new OnnxRevException("gradient saliency needs a classifier (a cross-entropy loss with labels)");
        using var r = new OrtRunner(ModelWriter.ToBytes(gradModel), runner ?? new RunnerOptions(), "gradient graph");
        var input = r.Inputs.First(i => i.Name != labels);
        var data = calibration.ReshapeFor(input.Shape, input.Name);
        var weights = sites.Select(s => s.Read()).ToList();
        var scores = weights.Select(w => new float[w.Length]).ToList();
        var outputOf = gradients.ToDictionary(g => g.Parameter, g => g.Output, StringComparer.Ordinal);
        var outputs = names.Select(n => outputOf[n]).ToArray();
        var it = new BatchIterator(data, batchSize, 0, shuffle: false, dropLast: true);
        int batches = 0;
        using var runOptions = new RunOptions();
        while (batches < maxBatches && it.TryNext(out var b))
        {
            var shape = new long[] { b.Count }.Concat(data.SampleShape.Select(d => (long)d)).ToArray();
            using var x = OrtValue.CreateTensorValueFromMemory(b.Features, shape);
            using var y = OrtValue.CreateTensorValueFromMemory(b.Labels, new long[] { b.Count });
            IDisposableReadOnlyCollection<OrtValue> results;
            try { results = r.Session.Run(runOptions, new[] { input.Name, labels }, new[] { x, y }, outputs); }
            catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed("gradient graph", e); }
            using (results)
                for (int i = 0; i < sites.Count; i++)
                {
                    var g = results[i].GetTensorDataAsSpan<float>();
                    var w = weights[i];
                    var s = scores[i];
                    for (int j = 0; j < s.Length; j++) s[j] += Math.Abs(w[j] * g[j]);
                }
            batches++;
        }
        if (batches == 0) throw new OnnxRevException($"the calibration data has {calibration.Count} samples, fewer than one batch of {batchSize}");
        foreach (var s in scores) for (int j = 0; j < s.Length; j++) s[j] /= batches;
        return scores;
    }

    /// <summary>Prunes <paramref name="model"/> in place by saliency to <paramref name="sparsity"/>; returns zeros per weight.</summary>
    public static IReadOnlyDictionary<string, long> Prune(Model model, Dataset calibration, double sparsity, PruningScope scope,
        IReadOnlyDictionary<string, double>? perLayer = null, int batchSize = 256, int maxBatches = 8, RunnerOptions? runner = null)
    {
        var sites = WeightSite.Find(model);
        var scores = Scores(model, sites, calibration, batchSize, maxBatches, runner);
        return Sparsifier.Apply(sites, scores, sparsity, scope, perLayer);
    }
}

using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Quantization;

/// <summary>The error quantizing one layer alone causes: mean squared difference of the model's first output from the float model's.</summary>
public sealed record LayerSensitivity(string Node, string OpType, double OutputMse);

/// <summary>The outcome of accuracy-aware quantization.</summary>
/// <param name="Result">The chosen quantized model.</param>
/// <param name="KeptFloat">Layers left float to meet the floor, most sensitive first.</param>
/// <param name="FloatAccuracy">Accuracy of the float model.</param>
/// <param name="FullyQuantizedAccuracy">Accuracy with every candidate layer quantized.</param>
/// <param name="Accuracy">Accuracy of the chosen model.</param>
/// <param name="Sensitivities">Per-layer errors, most sensitive first.</param>
public sealed record AccuracyAwareResult(Int8Result Result, IReadOnlyList<string> KeptFloat, double FloatAccuracy, double FullyQuantizedAccuracy,
    double Accuracy, IReadOnlyList<LayerSensitivity> Sensitivities);

/// <summary>Per-layer quantization sensitivity and accuracy-aware layer selection, measured in ONNX Runtime on data.</summary>
public static class Sensitivity
{
    /// <summary>
    /// Quantizes one candidate layer at a time (all others float) and measures the mean squared error of the first
    /// output against the float model on <paramref name="data"/>; most sensitive first.
    /// </summary>
    public static IReadOnlyList<LayerSensitivity> PerLayer(Int8Quantizer quantizer, Dataset data)
    {
        var reference = BatchRunner.FirstOutput(quantizer.PreparedFloat, data);
        var names = quantizer.Candidates.Select(c => c.Name).ToList();
        var result = new List<LayerSensitivity>();
        foreach (var (name, op) in quantizer.Candidates)
        {
            if (quantizer.Options.KeepFloat.Contains(name) || quantizer.Options.KeepFloat.Contains(op)) continue;
            var variant = quantizer.Quantize(names.Where(n => n != name));
            var output = BatchRunner.FirstOutput(ModelWriter.ToBytes(variant.Model), data);
            double sum = 0;
            for (int i = 0; i < output.Length; i++) { double d = output[i] - reference[i]; sum += d * d; }
            result.Add(new LayerSensitivity(name, op, sum / Math.Max(1, output.Length)));
        }
        return result.OrderByDescending(r => r.OutputMse).ToList();
    }

    /// <summary>
    /// Keeps the fewest layers float that bring classification accuracy on <paramref name="data"/> to at least
    /// <paramref name="floor"/> (a fraction, like `onnxrev eval`'s accuracy): all layers quantized first; if that misses
    /// the floor, the layers are kept float in order of their sensitivity (greedy, most sensitive first) until it is met.
    /// Throws <see cref="CheckFailedException"/> when even the float model misses the floor.
    /// </summary>
    public static AccuracyAwareResult AccuracyAware(Int8Quantizer quantizer, Dataset data, double floor)
    {
        double floatAccuracy = Accuracy(quantizer.PreparedFloat, data);
        if (floatAccuracy < floor)
            throw new CheckFailedException($"the float model's accuracy {floatAccuracy:P2} is already below the floor {floor:P2}; no quantization can meet it");
        var full = quantizer.Quantize();
        double fullAccuracy = Accuracy(ModelWriter.ToBytes(full.Model), data);
        if (fullAccuracy >= floor) return new AccuracyAwareResult(full, Array.Empty<string>(), floatAccuracy, fullAccuracy, fullAccuracy, Array.Empty<LayerSensitivity>());
        var ranked = PerLayer(quantizer, data);
        var kept = new List<string>();
        foreach (var layer in ranked)
        {
            kept.Add(layer.Node);
            var variant = quantizer.Quantize(kept);
            double acc = Accuracy(ModelWriter.ToBytes(variant.Model), data);
            if (acc >= floor) return new AccuracyAwareResult(variant, kept, floatAccuracy, fullAccuracy, acc, ranked);
        }
        var none = quantizer.Quantize(kept);
        return new AccuracyAwareResult(none, kept, floatAccuracy, fullAccuracy, floatAccuracy, ranked);
    }

    /// <summary>Classification accuracy of a serialized model on labelled data.</summary>
    public static double Accuracy(byte[] model, Dataset data)
    {
        using var runner = new OrtRunner(model, new RunnerOptions(), "model under evaluation");
        return Evaluation.Classify(runner, data).Accuracy;
    }
}

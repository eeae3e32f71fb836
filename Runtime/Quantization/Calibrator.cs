using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime.Data;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Quantization;

/// <summary>How calibration turns observed activations into a quantization range.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,
    /// <summary>Clip |x| at a percentile of its histogram (e.g. 99.99).</summary>
    Percentile,
    /// <summary>Clip |x| where the KL divergence between the clipped histogram and its 128-level quantization is smallest (TensorRT's entropy calibration).</summary>
    Entropy,
}

/// <summary>Calibration settings.</summary>
public sealed record CalibrationOptions
{
    /// <summary>Range estimator.</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>Percentile of |x| kept by <see cref="CalibrationMethod.Percentile"/>.</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>Samples per ONNX Runtime run (models with a fixed batch dimension use theirs).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Histogram bins over [0, max |x|] for percentile and entropy.</summary>
    public int Bins { get; init; } = 2048;
}

/// <summary>
/// Measures activation ranges by running a calibration set through ONNX Runtime with the wanted intermediate tensors
/// exposed as extra graph outputs, in batches: a first pass records min and max; percentile and entropy take a
/// second pass that builds a histogram of |x| over [0, max |x|] per tensor.
/// </summary>
public static class Calibrator
{
    /// <summary>Ranges of <paramref name="tensors"/> (names of float tensors in <paramref name="model"/>) over <paramref name="data"/>.</summary>
    public static Dictionary<string, TensorRange> Collect(Model model, IReadOnlyList<string> tensors, Dataset data, CalibrationOptions? options = null)
    {
        options ??= new CalibrationOptions();
        if (data.Count == 0) throw new OnnxRevException("the calibration set is empty");
        if (tensors.Count == 0) return new Dictionary<string, TensorRange>();
        var bytes = WithOutputs(model, tensors);
        using var runner = new OrtRunner(bytes, new RunnerOptions { OptimizationLevel = OptimizationLevel.Basic }, "calibration model");
        int n = tensors.Count;
        var min = Enumerable.Repeat(float.PositiveInfinity, n).ToArray();
        var max = Enumerable.Repeat(float.NegativeInfinity, n).ToArray();
        BatchRunner.Run(runner, data, options.BatchSize, tensors, (k, v, _) =>
        {
            foreach (float x in v)
            {
                if (x < min[k]) min[k] = x;
                if (x > max[k]) max[k] = x;
            }
        });
        for (int k = 0; k < n; k++)
            if (float.IsInfinity(min[k]) || float.IsNaN(min[k]) || float.IsNaN(max[k]))
                throw new OnnxRevException($"calibration saw no finite values for tensor '{tensors[k]}'");
        var result = new Dictionary<string, TensorRange>();
        if (options.Method == CalibrationMethod.MinMax)
        {
            for (int k = 0; k < n; k++) result[tensors[k]] = new TensorRange(min[k], max[k]);
            return result;
        }
        int bins = options.Bins;
        bool entropy = options.Method == CalibrationMethod.Entropy;
        var hist = new double[n][];
        var width = new double[n];
        for (int k = 0; k < n; k++)
        {
            hist[k] = new double[bins];
            width[k] = Math.Max(-min[k], max[k]) / bins;
        }
        BatchRunner.Run(runner, data, options.BatchSize, tensors, (k, v, _) =>
        {
            var h = hist[k];
            double w = width[k];
            if (w == 0) { h[0] += v.Length; return; }
            foreach (float x in v)
            {
                // Entropy ignores exact zeros (Relu outputs are mostly zeros, which any threshold represents exactly):
                // counted, they make the KL favour the narrowest cut that keeps bin 0 alone.
                if (x == 0 && entropy) continue;
                h[Math.Min(bins - 1, (int)(Math.Abs(x) / w))]++;
            }
        });
        for (int k = 0; k < n; k++)
        {
            if (hist[k].Sum() == 0) { result[tensors[k]] = new TensorRange(min[k], max[k]); continue; }
            double t = options.Method == CalibrationMethod.Percentile
                ? HistogramThresholds.Percentile(hist[k], width[k], options.Percentile)
                : HistogramThresholds.Entropy(hist[k], width[k]);
            result[tensors[k]] = new TensorRange(Math.Max(min[k], (float)-t), Math.Min(max[k], (float)t));
        }
        return result;
    }

    /// <summary>A serialized copy of <paramref name="model"/> that also outputs <paramref name="tensors"/>.</summary>
    internal static byte[] WithOutputs(Model model, IReadOnlyList<string> tensors)
    {
        var copy = ModelReader.Load(ModelWriter.ToBytes(model), "calibration copy");
        var g = copy.Graph;
        var byName = new Dictionary<string, Value>(StringComparer.Ordinal);
        foreach (var v in g.Inputs) byName[v.Name] = v;
        foreach (var node in g.Nodes)
            foreach (var o in node.Outputs)
                byName[o.Name] = o;
        foreach (var t in tensors)
        {
            if (!byName.TryGetValue(t, out var v)) throw new OnnxRevException($"calibration: the model has no tensor '{t}'");
            if (!g.Outputs.Contains(v)) g.Outputs.Add(v);
        }
        return ModelWriter.ToBytes(copy);
    }
}

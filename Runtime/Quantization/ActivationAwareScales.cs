using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;

namespace OnnxRev.Runtime.Quantization;

/// <summary>
/// Activation-aware weight scaling for low-bit weights (AWQ): input channels that carry large activations matter most,
/// so their weight rows are scaled up before quantization (finer steps relative to their size) and the activation is
/// divided by the same factor (<see cref="ActivationScaling"/>, exact in float). s_j = mean|x_j|^α from calibration,
/// normalized so that max(s)·min(s) = 1.
/// </summary>
public static class ActivationAwareScales
{
    /// <summary>Activation name → factors s for every activation multiplied by a constant MatMul/Gemm weight, from <paramref name="stats"/>.</summary>
    public static Dictionary<string, float[]> From(IReadOnlyDictionary<string, ChannelStats> stats, double alpha)
    {
        if (!(alpha is >= 0 and <= 1)) throw new OnnxRevException($"the activation-aware strength must be in [0, 1], got {alpha}");
        var result = new Dictionary<string, float[]>();
        foreach (var (name, st) in stats)
        {
            var s = st.MeanAbs.Select(m => Math.Pow(Math.Max(m, 1e-6), alpha)).ToArray();
            double norm = Math.Sqrt(s.Max() * s.Min());
            result[name] = s.Select(v => (float)Math.Clamp(v / norm, 1e-4, 1e4)).ToArray();
        }
        return result;
    }

    /// <summary>Scales <paramref name="model"/> in place (statistics from <paramref name="calibration"/>) and returns the factors used.</summary>
    public static Dictionary<string, float[]> Apply(Model model, IEnumerable<IReadOnlyDictionary<string, DataValue>> calibration, double alpha, RunnerOptions? options = null)
    {
        var scales = From(ChannelStatistics.Collect(model, calibration, options), alpha);
        new ActivationScaling(scales).Run(model);
        return scales;
    }
}

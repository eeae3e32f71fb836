using OnnxRev.Passes.Quantization;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Quantization;

/// <summary>How much switching one MatMul alone from per-token to per-tensor activations costs (every other MatMul per token).</summary>
/// <param name="Node">The node name.</param>
/// <param name="MinCosine">Smallest token cosine against float with only this node per tensor.</param>
public sealed record ActivationSensitivity(string Node, double MinCosine);

/// <summary>The outcome of <see cref="MixedActivationPlan.Choose"/>.</summary>
/// <param name="Result">The chosen quantized model.</param>
/// <param name="PerTokenNodes">MatMuls left with per-token activations; every other quantized MatMul is per tensor (fused by ONNX Runtime into DynamicQuantizeMatMul).</param>
/// <param name="PerTensorNodes">MatMuls switched to per-tensor activations, in the order they were accepted.</param>
/// <param name="MinCosineAllPerToken">Smallest token cosine with every MatMul per token.</param>
/// <param name="MinCosineAllPerTensor">Smallest token cosine with every MatMul per tensor.</param>
/// <param name="MinCosine">Smallest token cosine of the chosen plan.</param>
/// <param name="Sensitivities">Per-MatMul cost of going per tensor alone, least harmful first.</param>
/// <param name="Evaluations">Quantized variants run to choose the plan.</param>
public sealed record MixedActivationResult(Int8Result Result, IReadOnlyList<string> PerTokenNodes, IReadOnlyList<string> PerTensorNodes,
    double MinCosineAllPerToken, double MinCosineAllPerTensor, double MinCosine, IReadOnlyList<ActivationSensitivity> Sensitivities, int Evaluations);

/// <summary>
/// Dynamic INT8 with activations per tensor where that is harmless and per token only where it is needed. Per-tensor
/// activations run as ONNX Runtime's fused DynamicQuantizeMatMul (fast), per-token ones as MatMulInteger with run-time
/// row reductions and a zero-point correction (accurate on outlier tokens, slower). The plan is chosen on calibration
/// data by a measured greedy search: each MatMul's cost of going per tensor alone is measured, then MatMuls are switched
/// to per tensor from the least harmful on, each kept only if the measured smallest cosine of the whole model stays at
/// or above the floor.
/// </summary>
public static class MixedActivationPlan
{
    /// <summary>
    /// Chooses the plan. <paramref name="quantizer"/> must be dynamic; <paramref name="minCosine"/> scores a serialized
    /// candidate (for text encoders <see cref="TokenCosineProbe.MinCosine"/> on calibration sentences);
    /// <paramref name="floor"/> is the smallest acceptable score. When even every MatMul per token misses the floor, that
    /// all-per-token model is returned (its <see cref="MixedActivationResult.MinCosine"/> tells by how much).
    /// </summary>
    public static MixedActivationResult Choose(Int8Quantizer quantizer, Func<byte[], double> minCosine, double floor, Action<string>? log = null)
    {
        if (quantizer.Mode != Int8Mode.Dynamic) throw new OnnxRevException("a mixed per-token/per-tensor activation plan applies to dynamic quantization only");
        if (double.IsNaN(floor) || floor > 1) throw new OnnxRevException($"the cosine floor must be at most 1, got {floor}");
        var options = quantizer.Options with { PerTokenActivations = false };
        var names = quantizer.Candidates.Where(c => c.OpType is "MatMul" or "Gemm")
            .Select(c => c.Name).Where(n => !options.KeepFloat.Contains(n) && !options.KeepFloat.Contains("MatMul")).ToList();
        int evaluations = 0;
        Int8Result Variant(IEnumerable<string> perToken) => quantizer.QuantizeWith(options with { PerTokenNodes = perToken.ToHashSet(StringComparer.Ordinal) });
        double Score(Int8Result r) { evaluations++; return minCosine(ModelWriter.ToBytes(r.Model)); }

        var allToken = Variant(names);
        double allTokenMin = Score(allToken);
        double allTensorMin = Score(Variant(Array.Empty<string>()));
        log?.Invoke($"all per token: min cosine {allTokenMin:F5}; all per tensor: {allTensorMin:F5}");
        if (allTensorMin >= floor)
            return new MixedActivationResult(Variant(Array.Empty<string>()), Array.Empty<string>(), names, allTokenMin, allTensorMin, allTensorMin, Array.Empty<ActivationSensitivity>(), evaluations);
        if (allTokenMin < floor)
            return new MixedActivationResult(allToken, names, Array.Empty<string>(), allTokenMin, allTensorMin, allTokenMin, Array.Empty<ActivationSensitivity>(), evaluations);

        var sensitivities = names.Select(n => new ActivationSensitivity(n, Score(Variant(names.Where(m => m != n)))))
            .OrderByDescending(s => s.MinCosine).ToList();
        foreach (var s in sensitivities) log?.Invoke($"  {s.Node} alone per tensor: min cosine {s.MinCosine:F5}");
        var perTensor = new List<string>();
        var chosen = allToken;
        double chosenMin = allTokenMin;
        foreach (var s in sensitivities)
        {
            if (s.MinCosine < floor) break;          // already below the floor on its own; the rest are worse still
            var trial = Variant(names.Where(n => n != s.Node && !perTensor.Contains(n)));
            double m = Score(trial);
            log?.Invoke($"  + {s.Node} per tensor: min cosine {m:F5} {(m >= floor ? "kept" : "rejected")}");
            if (m < floor) continue;
            perTensor.Add(s.Node);
            (chosen, chosenMin) = (trial, m);
        }
        return new MixedActivationResult(chosen, names.Where(n => !perTensor.Contains(n)).ToList(), perTensor, allTokenMin, allTensorMin, chosenMin, sensitivities, evaluations);
    }
}

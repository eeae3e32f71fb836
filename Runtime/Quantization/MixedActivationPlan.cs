using OnnxRev.Passes.Quantization;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Quantization;

/// <summary>How much switching one MatMul alone from the exact per-token form to the fast form costs (every other MatMul per token).</summary>
/// <param name="Node">The node name.</param>
/// <param name="MinCosine">Smallest token cosine against float with only this node in the fast form.</param>
public sealed record ActivationSensitivity(string Node, double MinCosine);

/// <summary>The outcome of <see cref="MixedActivationPlan.Choose"/>.</summary>
/// <param name="Result">The chosen quantized model.</param>
/// <param name="PerTokenNodes">MatMuls left with the exact per-token form; every other quantized MatMul uses the fast form (ONNX Runtime's fused DynamicQuantizeMatMul: per tensor, or token-scaled with <see cref="QuantizationOptions.TokenScaledActivations"/>).</param>
/// <param name="FastNodes">MatMuls switched to the fast form, in the order they were accepted.</param>
/// <param name="MinCosineAllPerToken">Smallest token cosine with every MatMul per token.</param>
/// <param name="MinCosineAllFast">Smallest token cosine with every MatMul in the fast form.</param>
/// <param name="MinCosine">Smallest token cosine of the chosen plan.</param>
/// <param name="Sensitivities">Per-MatMul cost of going to the fast form alone, least harmful first.</param>
/// <param name="Evaluations">Quantized variants run to choose the plan.</param>
public sealed record MixedActivationResult(Int8Result Result, IReadOnlyList<string> PerTokenNodes, IReadOnlyList<string> FastNodes,
    double MinCosineAllPerToken, double MinCosineAllFast, double MinCosine, IReadOnlyList<ActivationSensitivity> Sensitivities, int Evaluations);

/// <summary>
/// Dynamic INT8 with the fast activation form where that is harmless and the exact per-token form only where it is
/// needed. The fast form runs as ONNX Runtime's fused DynamicQuantizeMatMul (per tensor, or token-scaled when the
/// quantizer's options set <see cref="QuantizationOptions.TokenScaledActivations"/>); the per-token form as
/// MatMulInteger with run-time row reductions and a zero-point correction (asymmetric per row, slower). The plan is
/// chosen on calibration data by a measured greedy search: each MatMul's cost of going to the fast form alone is
/// measured, then MatMuls are switched from the least harmful on, each kept only if the measured smallest cosine of the
/// whole model stays at or above the floor.
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
        var names = quantizer.Candidates.Where(c => c.OpType is "MatMul" or "Gemm" && !options.KeepFloat.Contains(c.Name) && !options.KeepFloat.Contains(c.OpType))
            .Select(c => c.Name).ToList();
        int evaluations = 0;
        Int8Result Variant(IEnumerable<string> perToken) => quantizer.QuantizeWith(options with { PerTokenNodes = perToken.ToHashSet(StringComparer.Ordinal) });
        double Score(Int8Result r) { evaluations++; return minCosine(ModelWriter.ToBytes(r.Model)); }

        var allToken = Variant(names);
        double allTokenMin = Score(allToken);
        double allFastMin = Score(Variant(Array.Empty<string>()));
        log?.Invoke($"all per token: min cosine {allTokenMin:F5}; all fast: {allFastMin:F5}");
        if (allFastMin >= floor)
            return new MixedActivationResult(Variant(Array.Empty<string>()), Array.Empty<string>(), names, allTokenMin, allFastMin, allFastMin, Array.Empty<ActivationSensitivity>(), evaluations);
        if (allTokenMin < floor)
            return new MixedActivationResult(allToken, names, Array.Empty<string>(), allTokenMin, allFastMin, allTokenMin, Array.Empty<ActivationSensitivity>(), evaluations);

        var sensitivities = names.Select(n => new ActivationSensitivity(n, Score(Variant(names.Where(m => m != n)))))
            .OrderByDescending(s => s.MinCosine).ToList();
        foreach (var s in sensitivities) log?.Invoke($"  {s.Node} alone fast: min cosine {s.MinCosine:F5}");
        var perTensor = new List<string>();
        var chosen = allToken;
        double chosenMin = allTokenMin;
        foreach (var s in sensitivities)
        {
            if (s.MinCosine < floor) break;          // already below the floor on its own; the rest are worse still
            var trial = Variant(names.Where(n => n != s.Node && !perTensor.Contains(n)));
            double m = Score(trial);
            log?.Invoke($"  + {s.Node} fast: min cosine {m:F5} {(m >= floor ? "kept" : "rejected")}");
            if (m < floor) continue;
            perTensor.Add(s.Node);
            (chosen, chosenMin) = (trial, m);
        }
        return new MixedActivationResult(chosen, names.Where(n => !perTensor.Contains(n)).ToList(), perTensor, allTokenMin, allFastMin, chosenMin, sensitivities, evaluations);
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Quantization;

/// <summary>What storing one weight in one format costs and saves.</summary>
/// <param name="Weight">Weight (initializer) name.</param>
/// <param name="Format">Bits and block size.</param>
/// <param name="Bytes">Stored bytes of the weight in that format: codes, scales and zero points.</param>
/// <param name="Cost">Measured mean (1 − cosine) over the calibration tokens with only this weight quantized in this format.</param>
public sealed record WeightOption(string Weight, WeightFormat Format, long Bytes, double Cost);

/// <summary>The outcome of <see cref="Int4MixedPlan.Choose"/>.</summary>
/// <param name="Plan">Weight name → chosen format.</param>
/// <param name="FloatBytes">float32 bytes of the weights in the plan.</param>
/// <param name="BudgetBytes">Bytes the quantized weights were allowed.</param>
/// <param name="PlanBytes">Bytes of the chosen formats.</param>
/// <param name="PredictedCost">Sum of the chosen options' measured costs (the additive model the choice minimizes).</param>
/// <param name="Options">Every measured option, by weight.</param>
/// <param name="Evaluations">Candidate models run.</param>
/// <param name="MeasuredCost">Mean (1 − cosine) of the returned plan, measured with every weight quantized.</param>
/// <param name="UniformFormat">The single format with the least predicted damage that also fits (null when none does).</param>
/// <param name="UniformCost">Its measured mean (1 − cosine), NaN when not measured (none fits, or the plan already is uniform).</param>
/// <param name="KeptUniform">The uniform format measured better than the mixed plan and was returned instead.</param>
public sealed record MixedBitResult(IReadOnlyDictionary<string, WeightFormat> Plan, long FloatBytes, long BudgetBytes, long PlanBytes, double PredictedCost,
    IReadOnlyList<WeightOption> Options, int Evaluations, double MeasuredCost = double.NaN, WeightFormat? UniformFormat = null, double UniformCost = double.NaN,
    bool KeptUniform = false);

/// <summary>
/// Mixed-precision weight-only quantization under a size budget: every MatMul/Gemm weight gets one format from a menu
/// (4-bit with blocks of 64, 32 or 16, 8-bit) so that the stored weights fit the budget and the measured damage is
/// least. Each weight's damage in each format is measured on its own — that weight alone quantized (GPTQ when Hessians
/// are given), every other weight float, the model run in ONNX Runtime on calibration data and scored by mean
/// (1 − cosine) per token — and the damages are taken as additive, as in mixed-precision allocation by measured
/// sensitivity (HAWQ-style). The multiple-choice knapsack is solved by a Lagrangian: each weight takes the format
/// minimizing cost + λ·bytes, λ bisected to the smallest value that fits; the budget left over is then spent greedily
/// on the upgrades with the best cost saved per byte. Since damages compound rather than add, the whole plan is then
/// measured against the best single format that fits, and the better of the two is returned.
/// </summary>
public static class Int4MixedPlan
{
    /// <summary>The default menu: 4-bit blocks of 64, 32 and 16, and 8-bit blocks of 64.</summary>
    public static readonly IReadOnlyList<WeightFormat> DefaultMenu = new WeightFormat[] { new(4, 64), new(4, 32), new(4, 16), new(8, 64) };

    /// <summary>
    /// Chooses the formats. <paramref name="model"/> is the float model to quantize (AWQ-scaled already, when used);
    /// <paramref name="cosines"/> scores a serialized candidate: the per-token cosines against the float model on
    /// calibration data (<see cref="TokenCosineProbe.Cosines"/>). The stored bytes of all quantized weights together,
    /// plus <paramref name="extraBytes"/> (AWQ's 1/s vectors, say), must be at most their float32 bytes divided by
    /// <paramref name="targetCompression"/>. <paramref name="weights"/> are the weights that take part (every other
    /// weight stays float); those with a Hessian in <paramref name="hessians"/> are quantized by GPTQ, the others by rounding.
    /// </summary>
    public static MixedBitResult Choose(Model model, IReadOnlyCollection<string> weights, IReadOnlyDictionary<string, double[]>? hessians, IReadOnlyList<WeightFormat> menu,
        bool symmetric, bool halfScales, double targetCompression, long extraBytes, Func<byte[], double[]> cosines, Action<string>? log = null, int sweeps = 0, double damping = Gptq.Damping)
    {
        if (!(targetCompression > 1)) throw new OnnxRevException($"the compression target must be above 1, got {targetCompression}");
        if (menu.Count == 0) throw new OnnxRevException("the mixed-precision menu is empty");
        if (weights.Count == 0) throw new OnnxRevException("no MatMul/Gemm weight to quantize");
        long floatBytes = 0;
        var options = new List<WeightOption>();
        int evaluations = 0;
        foreach (var w in weights.OrderBy(w => w, StringComparer.Ordinal))
            foreach (var f in menu)
            {
                var candidate = Clone(model);
                var pass = new MatMulNBitsQuantization(new Int4Options(f.BlockSize, symmetric, Hessians: hessians, HalfScales: halfScales, GptqSweeps: sweeps, GptqDamping: damping,
                    PerWeight: new Dictionary<string, WeightFormat> { [w] = f }, Only: new[] { w }));
                pass.Run(candidate);
                if (pass.QuantizedNodes == 0) break;   // not a weight the pass quantizes (shape, layout): left out of the plan
                if (f == menu[0]) floatBytes += pass.WeightBytes.FloatBytes;
                var c = cosines(ModelWriter.ToBytes(candidate));
                evaluations++;
                double cost = c.Average(x => 1 - x);
                options.Add(new WeightOption(w, f, pass.WeightBytes.QuantizedBytes, cost));
                log?.Invoke($"  {w} {f}: {pass.WeightBytes.QuantizedBytes:N0} bytes, mean 1 − cos {cost:E3}, min cos {c.Min():F5}");
            }
        var byWeight = options.GroupBy(o => o.Weight).ToDictionary(g => g.Key, g => g.OrderBy(o => o.Bytes).ToList());
        long budgetBytes = (long)Math.Floor(floatBytes / targetCompression) - extraBytes;
        long smallest = byWeight.Values.Sum(l => l[0].Bytes);
        if (smallest > budgetBytes)
            throw new OnnxRevException($"the size target is out of reach: even the smallest format of every weight takes {smallest + extraBytes:N0} bytes, more than the {floatBytes / targetCompression:N0} that {targetCompression:G4}× smaller allows");

        Dictionary<string, WeightOption> Pick(double lambda) => byWeight.ToDictionary(kv => kv.Key, kv => kv.Value.MinBy(o => o.Cost + lambda * o.Bytes)!);
        long Total(Dictionary<string, WeightOption> p) => p.Values.Sum(o => o.Bytes);
        double lo = 0, hi = 1e-12;
        while (Total(Pick(hi)) > budgetBytes) hi *= 4;
        if (Total(Pick(lo)) > budgetBytes)
            for (int i = 0; i < 100; i++)
            {
                double mid = 0.5 * (lo + hi);
                if (Total(Pick(mid)) > budgetBytes) lo = mid; else hi = mid;
            }
        else hi = lo;
        var plan = Pick(hi);
        // Spend what is left: the upgrade with the most cost saved per byte that still fits, until none does.
        while (true)
        {
            long left = budgetBytes - Total(plan);
            var best = plan.Values.SelectMany(cur => byWeight[cur.Weight].Where(o => o.Cost < cur.Cost && o.Bytes - cur.Bytes <= left)
                    .Select(o => (Option: o, Gain: (cur.Cost - o.Cost) / Math.Max(1, o.Bytes - cur.Bytes))))
                .OrderByDescending(x => x.Gain).FirstOrDefault();
            if (best.Option is null) break;
            plan[best.Option.Weight] = best.Option;
        }
        var chosen = plan.ToDictionary(kv => kv.Key, kv => kv.Value.Format);

        // The additive model ignores how errors compound: measure the whole plan against the best single format that
        // also fits (least predicted damage) and keep whichever measures better.
        double Measure(IReadOnlyDictionary<string, WeightFormat> formats)
        {
            var m = Clone(model);
            new MatMulNBitsQuantization(new Int4Options(menu[0].BlockSize, symmetric, Hessians: hessians, HalfScales: halfScales, GptqSweeps: sweeps, GptqDamping: damping,
                PerWeight: formats, Only: formats.Keys.ToList())).Run(m);
            evaluations++;
            return cosines(ModelWriter.ToBytes(m)).Average(x => 1 - x);
        }
        double planCost = Measure(chosen);
        var uniform = menu.Where(f => byWeight.Values.All(l => l.Any(o => o.Format == f)))
            .Select(f => (Format: f, Bytes: byWeight.Values.Sum(l => l.First(o => o.Format == f).Bytes), Cost: byWeight.Values.Sum(l => l.First(o => o.Format == f).Cost)))
            .Where(u => u.Bytes <= budgetBytes).OrderBy(u => u.Cost).FirstOrDefault();
        double uniformCost = double.NaN;
        bool keptUniform = false;
        if (uniform.Format is not null && chosen.Values.Any(f => f != uniform.Format))
        {
            var all = byWeight.Keys.ToDictionary(w => w, _ => uniform.Format);
            uniformCost = Measure(all);
            log?.Invoke($"  whole plan: mean 1 − cos {planCost:E3}; all {uniform.Format}: {uniformCost:E3}");
            if (uniformCost < planCost)
            {
                chosen = all;
                keptUniform = true;
            }
        }
        long chosenBytes = chosen.Sum(kv => byWeight[kv.Key].First(o => o.Format == kv.Value).Bytes);
        return new MixedBitResult(chosen, floatBytes, budgetBytes, chosenBytes, plan.Values.Sum(o => o.Cost), options, evaluations,
            keptUniform ? uniformCost : planCost, uniform.Format, uniformCost, keptUniform);
    }

    private static Model Clone(Model model) => ModelReader.FromProto(ModelWriter.ToProto(model), model.BaseDirectory, "mixed-precision candidate");
}

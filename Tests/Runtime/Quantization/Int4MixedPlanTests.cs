using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Quantization;

/// <summary>
/// The size-budgeted format choice of <see cref="Int4MixedPlan"/> on LeNet-300-100's three MatMul weights. The scorer reads
/// back which format each weight got in the candidate (MatMulNBits' bits and block_size) and returns cosines whose mean
/// damage is a known table, so the best plan under the budget can be found by brute force over all 4³ plans.
/// </summary>
public class Int4MixedPlanTests
{
    private static readonly string Zoo = Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx");

    private static readonly Dictionary<WeightFormat, double> Damage = new()
    {
        [new(4, 64)] = 1.0, [new(4, 32)] = 0.8, [new(4, 16)] = 0.6, [new(8, 64)] = 0.005,
    };

    [Test]
    public void ChoosesTheLeastDamagingPlanThatFitsTheSize()
    {
        var model = ModelReader.Load(Zoo);
        var weights = model.Graph.Nodes.Where(n => n.OpType is "MatMul" or "Gemm").Select(n => n.Inputs[1]!.Name).ToList();
        Assert.That(weights, Has.Count.EqualTo(3));
        var sensitivity = new Dictionary<string, double> { [weights[0]] = 1, [weights[1]] = 10, [weights[2]] = 5 };
        int scored = 0;
        double[] Score(byte[] bytes)
        {
            scored++;
            var m = ModelReader.Load(bytes);
            double damage = 0;
            foreach (var node in m.Graph.Nodes.Where(n => n.OpType == "MatMulNBits"))
            {
                string w = weights.Single(x => node.Inputs[1]!.Name.StartsWith(x + "_q", StringComparison.Ordinal));
                var f = new WeightFormat((int)node.Attributes.GetInt("bits", 0), (int)node.Attributes.GetInt("block_size", 0));
                damage += 1e-4 * sensitivity[w] * Damage[f];
            }
            return new[] { 1 - damage, 1 - damage };
        }
        var result = Int4MixedPlan.Choose(model, weights, null, Int4MixedPlan.DefaultMenu, symmetric: false, halfScales: true, targetCompression: 6, extraBytes: 1000, Score);
        Assert.That(result.Evaluations, Is.EqualTo(14), "each weight alone in each of the 4 formats, then the whole plan and the best uniform format");
        Assert.That(scored, Is.EqualTo(14));
        Assert.That(result.FloatBytes, Is.EqualTo(4L * (784 * 300 + 300 * 100 + 100 * 10)));
        Assert.That(result.BudgetBytes, Is.EqualTo(result.FloatBytes / 6 - 1000));
        foreach (var o in result.Options)
            Assert.That(o.Cost, Is.EqualTo(1e-4 * sensitivity[o.Weight] * Damage[o.Format]).Within(1e-12), $"{o.Weight} {o.Format}: the measured damage");

        // Brute force over every plan: the least total damage whose bytes fit.
        var byWeight = weights.Select(w => result.Options.Where(o => o.Weight == w).ToList()).ToList();
        double bestCost = double.MaxValue;
        foreach (var a in byWeight[0])
            foreach (var b in byWeight[1])
                foreach (var c in byWeight[2])
                    if (a.Bytes + b.Bytes + c.Bytes <= result.BudgetBytes) bestCost = Math.Min(bestCost, a.Cost + b.Cost + c.Cost);
        Assert.That(result.PlanBytes, Is.LessThanOrEqualTo(result.BudgetBytes));
        Assert.That(result.PredictedCost, Is.EqualTo(bestCost).Within(1e-15), "the plan is the best one that fits");
        Assert.That(result.Plan[weights[1]], Is.EqualTo(new WeightFormat(8, 64)), "the most sensitive weight gets 8 bits");
        Assert.That(result.KeptUniform, Is.False);
        Assert.That(result.MeasuredCost, Is.EqualTo(result.PredictedCost).Within(1e-12), "this scorer is additive");
        var uniformFits = Int4MixedPlan.DefaultMenu.Where(f => result.Options.Where(o => o.Format == f).Sum(o => o.Bytes) <= result.BudgetBytes).ToList();
        var bestUniform = uniformFits.MinBy(f => result.Options.Where(o => o.Format == f).Sum(o => o.Cost))!;
        Assert.That(result.UniformFormat, Is.EqualTo(bestUniform));
        Assert.That(result.UniformCost, Is.EqualTo(result.Options.Where(o => o.Format == bestUniform).Sum(o => o.Cost)).Within(1e-12));
        TestContext.Out.WriteLine($"plan: {string.Join(", ", weights.Select(w => $"{w} {result.Plan[w]}"))}; {result.PlanBytes:N0} of {result.BudgetBytes:N0} bytes");

        // The plan as the int4 pass writes it: exactly these formats, within the size.
        var pass = new MatMulNBitsQuantization(new Int4Options(32, Symmetric: false, HalfScales: true, PerWeight: result.Plan));
        pass.Run(model);
        Assert.That(pass.WeightBytes.QuantizedBytes, Is.EqualTo(result.PlanBytes));
        Assert.That(1 - Score(ModelWriter.ToBytes(model))[0], Is.EqualTo(result.PredictedCost).Within(1e-12));
    }

    /// <summary>When damages compound so that the mixed plan measures worse than one format everywhere, that uniform plan is returned.</summary>
    [Test]
    public void AUniformPlanThatMeasuresBetterWins()
    {
        var model = ModelReader.Load(Zoo);
        var weights = model.Graph.Nodes.Where(n => n.OpType is "MatMul" or "Gemm").Select(n => n.Inputs[1]!.Name).ToList();
        var sensitivity = new Dictionary<string, double> { [weights[0]] = 1, [weights[1]] = 10, [weights[2]] = 5 };
        double[] Score(byte[] bytes)
        {
            var m = ModelReader.Load(bytes);
            var formats = m.Graph.Nodes.Where(n => n.OpType == "MatMulNBits")
                .Select(n => (W: weights.Single(x => n.Inputs[1]!.Name.StartsWith(x + "_q", StringComparison.Ordinal)),
                    F: new WeightFormat((int)n.Attributes.GetInt("bits", 0), (int)n.Attributes.GetInt("block_size", 0)))).ToList();
            double damage = formats.Sum(x => 1e-4 * sensitivity[x.W] * Damage[x.F]);
            if (formats.Select(x => x.F).Distinct().Count() > 1) damage += 1;   // mixing formats costs far more than predicted
            return new[] { 1 - damage };
        }
        var result = Int4MixedPlan.Choose(model, weights, null, Int4MixedPlan.DefaultMenu, false, true, 6, 0, Score);
        Assert.That(result.KeptUniform, Is.True);
        Assert.That(result.Plan.Values.Distinct().Single(), Is.EqualTo(result.UniformFormat));
        Assert.That(result.MeasuredCost, Is.EqualTo(result.UniformCost));
        Assert.That(result.PlanBytes, Is.LessThanOrEqualTo(result.BudgetBytes));
    }

    [Test]
    public void AnUnreachableSizeIsAClearError()
    {
        var model = ModelReader.Load(Zoo);
        var weights = model.Graph.Nodes.Where(n => n.OpType is "MatMul" or "Gemm").Select(n => n.Inputs[1]!.Name).ToList();
        // 4-bit blocks of 64 with float16 scales and zero points: 4.3125 bits per weight, at best 7.4× smaller.
        Assert.That(() => Int4MixedPlan.Choose(model, weights, null, Int4MixedPlan.DefaultMenu, false, true, 8, 0, _ => new[] { 1.0 }),
            Throws.TypeOf<OnnxRevException>().With.Message.Contains("out of reach"));
        Assert.That(() => Int4MixedPlan.Choose(model, weights, null, Int4MixedPlan.DefaultMenu, false, true, 1, 0, _ => new[] { 1.0 }),
            Throws.TypeOf<OnnxRevException>().With.Message.Contains("above 1"));
    }
}

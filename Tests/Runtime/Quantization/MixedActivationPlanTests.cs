using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Quantization;

/// <summary>
/// The greedy search of <see cref="MixedActivationPlan"/> on LeNet-300-100's three MatMuls with a scorer whose cost per
/// fast MatMul is known (read back from the quantized model: a MatMul with centred rows carries a "_weight_column_sums"
/// initializer), so the expected plan can be worked out by hand.
/// </summary>
public class MixedActivationPlanTests
{
    private static readonly string Zoo = Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx");

    [Test]
    public void GreedyKeepsEverySwitchThatHoldsTheFloor()
    {
        var quantizer = new Int8Quantizer(ModelReader.Load(Zoo), Int8Mode.Dynamic, new QuantizationOptions { PerChannel = true, TokenScaledActivations = true });
        var names = quantizer.Candidates.Select(c => c.Name).ToList();
        Assert.That(names, Has.Count.EqualTo(3));
        var cost = new Dictionary<string, double> { [names[0]] = 0.001, [names[1]] = 0.005, [names[2]] = 0.002 };
        double Score(byte[] bytes)
        {
            var m = ModelReader.Load(bytes);
            var centred = names.Where(n => m.Graph.Initializers.Any(i => i.Name.StartsWith(n + "_weight_column_sums", StringComparison.Ordinal))).ToList();
            return 1 - names.Except(centred).Sum(n => cost[n]);
        }
        // Alone: 0.999, 0.995, 0.998. Greedy from the cheapest: names[0] (0.999) kept, names[2] (0.997) kept,
        // names[1] not tried: alone (0.995) it already misses the floor 0.996.
        var plan = MixedActivationPlan.Choose(quantizer, Score, 0.996);
        Assert.That(plan.PerTokenNodes, Is.EqualTo(new[] { names[1] }));
        Assert.That(plan.FastNodes, Is.EqualTo(new[] { names[0], names[2] }));
        Assert.That(plan.MinCosine, Is.EqualTo(0.997).Within(1e-12));
        Assert.That(plan.MinCosineAllPerToken, Is.EqualTo(1.0));
        Assert.That(plan.MinCosineAllFast, Is.EqualTo(0.992).Within(1e-12));
        Assert.That(plan.Sensitivities.Select(s => s.Node), Is.EqualTo(new[] { names[0], names[2], names[1] }));
        Assert.That(plan.Evaluations, Is.EqualTo(2 + 3 + 2), "all-accurate, all-fast, 3 alone; names[1] alone already misses the floor, so 2 trials");
        Assert.That(Score(ModelWriter.ToBytes(plan.Result.Model)), Is.EqualTo(0.997).Within(1e-12));

        var easy = MixedActivationPlan.Choose(quantizer, Score, 0.99);
        Assert.That(easy.PerTokenNodes, Is.Empty, "all fast already meets the floor");
        var impossible = MixedActivationPlan.Choose(quantizer, _ => 0.5, 0.9);
        Assert.That(impossible.PerTokenNodes, Has.Count.EqualTo(3));
        Assert.That(impossible.MinCosine, Is.EqualTo(0.5));
    }
}

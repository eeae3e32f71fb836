using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Runtime.Text;
using OnnxRev.Serialization;
using OnnxRev.Tests.Passes.Quantization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Quantization;

/// <summary>
/// all-MiniLM-L6-v2 (real weights) with dynamic INT8 per channel and per token: every real token's embedding within
/// cosine 0.99 of fp32 on 64 of the bundled real sentences, all 36 encoder MatMuls and the pooler in integers.
/// (`onnxrev-bench quant-minilm` measures all 256 sentences and the speed.) Per-tensor activations
/// (DynamicQuantizeLinear) are measurably worse on the same tokens, which is why per-token exists.
/// </summary>
public class MiniLmQuantizationTests
{
    private static List<double> Cosines(byte[] reference, byte[] candidate, IReadOnlyList<string> sentences)
    {
        var tokenizer = WordPieceTokenizer.FromFile(PackageModels.MiniLmVocab);
        using var a = new OrtRunner(reference);
        using var b = new OrtRunner(candidate);
        var names = a.Inputs.Select(x => x.Name).ToList();
        var result = new List<double>();
        for (int s = 0; s < sentences.Count; s += 16)
        {
            var batch = TextBatch.Encode(tokenizer, sentences.Skip(s).Take(16).ToList());
            var ya = a.Run(batch.Inputs(names), new[] { "last_hidden_state" })["last_hidden_state"];
            var yb = b.Run(batch.Inputs(names), new[] { "last_hidden_state" })["last_hidden_state"];
            result.AddRange(TokenCosine.PerToken(QuantTestModels.Floats(ya), QuantTestModels.Floats(yb), batch));
        }
        return result;
    }

    [Test]
    public void PerTokenDynamicInt8KeepsEveryTokenWithinCosine099()
    {
        var sentences = File.ReadAllLines(RepoPaths.Sentences).Where(l => l.Trim().Length > 0).Take(64).ToList();
        var reference = File.ReadAllBytes(PackageModels.MiniLm);
        var model = ModelReader.Load(PackageModels.MiniLm);
        var perToken = new Int8Quantizer(model, Int8Mode.Dynamic, new QuantizationOptions { PerChannel = true, PerTokenActivations = true }).Quantize();
        Assert.That(perToken.QuantizedNodes, Has.Count.EqualTo(37), "36 encoder MatMuls and the pooler Gemm");
        var c = Cosines(reference, ModelWriter.ToBytes(perToken.Model), sentences);
        var perTensor = new Int8Quantizer(model, Int8Mode.Dynamic, new QuantizationOptions { PerChannel = true }).Quantize();
        var t = Cosines(reference, ModelWriter.ToBytes(perTensor.Model), sentences);
        TestContext.Out.WriteLine($"{c.Count} tokens: per token min {c.Min():F5} mean {c.Average():F5}; per tensor min {t.Min():F5} mean {t.Average():F5}");
        Assert.That(c.Min(), Is.GreaterThanOrEqualTo(0.99));
        Assert.That(c.Min(), Is.LessThan(1.0));
        Assert.That(t.Min(), Is.LessThan(c.Min()));
        var ops = QuantTestModels.OptimizedOps(perToken.Model);
        Assert.That(ops.GetValueOrDefault("MatMulInteger"), Is.EqualTo(37), string.Join(",", ops.Keys));
        Assert.That(ops.Keys, Does.Not.Contain("MatMulIntegerToFloat"));
    }

    /// <summary>
    /// Token-scaled activations (rows divided by their max |x|, then ORT's fused per-tensor kernel): all 37 MatMuls run as
    /// DynamicQuantizeMatMul / MatMulIntegerToFloat on ORT's optimized graph (no MatMulInteger left) and the worst token
    /// is far better than with plain per-tensor activations.
    /// </summary>
    [Test]
    public void TokenScaledActivationsRunOnTheFusedKernel()
    {
        var sentences = File.ReadAllLines(RepoPaths.Sentences).Where(l => l.Trim().Length > 0).Take(64).ToList();
        var reference = File.ReadAllBytes(PackageModels.MiniLm);
        var quantized = new Int8Quantizer(ModelReader.Load(PackageModels.MiniLm), Int8Mode.Dynamic,
            new QuantizationOptions { PerChannel = true, TokenScaledActivations = true }).Quantize();
        var c = Cosines(reference, ModelWriter.ToBytes(quantized.Model), sentences);
        TestContext.Out.WriteLine($"{c.Count} tokens: token-scaled min {c.Min():F5} mean {c.Average():F5}");
        Assert.That(c.Min(), Is.GreaterThanOrEqualTo(MeasuredTokenScaledFloor), "regression floor: measured 0.99336 on these 64 sentences");
        var ops = QuantTestModels.OptimizedOps(quantized.Model, OptimizationLevel.All);
        Assert.That(ops.GetValueOrDefault("DynamicQuantizeMatMul") + ops.GetValueOrDefault("MatMulIntegerToFloat"), Is.EqualTo(37), string.Join(",", ops.Keys));
        Assert.That(ops.Keys, Does.Not.Contain("MatMulInteger"));
    }

    private const double MeasuredTokenScaledFloor = 0.992;

    /// <summary>
    /// The mixed plan: row-scaled activations everywhere except the MatMuls that the greedy search on 32 calibration
    /// sentences (models/data/calibration_sentences.txt, never the evaluation sentences) gives centred per-token rows to
    /// hold every calibration token at cosine ≥ 0.993. On 64 evaluation sentences every token must be within cosine 0.99
    /// of fp32 in ORT's fully optimized session, where all 37 MatMuls run on the fused kernels. (~1.5 min on 2 shared cores.)
    /// </summary>
    [Test]
    [Category("Slow")]
    public void MixedPlanKeepsEveryTokenWithinCosine099()
    {
        var tokenizer = WordPieceTokenizer.FromFile(PackageModels.MiniLmVocab);
        var calibration = File.ReadLines(Path.Combine(RepoPaths.Root, "models", "data", "calibration_sentences.txt")).Where(l => l.Trim().Length > 0).Take(32).ToList();
        var sentences = File.ReadAllLines(RepoPaths.Sentences).Where(l => l.Trim().Length > 0).Take(64).ToList();
        var reference = File.ReadAllBytes(PackageModels.MiniLm);
        var quantizer = new Int8Quantizer(ModelReader.Load(PackageModels.MiniLm), Int8Mode.Dynamic, new QuantizationOptions { PerChannel = true, TokenScaledActivations = true });
        var probe = new TokenCosineProbe(quantizer.PreparedFloat, tokenizer, calibration);
        var plan = MixedActivationPlan.Choose(quantizer, probe.MinCosine, 0.993);
        TestContext.Out.WriteLine($"calibration: all per token {plan.MinCosineAllPerToken:F5}, all token-scaled {plan.MinCosineAllFast:F5}, chosen {plan.MinCosine:F5}; " +
                                  $"{plan.PerTokenNodes.Count} per-token MatMuls ({string.Join(",", plan.PerTokenNodes)}), {plan.Evaluations} evaluations");
        Assert.That(plan.MinCosine, Is.GreaterThanOrEqualTo(0.993));
        Assert.That(plan.PerTokenNodes.Count, Is.LessThan(37));
        var c = Cosines(reference, ModelWriter.ToBytes(plan.Result.Model), sentences);
        TestContext.Out.WriteLine($"{c.Count} evaluation tokens: min {c.Min():F5} mean {c.Average():F5}");
        Assert.That(c.Min(), Is.GreaterThanOrEqualTo(0.99));
        var ops = QuantTestModels.OptimizedOps(plan.Result.Model, OptimizationLevel.All);
        Assert.That(ops.GetValueOrDefault("DynamicQuantizeMatMul") + ops.GetValueOrDefault("MatMulIntegerToFloat"), Is.EqualTo(37), string.Join(",", ops.Keys));
        Assert.That(ops.Keys, Does.Not.Contain("MatMulInteger"), "the per-token MatMuls run centred on the fused kernel too");
        Assert.That(ops.GetValueOrDefault("ReduceMin"), Is.GreaterThan(0), "centred rows for the chosen MatMuls");
    }
}

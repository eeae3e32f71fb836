using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Runtime.Text;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>
/// all-MiniLM-L6-v2 (real weights) on the 256 bundled real sentences, per valid token of last_hidden_state against
/// float32. fp16 (both targets): every token within cosine 0.999 at half the size. int4 (block 32): MatMul weights
/// ≥ 6× smaller, but the issue's goal of every token within cosine 0.98 is NOT met — the floors asserted here are
/// the measured levels (round-to-nearest: mean ≥ 0.97, min ≥ 0.92 asymmetric; GPTQ calibrated on 64 sentences:
/// mean ≥ 0.98 and a higher mean than rounding on the 192 held-out sentences; AWQ α = 0.25 + GPTQ calibrated on 128
/// calibration sentences: min ≥ 0.95, mean ≥ 0.987 on all 256), kept as regression guards;
/// docs/quantization-lowbit.md has the figures.
/// </summary>
public class MiniLmLowBitTests
{
    /// <summary>Sentences used for GPTQ calibration; the rest are held out.</summary>
    private const int CalibrationSentences = 64;

    private static (double Min, double Mean, int Tokens) Cosines(byte[] reference, byte[] candidate, int skip = 0)
    {
        var tokenizer = WordPieceTokenizer.FromFile(PackageModels.MiniLmVocab);
        var sentences = File.ReadAllLines(RepoPaths.Sentences).Skip(skip).ToArray();
        using var a = new OrtRunner(reference, new RunnerOptions { IntraOpThreads = 2 }, "fp32");
        using var b = new OrtRunner(candidate, new RunnerOptions { IntraOpThreads = 2 }, "low-bit");
        var all = new List<double>();
        foreach (var chunk in sentences.Chunk(32))
        {
            var batch = TextBatch.Encode(tokenizer, chunk);
            var feeds = batch.Inputs(a.Inputs.Select(i => i.Name));
            var ya = TensorProtoData.Floats(a.Run(feeds)["last_hidden_state"].AsTensor());
            var yb = TensorProtoData.Floats(b.Run(feeds)["last_hidden_state"].AsTensor());
            all.AddRange(TokenCosine.PerToken(ya, yb, batch));
        }
        return (all.Min(), all.Average(), all.Count);
    }

    [TestCase(32, false, 0.88, 0.96)]
    [TestCase(32, true, 0.92, 0.97)]
    public void Int4RoundToNearest(int blockSize, bool asymmetric, double minFloor, double meanFloor)
    {
        var model = ModelReader.Load(PackageModels.MiniLm);
        var original = ModelWriter.ToBytes(model);
        var pass = new MatMulNBitsQuantization(new Int4Options(blockSize, !asymmetric));
        pass.Run(model);
        var bytes = ModelWriter.ToBytes(model);
        var (f, q) = pass.WeightBytes;
        var (min, mean, tokens) = Cosines(original, bytes);
        TestContext.Out.WriteLine($"MiniLM int4 block {blockSize} {(asymmetric ? "asymmetric" : "symmetric")}: {pass.QuantizedNodes} MatMuls, weights {f:N0} → {q:N0} bytes ({(double)f / q:F2}×), file {original.Length:N0} → {bytes.Length:N0} bytes; token cosine min {min:F4}, mean {mean:F5} over {tokens} tokens");
        Assert.That(pass.QuantizedNodes, Is.EqualTo(37), "6 layers × (Q, K, V, attention output, FFN up, FFN down) + the pooler");
        Assert.That((double)f / q, Is.GreaterThanOrEqualTo(6.0));
        Assert.That(mean, Is.GreaterThanOrEqualTo(meanFloor));
        Assert.That(min, Is.GreaterThanOrEqualTo(minFloor));
    }

    /// <summary>GPTQ calibrated on the first 64 sentences; cosines on the 192 held-out sentences and on all 256.</summary>
    [TestCase(32, true, 0.95, 0.985)]
    [TestCase(32, false, 0.90, 0.98)]
    [Category("Slow")]
    public void Int4Gptq(int blockSize, bool asymmetric, double minFloor, double meanFloor)
    {
        var model = ModelReader.Load(PackageModels.MiniLm);
        var original = ModelWriter.ToBytes(model);
        var tokenizer = WordPieceTokenizer.FromFile(PackageModels.MiniLmVocab);
        var names = ModelReader.Load(PackageModels.MiniLm).Graph.Inputs.Select(i => i.Name).ToList();
        var calibration = File.ReadAllLines(RepoPaths.Sentences).Take(CalibrationSentences).Chunk(16)
            .Select(c => (IReadOnlyDictionary<string, DataValue>)TextBatch.Encode(tokenizer, c).Inputs(names));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var hessians = Int4Calibration.Hessians(model, calibration, new RunnerOptions { IntraOpThreads = 2 });
        double calibrate = sw.Elapsed.TotalSeconds;
        var pass = new MatMulNBitsQuantization(new Int4Options(blockSize, !asymmetric, Hessians: hessians));
        pass.Run(model);
        double quantize = sw.Elapsed.TotalSeconds - calibrate;
        var bytes = ModelWriter.ToBytes(model);
        var (f, q) = pass.WeightBytes;
        var (min, mean, tokens) = Cosines(original, bytes, skip: CalibrationSentences);
        var (minAll, meanAll, tokensAll) = Cosines(original, bytes);
        TestContext.Out.WriteLine($"MiniLM int4 GPTQ block {blockSize} {(asymmetric ? "asymmetric" : "symmetric")}: {hessians.Count} calibrated weights ({calibrate:F1} s calibration, {quantize:F1} s GPTQ), weights {f:N0} → {q:N0} bytes ({(double)f / q:F2}×); held-out token cosine min {min:F4}, mean {mean:F5} over {tokens} tokens; all 256 sentences min {minAll:F4}, mean {meanAll:F5} over {tokensAll}");
        Assert.That((double)f / q, Is.GreaterThanOrEqualTo(6.0));
        Assert.That(mean, Is.GreaterThanOrEqualTo(meanFloor));
        Assert.That(min, Is.GreaterThanOrEqualTo(minFloor));
        var rtn = ModelReader.Load(PackageModels.MiniLm);
        new MatMulNBitsQuantization(new Int4Options(blockSize, !asymmetric)).Run(rtn);
        var (rtnMin, rtnMean, _) = Cosines(original, ModelWriter.ToBytes(rtn), skip: CalibrationSentences);
        TestContext.Out.WriteLine($"  round-to-nearest on the same held-out sentences: min {rtnMin:F4}, mean {rtnMean:F5}");
        Assert.That(mean, Is.GreaterThan(rtnMean), "GPTQ beats rounding on held-out sentences");
    }

    /// <summary>
    /// Activation-aware scaling (AWQ, s = mean|x|^0.25 per input channel, <see cref="ActivationAwareScales"/>) then GPTQ,
    /// both calibrated on 128 sentences of models/data/calibration_sentences.txt; cosines on all 256 evaluation sentences.
    /// Measured: min 0.9583, mean 0.98799 (GPTQ alone with the same calibration: min 0.9351, mean 0.98742); the goal
    /// (min ≥ 0.98) is not met, the floors are the measured levels. The 1/s vectors count into the int4 bytes.
    /// </summary>
    [Test]
    [Category("Slow")]
    public void Int4ActivationAwareGptq()
    {
        var model = ModelReader.Load(PackageModels.MiniLm);
        var original = ModelWriter.ToBytes(model);
        var tokenizer = WordPieceTokenizer.FromFile(PackageModels.MiniLmVocab);
        var names = model.Graph.Inputs.Select(i => i.Name).ToList();
        var sentences = File.ReadLines(Path.Combine(RepoPaths.Root, "models", "data", "calibration_sentences.txt")).Where(l => l.Trim().Length > 0).Take(128).ToList();
        var threads = new RunnerOptions { IntraOpThreads = 2 };
        // One sentence per feed for the channel statistics (no padding rows), batches of 16 for the Hessians.
        var scales = ActivationAwareScales.Apply(model, sentences.Select(c => (IReadOnlyDictionary<string, DataValue>)TextBatch.Encode(tokenizer, new[] { c }).Inputs(names)), 0.25, threads);
        var scaledFloat = ModelWriter.ToBytes(model);
        var hessians = Int4Calibration.Hessians(model, sentences.Chunk(16).Select(c => (IReadOnlyDictionary<string, DataValue>)TextBatch.Encode(tokenizer, c).Inputs(names)), threads);
        var pass = new MatMulNBitsQuantization(new Int4Options(32, Symmetric: false, Hessians: hessians));
        pass.Run(model);
        var (f, q) = pass.WeightBytes;
        long inverseScales = scales.Values.Sum(s => 4L * s.Length);
        var (floatMin, _, _) = Cosines(original, scaledFloat);
        var (min, mean, tokens) = Cosines(original, ModelWriter.ToBytes(model));
        TestContext.Out.WriteLine($"MiniLM int4 AWQ(0.25)+GPTQ asymmetric block 32: {scales.Count} scaled activations ({inverseScales:N0} bytes of 1/s), weights {f:N0} → {q + inverseScales:N0} bytes ({(double)f / (q + inverseScales):F2}×); token cosine min {min:F4}, mean {mean:F5} over {tokens} tokens (scaled float model: min {floatMin:F6})");
        Assert.That(floatMin, Is.GreaterThan(0.99999), "the scaling itself is exact in float");
        Assert.That((double)f / (q + inverseScales), Is.GreaterThanOrEqualTo(6.0));
        Assert.That(pass.QuantizedNodes, Is.EqualTo(37));
        Assert.That(mean, Is.GreaterThanOrEqualTo(0.987));
        Assert.That(min, Is.GreaterThanOrEqualTo(0.95));
    }

    [TestCase(Fp16Target.Cpu)]
    [TestCase(Fp16Target.Any)]
    public void Fp16KeepsEveryTokenWithinCosine0999(Fp16Target target)
    {
        var model = ModelReader.Load(PackageModels.MiniLm);
        var original = ModelWriter.ToBytes(model);
        var pass = new Fp16Conversion(target: target);
        pass.Run(model);
        var bytes = ModelWriter.ToBytes(model);
        var (min, mean, tokens) = Cosines(original, bytes);
        TestContext.Out.WriteLine($"MiniLM fp16 target {target}: file {original.Length:N0} → {bytes.Length:N0} bytes ({(double)original.Length / bytes.Length:F2}×); fp16 nodes {pass.HalfNodes}; token cosine min {min:F5}, mean {mean:F6} over {tokens} tokens");
        Assert.That(min, Is.GreaterThanOrEqualTo(0.999));
        Assert.That((double)original.Length / bytes.Length, Is.GreaterThan(1.9));
    }
}

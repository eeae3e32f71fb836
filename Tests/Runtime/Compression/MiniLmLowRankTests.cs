using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Compression;

/// <summary>
/// all-MiniLM-L6-v2 (real weights) at the acceptance setting, <c>--target-parameters 0.75</c>, with the best configuration
/// measured (docs/low-rank.md): only the embedding tables factored, rows weighted by their lookup counts over the 2048
/// calibration sentences plus the mean count (<c>--embedding-floor 1</c>), error measured after the embedding LayerNorm
/// (<c>--layernorm-aware</c>). Per-token cosine of last_hidden_state on the 256
/// evaluation sentences, which the calibration never sees. The floors below are the measured figures rounded down: the
/// acceptance goal (every token ≥ 0.95) is not met, and this test guards what is reached.
/// </summary>
public class MiniLmLowRankTests
{
    [OneTimeSetUp]
    public void Install() => CompressionPasses.Register();

    [Test]
    [Category("Slow")]
    public void EmbeddingFactoringAtTargetParameters075()
    {
        var model = ModelReader.Load(PackageModels.MiniLm);
        var pass = new LowRankFactorization(new LowRankOptions
        {
            Rule = RankRule.TargetParameters,
            TargetParameters = 0.75,
            Uses = new HashSet<LowRankUse> { LowRankUse.Gather },
            Calibration = Path.Combine(RepoPaths.Root, "models", "data", "calibration_sentences.txt"),
            Vocab = PackageModels.MiniLmVocab,
            CalibrationLimit = 2048,
            EmbeddingFloor = 1,
            LayerNormAware = true,
        });
        Assert.That(pass.Run(model).Modified, Is.True);
        var report = pass.Report!;
        string dir = RepoPaths.NewTempDir();
        try
        {
            string path = Path.Combine(dir, "minilm_lowrank.onnx");
            ModelWriter.Save(model, path);
            var sentences = File.ReadAllLines(RepoPaths.Sentences).Where(s => s.Trim().Length > 0).ToList();
            var r = TextEncoderComparison.Compare(PackageModels.MiniLm, path, PackageModels.MiniLmVocab, sentences);
            TestContext.Out.WriteLine($"parameters {report.ModelParametersBefore:N0} → {report.ModelParametersAfter:N0} ({report.Reduction:F3}×); "
                + $"{r.Tokens} tokens: cosine mean {r.Mean:F4}, 1st pct {r.P01:F4}, min {r.Min:F4}, {r.BelowThreshold} below 0.95");
            Assert.That(report.Reduction, Is.GreaterThanOrEqualTo(1.3));
            Assert.That(r.Tokens, Is.EqualTo(7366));
            Assert.That(r.Mean, Is.GreaterThanOrEqualTo(0.97));
            Assert.That(r.Min, Is.GreaterThanOrEqualTo(0.75));
        }
        finally { Directory.Delete(dir, true); }
    }
}

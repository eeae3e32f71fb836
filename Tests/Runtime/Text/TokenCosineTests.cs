using OnnxRev.Runtime.Text;

namespace OnnxRev.Tests.Runtime.Text;

/// <summary>Token and mean-pooled sentence cosines on a batch worked out by hand (padding must not count).</summary>
public class TokenCosineTests
{
    private static TextBatch Batch()
    {
        var tokenizer = new WordPieceTokenizer(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b" });
        return TextBatch.Encode(tokenizer, new[] { "a b", "a" });   // [CLS] a b [SEP] | [CLS] a [SEP] [PAD]
    }

    // hidden 2; sentence 1: four real tokens; sentence 2: three real tokens and one padding row.
    private static readonly float[] Reference = { 1, 0, 0, 1, 0, 0, 0, 0, /**/ 1, 1, 0, 0, 0, 0, 5, -5 };
    private static readonly float[] Candidate = { 1, 0, 0, 2, 0, 0, 0, 0, /**/ 2, 2, 0, 0, 0, 0, -7, 3 };

    [Test]
    public void SentenceCosineIsTheCosineOfTheMeansOverRealTokens()
    {
        var batch = Batch();
        Assert.That(batch.Length, Is.EqualTo(4));
        var cos = TokenCosine.PerSentence(Reference, Candidate, batch);
        // Sentence 1: sums (1, 1) and (1, 2): 3 / (√2 · √5). Sentence 2: (1, 1) and (2, 2), the padding row ignored.
        Assert.That(cos[0], Is.EqualTo(3 / Math.Sqrt(10)).Within(1e-12));
        Assert.That(cos[1], Is.EqualTo(1.0).Within(1e-12));
    }

    [Test]
    public void TokenCosinesSkipPadding()
    {
        var cos = TokenCosine.PerToken(Reference, Candidate, Batch());
        Assert.That(cos, Has.Length.EqualTo(7));
        Assert.That(cos[0], Is.EqualTo(1.0).Within(1e-12));   // (1, 0) vs (1, 0)
        Assert.That(cos[1], Is.EqualTo(1.0).Within(1e-12));   // (0, 1) vs (0, 2)
        Assert.That(cos[4], Is.EqualTo(1.0).Within(1e-12));   // (1, 1) vs (2, 2)
    }
}

using OnnxRev.Runtime;
using OnnxRev.Runtime.Text;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Text;

/// <summary>The WordPiece tokenizer against BERT's published uncased ids, and all-MiniLM-L6-v2 run end to end on real sentences.</summary>
public class MiniLmTests
{
    private static WordPieceTokenizer Tokenizer() => WordPieceTokenizer.FromFile(PackageModels.MiniLmVocab);

    [Test]
    public void TokenizerGivesBertUncasedIds()
    {
        var t = Tokenizer();
        // bert-base-uncased: [CLS]=101 hello=7592 ,=1010 world=2088 !=999 [SEP]=102
        Assert.That(t.Encode("Hello, world!"), Is.EqualTo(new[] { 101, 7592, 1010, 2088, 999, 102 }));
        Assert.That(t.Tokenize("Café naïve"), Is.EqualTo(new[] { "cafe", "naive" }), "accents stripped after NFD");
        Assert.That(t.Tokenize("unaffable"), Has.Count.GreaterThan(1).And.Some.StartsWith("##"), "an unknown word splits into pieces");
        Assert.That(t.Tokenize("$5.00"), Is.EqualTo(new[] { "$", "5", ".", "00" }), "ASCII symbols split like punctuation");
        var truncated = t.Encode(string.Join(' ', Enumerable.Repeat("word", 300)), maxLength: 16);
        Assert.That(truncated, Has.Length.EqualTo(16));
        Assert.That(truncated[^1], Is.EqualTo(102), "[SEP] kept when truncating");
    }

    [Test]
    public void BundledSentencesAreRealAndTokenizeWithFewUnknowns()
    {
        var sentences = File.ReadAllLines(RepoPaths.Sentences);
        Assert.That(sentences, Has.Length.EqualTo(256));
        var t = Tokenizer();
        int unknown = sentences.Sum(s => t.Encode(s).Count(id => id == t.UnknownId));
        int total = sentences.Sum(s => t.Encode(s).Length);
        Assert.That(unknown, Is.LessThan(total / 100), "English mail text is almost all in BERT's vocabulary");
    }

    /// <summary>Mean-pooled sentence embeddings: paraphrases are close, unrelated sentences are not (what the model was trained for).</summary>
    [Test]
    public void MiniLmEmbedsParaphrasesCloserThanUnrelatedSentences()
    {
        string[] s = { "A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell sharply today." };
        var batch = TextBatch.Encode(Tokenizer(), s);
        using var runner = new OrtRunner(PackageModels.MiniLm, new RunnerOptions { OptimizationLevel = OptimizationLevel.None });
        var output = runner.Run(batch.Inputs(runner.Inputs.Select(i => i.Name)))["last_hidden_state"].AsTensor();
        Assert.That(output.Dims, Is.EqualTo(new long[] { 3, batch.Length, 384 }));
        var values = TensorProtoData.Floats(output);
        var pooled = new double[3][];
        for (int b = 0; b < 3; b++)
        {
            pooled[b] = new double[384];
            int n = 0;
            for (int t = 0; t < batch.Length; t++)
            {
                if (batch.Mask[b * batch.Length + t] == 0) continue;
                n++;
                for (int h = 0; h < 384; h++) pooled[b][h] += values[(b * batch.Length + t) * 384 + h];
            }
            for (int h = 0; h < 384; h++) pooled[b][h] /= n;
        }
        double Cos(double[] a, double[] c) => a.Zip(c, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * c.Sum(x => x * x));
        double para = Cos(pooled[0], pooled[1]), unrelated = Cos(pooled[0], pooled[2]);
        TestContext.Out.WriteLine($"paraphrase cosine {para:F3}, unrelated {unrelated:F3}");
        Assert.That(para, Is.GreaterThan(0.6));
        Assert.That(unrelated, Is.LessThan(0.2));
    }

    [Test]
    public void TokenCosineOfAnOutputWithItselfIsOne()
    {
        var batch = TextBatch.Encode(Tokenizer(), new[] { "short one.", "a somewhat longer sentence than the first." });
        var values = Enumerable.Range(0, batch.Batch * batch.Length * 4).Select(i => (float)Math.Sin(i)).ToArray();
        var cos = TokenCosine.PerToken(values, values, batch);
        Assert.That(cos, Has.Length.EqualTo(batch.ValidTokens).And.All.EqualTo(1.0).Within(1e-12));
        var flipped = values.Select(v => -v).ToArray();
        Assert.That(TokenCosine.PerToken(values, flipped, batch), Has.All.EqualTo(-1.0).Within(1e-12));
    }
}

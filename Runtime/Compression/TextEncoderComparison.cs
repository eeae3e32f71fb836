using OnnxRev.Runtime.Text;

namespace OnnxRev.Runtime.Compression;

/// <summary>Per-token cosine of a compressed text encoder's output against the original's, over the real (unpadded) tokens.</summary>
/// <param name="Sentences">Sentences compared.</param>
/// <param name="Tokens">Real tokens compared.</param>
/// <param name="Mean">Mean cosine.</param>
/// <param name="Min">Smallest cosine of any real token.</param>
/// <param name="P01">1st percentile.</param>
/// <param name="BelowThreshold">Tokens below the threshold asked for.</param>
/// <param name="Worst">The lowest-cosine tokens: (sentence index, position, token id, cosine), worst first.</param>
/// <param name="SentenceMean">Mean cosine of the sentence embeddings (mean over each sentence's real tokens).</param>
/// <param name="SentenceMin">Smallest cosine of any sentence embedding.</param>
public sealed record TextCosineResult(int Sentences, int Tokens, double Mean, double Min, double P01, int BelowThreshold, IReadOnlyList<(int Sentence, int Position, int Token, double Cosine)> Worst,
    double SentenceMean = double.NaN, double SentenceMin = double.NaN);

/// <summary>Runs two BERT-style encoders (inputs input_ids, attention_mask, token_type_ids) on the same sentences and compares their first outputs token by token.</summary>
public static class TextEncoderComparison
{
    /// <summary>Compares <paramref name="candidate"/> with <paramref name="reference"/> on <paramref name="sentences"/> in batches.</summary>
    public static TextCosineResult Compare(string reference, string candidate, string vocab, IReadOnlyList<string> sentences, double threshold = 0.95, int batchSize = 16, RunnerOptions? options = null)
    {
        var tokenizer = WordPieceTokenizer.FromFile(vocab);
        using var a = new OrtRunner(reference, options);
        using var b = new OrtRunner(candidate, options);
        var cos = new List<double>();
        var pooled = new List<double>();
        var where = new List<(int, int, int)>();
        for (int i = 0; i < sentences.Count; i += batchSize)
        {
            var batch = TextBatch.Encode(tokenizer, sentences.Skip(i).Take(batchSize).ToList());
            var ea = TensorProtoData.Floats(a.Run(batch.Inputs(a.Inputs.Select(x => x.Name))).Values.First().AsTensor());
            var eb = TensorProtoData.Floats(b.Run(batch.Inputs(b.Inputs.Select(x => x.Name))).Values.First().AsTensor());
            cos.AddRange(TokenCosine.PerToken(ea, eb, batch));
            pooled.AddRange(TokenCosine.PerSentence(ea, eb, batch));
            for (int t = 0; t < batch.Batch * batch.Length; t++)
                if (batch.Mask[t] != 0) where.Add((i + t / batch.Length, t % batch.Length, (int)batch.Ids[t]));
        }
        var sorted = cos.Order().ToArray();
        var worst = Enumerable.Range(0, cos.Count).OrderBy(k => cos[k]).Take(10).Select(k => (where[k].Item1, where[k].Item2, where[k].Item3, cos[k])).ToList();
        return new TextCosineResult(sentences.Count, sorted.Length, sorted.Average(), sorted[0], sorted[(int)(0.01 * (sorted.Length - 1))], sorted.Count(c => c < threshold), worst,
            pooled.Average(), pooled.Min());
    }
}

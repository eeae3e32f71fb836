using OnnxRev.Runtime.Text;

namespace OnnxRev.Runtime.Quantization;

/// <summary>
/// Measures how far a candidate text encoder (inputs input_ids, attention_mask, token_type_ids) is from a reference
/// one: the cosine of every real (unpadded) token of the first output, on fixed sentences in fixed batches. The
/// reference outputs are computed once, so each candidate costs one session and one pass over the sentences. The
/// candidate runs in ONNX Runtime with all graph optimizations (what users run), so kernel fusions are part of what is measured.
/// </summary>
public sealed class TokenCosineProbe
{
    private readonly List<TextBatch> _batches = new();
    private readonly List<float[]> _reference = new();
    private readonly int? _threads;

    /// <summary>Tokenizes <paramref name="sentences"/> into batches of <paramref name="batchSize"/> and runs <paramref name="reference"/> on them.</summary>
    public TokenCosineProbe(byte[] reference, WordPieceTokenizer tokenizer, IReadOnlyList<string> sentences, int batchSize = 16, int? threads = null)
    {
        if (sentences.Count == 0) throw new OnnxRevException("no sentences to measure the token cosine on");
        if (batchSize < 1) throw new OnnxRevException($"batch size must be at least 1, got {batchSize}");
        _threads = threads;
        for (int s = 0; s < sentences.Count; s += batchSize)
            _batches.Add(TextBatch.Encode(tokenizer, sentences.Skip(s).Take(batchSize).ToList()));
        using var runner = new OrtRunner(reference, new RunnerOptions { IntraOpThreads = threads }, "reference encoder");
        foreach (var b in _batches) _reference.Add(FirstOutput(runner, b));
    }

    /// <summary>Real tokens measured.</summary>
    public int Tokens => _batches.Sum(b => b.ValidTokens);

    /// <summary>Cosine of every real token of <paramref name="candidate"/>'s first output against the reference's.</summary>
    public double[] Cosines(byte[] candidate)
    {
        using var runner = new OrtRunner(candidate, new RunnerOptions { IntraOpThreads = _threads }, "candidate encoder");
        var result = new List<double>(Tokens);
        for (int i = 0; i < _batches.Count; i++)
            result.AddRange(TokenCosine.PerToken(_reference[i], FirstOutput(runner, _batches[i]), _batches[i]));
        return result.ToArray();
    }

    /// <summary>The smallest token cosine of <paramref name="candidate"/>.</summary>
    public double MinCosine(byte[] candidate) => Cosines(candidate).Min();

    private static float[] FirstOutput(OrtRunner runner, TextBatch batch) =>
        TensorProtoData.Floats(runner.Run(batch.Inputs(runner.Inputs.Select(x => x.Name))).Values.First().AsTensor());
}

namespace OnnxRev.Runtime.Text;

/// <summary>Per-token cosine similarity of two encoders' outputs [batch, length, hidden] over the real (unpadded) tokens.</summary>
public static class TokenCosine
{
    /// <summary>The cosine of every real token (row-major order, padding skipped).</summary>
    public static double[] PerToken(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate, TextBatch batch)
    {
        int tokens = batch.Batch * batch.Length;
        if (reference.Length != candidate.Length || reference.Length % tokens != 0)
            throw new OnnxRevException($"embeddings of {reference.Length} and {candidate.Length} values do not fit {batch.Batch}×{batch.Length} tokens");
        int hidden = reference.Length / tokens;
        var result = new List<double>(batch.ValidTokens);
        for (int t = 0; t < tokens; t++)
        {
            if (batch.Mask[t] == 0) continue;
            result.Add(VectorMath.Cosine(reference.Slice(t * hidden, hidden), candidate.Slice(t * hidden, hidden)));
        }
        return result.ToArray();
    }
}

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
            double dot = 0, na = 0, nb = 0;
            for (int h = 0; h < hidden; h++)
            {
                double a = reference[t * hidden + h], b = candidate[t * hidden + h];
                dot += a * b;
                na += a * a;
                nb += b * b;
            }
            result.Add(na == 0 || nb == 0 ? (na == nb ? 1 : 0) : dot / Math.Sqrt(na * nb));
        }
        return result.ToArray();
    }
}

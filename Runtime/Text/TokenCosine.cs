namespace OnnxRev.Runtime.Text;

/// <summary>Per-token cosine similarity of two encoders' outputs [batch, length, hidden] over the real (unpadded) tokens.</summary>
public static class TokenCosine
{
    /// <summary>The cosine of every real token (row-major order, padding skipped).</summary>
    public static double[] PerToken(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate, TextBatch batch)
    {
        int tokens = batch.Batch * batch.Length;
        int hidden = Hidden(reference, candidate, batch);
        var result = new List<double>(batch.ValidTokens);
        for (int t = 0; t < tokens; t++)
        {
            if (batch.Mask[t] == 0) continue;
            result.Add(VectorMath.Cosine(reference.Slice(t * hidden, hidden), candidate.Slice(t * hidden, hidden)));
        }
        return result.ToArray();
    }

    /// <summary>
    /// The cosine of every sentence's embedding, the mean over its real tokens (the mean pooling sentence-transformers
    /// models such as all-MiniLM-L6-v2 apply; their final L2 normalization does not change a cosine).
    /// </summary>
    public static double[] PerSentence(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate, TextBatch batch)
    {
        int hidden = Hidden(reference, candidate, batch);
        var result = new double[batch.Batch];
        var a = new float[hidden];
        var b = new float[hidden];
        for (int s = 0; s < batch.Batch; s++)
        {
            Array.Clear(a);
            Array.Clear(b);
            for (int p = 0; p < batch.Length; p++)
            {
                int t = s * batch.Length + p;
                if (batch.Mask[t] == 0) continue;
                var ra = reference.Slice(t * hidden, hidden);
                var rb = candidate.Slice(t * hidden, hidden);
                for (int h = 0; h < hidden; h++) { a[h] += ra[h]; b[h] += rb[h]; }
            }
            // The mean's 1/count cancels in the cosine.
            result[s] = VectorMath.Cosine(a, b);
        }
        return result;
    }

    /// <summary>The hidden size both outputs [batch, length, hidden] share; an error when they do not fit the batch.</summary>
    private static int Hidden(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate, TextBatch batch)
    {
        int tokens = batch.Batch * batch.Length;
        if (reference.Length != candidate.Length || reference.Length % tokens != 0)
            throw new OnnxRevException($"embeddings of {reference.Length} and {candidate.Length} values do not fit {batch.Batch}×{batch.Length} tokens");
        return reference.Length / tokens;
    }
}

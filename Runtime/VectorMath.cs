namespace OnnxRev.Runtime;

/// <summary>Small numeric helpers shared by the comparisons of model outputs.</summary>
public static class VectorMath
{
    /// <summary>Cosine similarity of two vectors, accumulated in double: 1 when both are zero, 0 when only one is.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"vectors of {a.Length} and {b.Length} elements");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double x = a[i], y = b[i];
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        return na == 0 || nb == 0 ? (na == nb ? 1 : 0) : dot / Math.Sqrt(na * nb);
    }
}

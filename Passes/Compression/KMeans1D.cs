namespace OnnxRev.Passes.Compression;

/// <summary>How k-means centroids start (Deep Compression compares these; linear works best for large weights).</summary>
public enum CentroidInit
{
    /// <summary>Evenly spaced between the smallest and largest value.</summary>
    Linear,
    /// <summary>k-means++ (D² sampling) with a seeded generator.</summary>
    KMeansPlusPlus,
    /// <summary>At evenly spaced quantiles of the values (density-based).</summary>
    Density,
}

/// <summary>
/// Lloyd's k-means on scalars. The values are sorted once; with sorted centroids every cluster is a contiguous range
/// whose ends are found by binary search at the midpoints, and its mean comes from prefix sums, so an iteration costs
/// O(k log n). Deterministic for a given seed.
/// </summary>
public static class KMeans1D
{
    /// <summary>
    /// Centroids (ascending, empty clusters dropped) for <paramref name="values"/>, at most <paramref name="k"/> of them;
    /// at most <paramref name="maxIterations"/> Lloyd steps (stops when no centroid moves).
    /// </summary>
    public static float[] Fit(ReadOnlySpan<float> values, int k, CentroidInit init, int seed = 0, int maxIterations = 100)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k));
        if (values.Length == 0) return Array.Empty<float>();
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var distinct = sorted.Distinct().ToArray();
        if (distinct.Length <= k) return distinct;
        var prefix = new double[sorted.Length + 1];
        for (int i = 0; i < sorted.Length; i++) prefix[i + 1] = prefix[i] + sorted[i];
        var c = Initial(sorted, k, init, seed);
        for (int iter = 0; iter < maxIterations; iter++)
        {
            var next = Update(sorted, prefix, c);
            bool moved = !next.SequenceEqual(c);
            c = next;
            if (!moved) break;
        }
        return c;
    }

    /// <summary>The index of the centroid nearest to <paramref name="v"/> in ascending <paramref name="centroids"/> (lower one on ties).</summary>
    public static int Nearest(float[] centroids, float v)
    {
        int i = Array.BinarySearch(centroids, v);
        if (i >= 0) return i;
        i = ~i;
        if (i == 0) return 0;
        if (i == centroids.Length) return centroids.Length - 1;
        return (double)v - centroids[i - 1] <= (double)centroids[i] - v ? i - 1 : i;
    }

    private static float[] Update(float[] sorted, double[] prefix, float[] c)
    {
        var next = new List<float>(c.Length);
        int start = 0;
        for (int j = 0; j < c.Length; j++)
        {
            int end = sorted.Length;
            if (j + 1 < c.Length)
            {
                // Values ≤ the midpoint go to centroid j (ties to the lower, as in Nearest).
                double mid = ((double)c[j] + c[j + 1]) / 2;
                end = UpperBound(sorted, mid, start);
            }
            if (end > start) next.Add((float)((prefix[end] - prefix[start]) / (end - start)));
            start = end;
        }
        return next.ToArray();
    }

    private static int UpperBound(float[] sorted, double x, int from)
    {
        int lo = from, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static float[] Initial(float[] sorted, int k, CentroidInit init, int seed)
    {
        float min = sorted[0], max = sorted[^1];
        switch (init)
        {
            case CentroidInit.Linear:
                return Enumerable.Range(0, k).Select(i => (float)(min + (max - (double)min) * i / (k - 1))).Distinct().ToArray();
            case CentroidInit.Density:
                return Enumerable.Range(0, k).Select(i => sorted[(int)Math.Round((sorted.Length - 1) * (i + 0.5) / k)]).Distinct().ToArray();
            default:
                var rng = new Random(seed);
                var chosen = new List<float> { sorted[rng.Next(sorted.Length)] };
                var d2 = new double[sorted.Length];
                while (chosen.Count < k)
                {
                    double total = 0;
                    var cs = chosen.Order().ToArray();
                    for (int i = 0; i < sorted.Length; i++)
                    {
                        double d = sorted[i] - (double)cs[Nearest(cs, sorted[i])];
                        d2[i] = d * d;
                        total += d2[i];
                    }
                    if (total == 0) break;
                    double r = rng.NextDouble() * total;
                    int pick = 0;
                    for (double acc = 0; pick < sorted.Length - 1; pick++) { acc += d2[pick]; if (acc >= r) break; }
                    chosen.Add(sorted[pick]);
                }
                return chosen.Order().Distinct().ToArray();
        }
    }
}

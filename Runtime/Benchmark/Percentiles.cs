namespace OnnxRev.Runtime.Benchmark;

/// <summary>Order statistics of timing samples.</summary>
public static class Percentiles
{
    /// <summary>
    /// The <paramref name="p"/>-th percentile (0–100) by linear interpolation between closest ranks
    /// (p = 50 is the median; p = 0 the minimum; p = 100 the maximum).
    /// </summary>
    public static double Of(IReadOnlyList<double> samples, double p)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("no samples", nameof(samples));
        if (p is < 0 or > 100 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "percentile must be in [0, 100]");
        var sorted = samples.OrderBy(x => x).ToArray();
        double rank = p / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /// <summary>The median.</summary>
    public static double Median(IReadOnlyList<double> samples) => Of(samples, 50);
}

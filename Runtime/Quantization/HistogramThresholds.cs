namespace OnnxRev.Runtime.Quantization;

/// <summary>Clipping thresholds from a histogram of |x| (bin i covers [i·width, (i+1)·width)).</summary>
public static class HistogramThresholds
{
    /// <summary>The upper edge of the bin where the cumulative count first reaches <paramref name="percentile"/> % of all values.</summary>
    public static double Percentile(IReadOnlyList<double> hist, double width, double percentile)
    {
        if (!(percentile > 0 && percentile <= 100)) throw new OnnxRevException($"percentile must be in (0, 100], got {percentile}");
        double total = hist.Sum(), target = total * percentile / 100, seen = 0;
        for (int i = 0; i < hist.Count; i++)
        {
            seen += hist[i];
            if (seen >= target) return (i + 1) * width;
        }
        return hist.Count * width;
    }

    /// <summary>
    /// TensorRT's entropy calibration: for each candidate cut i ≥ <paramref name="levels"/> bins, P is the histogram up
    /// to i with everything beyond folded into its last bin, Q is P's first i bins merged into <paramref name="levels"/>
    /// groups and spread back evenly over each group's non-empty bins; the cut with the smallest KL(P‖Q) wins and its
    /// upper edge is the threshold.
    /// </summary>
    public static double Entropy(IReadOnlyList<double> hist, double width, int levels = 128)
    {
        int bins = hist.Count;
        if (bins <= levels) return bins * width;
        double bestKl = double.PositiveInfinity;
        int best = bins;
        var p = new double[bins];
        var q = new double[bins];
        double tail = hist.Sum();
        for (int i = 0; i < levels; i++) tail -= hist[i];
        for (int i = levels; i <= bins; i++)
        {
            // tail = Σ hist[i..]
            for (int j = 0; j < i; j++) p[j] = hist[j];
            p[i - 1] += tail;
            for (int j = 0; j < i; j++) q[j] = 0;
            for (int g = 0; g < levels; g++)
            {
                int start = (int)((long)g * i / levels), end = (int)((long)(g + 1) * i / levels);
                double sum = 0;
                int nonzero = 0;
                for (int j = start; j < end; j++) { sum += hist[j]; if (hist[j] > 0) nonzero++; }
                if (nonzero == 0) continue;
                for (int j = start; j < end; j++) if (hist[j] > 0) q[j] = sum / nonzero;
            }
            double ps = 0, qs = 0;
            for (int j = 0; j < i; j++) { ps += p[j]; qs += q[j]; }
            double kl = 0;
            if (qs > 0)
                for (int j = 0; j < i; j++)
                {
                    if (p[j] <= 0) continue;
                    double pj = p[j] / ps, qj = q[j] / qs;
                    kl += qj <= 0 ? pj * Math.Log(pj / 1e-12) : pj * Math.Log(pj / qj);
                }
            if (kl < bestKl) { bestKl = kl; best = i; }
            if (i < bins) tail -= hist[i];
        }
        return best * width;
    }
}

using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Runtime.Compression;

/// <summary>Latency percentiles of two models measured side by side.</summary>
/// <param name="P50A">Median ms of the first model.</param>
/// <param name="P50B">Median ms of the second.</param>
/// <param name="P90A">90th percentile ms of the first.</param>
/// <param name="P90B">90th percentile ms of the second.</param>
/// <param name="Runs">Timed runs of each.</param>
public sealed record LatencyPair(double P50A, double P50B, double P90A, double P90B, int Runs)
{
    /// <summary>P50A / P50B.</summary>
    public double Speedup => P50A / P50B;
}

/// <summary>
/// Times two single-input float models on the same batch in one process, alternating A, B, A, B … after warm-up, so
/// drift in machine load hits both alike; sessions use ORT's full graph optimizations and the given threads.
/// </summary>
public static class LatencyComparison
{
    /// <summary>Runs both models <paramref name="runs"/> times each on <paramref name="input"/> shaped <paramref name="shape"/>.</summary>
    public static LatencyPair Measure(byte[] a, byte[] b, float[] input, long[] shape, int runs = 200, int warmup = 20, int threads = 1)
    {
        var options = new RunnerOptions { IntraOpThreads = threads };
        using var ra = new OrtRunner(a, options, "model A");
        using var rb = new OrtRunner(b, options, "model B");
        using var x = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        var ta = new List<double>(runs);
        var tb = new List<double>(runs);
        for (int i = 0; i < warmup + runs; i++)
        {
            double da = Time(ra, x, runOptions), db = Time(rb, x, runOptions);
            if (i >= warmup) { ta.Add(da); tb.Add(db); }
        }
        return new LatencyPair(Percentile(ta, 0.5), Percentile(tb, 0.5), Percentile(ta, 0.9), Percentile(tb, 0.9), runs);
    }

    private static double Time(OrtRunner r, OrtValue x, RunOptions runOptions)
    {
        var clock = Stopwatch.StartNew();
        using var results = r.Session.Run(runOptions, new[] { r.Inputs[0].Name }, new[] { x }, new[] { r.Outputs[0].Name });
        return clock.Elapsed.TotalMilliseconds;
    }

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Round(q * (sorted.Length - 1)))];
    }
}

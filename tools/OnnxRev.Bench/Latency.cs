using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Bench;

/// <summary>p50 latency of two models on the same inputs, timed in alternating runs (A, B, A, B, …) so machine load hits both alike.</summary>
internal static class Latency
{
    /// <summary>Both models fed one float input of <paramref name="sampleShape"/> with batch 1.</summary>
    public static (double A, double B) AlternatingP50(string a, string b, float[] sample, IReadOnlyList<int> sampleShape, int threads, int iterations, int warmup = 3)
    {
        var shape = new long[] { 1 }.Concat(sampleShape.Select(d => (long)d)).ToArray();
        return AlternatingP50(a, b, session => new[] { (session.InputNames[0], OrtValue.CreateTensorValueFromMemory(sample, shape)) }, threads, iterations, warmup);
    }

    /// <summary>Both models fed the inputs <paramref name="feeds"/> makes for a session.</summary>
    public static (double A, double B) AlternatingP50(string a, string b, Func<InferenceSession, (string Name, OrtValue Value)[]> feeds, int threads, int iterations, int warmup = 3)
    {
        using var so = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var sa = new InferenceSession(a, so);
        using var sb = new InferenceSession(b, so);
        var fa = feeds(sa);
        var fb = feeds(sb);
        using var run = new RunOptions();
        var ta = new List<double>();
        var tb = new List<double>();
        try
        {
            for (int i = 0; i < warmup + iterations; i++)
            {
                ta.AddIfTimed(i >= warmup, Time(sa, run, fa));
                tb.AddIfTimed(i >= warmup, Time(sb, run, fb));
            }
        }
        finally
        {
            foreach (var (_, v) in fa) v.Dispose();
            foreach (var (_, v) in fb) v.Dispose();
        }
        return (Median(ta), Median(tb));
    }

    private static void AddIfTimed(this List<double> list, bool timed, double ms) { if (timed) list.Add(ms); }

    private static double Time(InferenceSession s, RunOptions run, (string Name, OrtValue Value)[] feeds)
    {
        var sw = Stopwatch.StartNew();
        using var r = s.Run(run, feeds.Select(f => f.Name).ToArray(), feeds.Select(f => f.Value).ToArray(), s.OutputNames.ToArray());
        return sw.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}

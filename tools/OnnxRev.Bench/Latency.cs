using OnnxRev.Runtime;
using OnnxRev.Runtime.Benchmark;

namespace OnnxRev.Bench;

/// <summary>p50 latency of two models on the same inputs, timed in alternating runs by <see cref="LatencyBenchmark"/>.</summary>
internal static class Latency
{
    /// <summary>Both models fed one float input of <paramref name="sampleShape"/> with batch 1.</summary>
    public static (double A, double B) AlternatingP50(string a, string b, float[] sample, IReadOnlyList<int> sampleShape, int threads, int iterations, int warmup = 3)
    {
        string name;
        using (var probe = new OrtRunner(a, new RunnerOptions { OptimizationLevel = OptimizationLevel.None })) name = probe.Inputs[0].Name;
        var shape = new long[] { 1 }.Concat(sampleShape.Select(d => (long)d)).ToArray();
        return AlternatingP50(a, b, new Dictionary<string, DataValue> { [name] = DataValue.Floats(name, shape, sample) }, threads, iterations, warmup);
    }

    /// <summary>Both models fed <paramref name="inputs"/>.</summary>
    public static (double A, double B) AlternatingP50(string a, string b, IReadOnlyDictionary<string, DataValue> inputs, int threads, int iterations, int warmup = 3)
    {
        var r = LatencyBenchmark.Run(new[] { new BenchTarget(Path.GetFileName(a), a, inputs, 1), new BenchTarget(Path.GetFileName(b), b, inputs, 1) },
            new BenchOptions(warmup, iterations, new RunnerOptions { IntraOpThreads = threads }));
        return (r[0].P50Ms, r[1].P50Ms);
    }
}

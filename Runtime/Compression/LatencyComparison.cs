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
/// Times two single-input float models on the same batch in one process with <see cref="Benchmark.LatencyBenchmark"/>
/// (alternating A, B, A, B … after warm-up, so drift in machine load hits both alike; ORT's full graph optimizations, the
/// given threads).
/// </summary>
public static class LatencyComparison
{
    /// <summary>Runs both models <paramref name="runs"/> times each on <paramref name="input"/> shaped <paramref name="shape"/>.</summary>
    public static LatencyPair Measure(byte[] a, byte[] b, float[] input, long[] shape, int runs = 200, int warmup = 20, int threads = 1)
    {
        string name;
        using (var probe = new OrtRunner(a, new RunnerOptions { OptimizationLevel = OptimizationLevel.None }, "model A")) name = probe.Inputs[0].Name;
        var inputs = new Dictionary<string, DataValue> { [name] = DataValue.Floats(name, shape, input) };
        var r = Benchmark.LatencyBenchmark.Run(new[]
        {
            new Benchmark.BenchTarget("model A", "", inputs, (int)shape[0]) { Model = a },
            new Benchmark.BenchTarget("model B", "", inputs, (int)shape[0]) { Model = b },
        }, new Benchmark.BenchOptions(warmup, runs, new RunnerOptions { IntraOpThreads = threads }));
        return new LatencyPair(r[0].P50Ms, r[1].P50Ms, r[0].P90Ms, r[1].P90Ms, runs);
    }
}

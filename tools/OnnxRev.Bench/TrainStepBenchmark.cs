using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;

namespace OnnxRev.Bench;

/// <summary>
/// Training-step time of OnnxRev's ONNX training graph (ORT, CPU) against TorchSharp (libtorch CPU)
/// on the same pre-LN residual MLP, batch, thread count and optimizer (AdamW), run alternately in one
/// invocation (ORT, peer, ORT, peer, …) so machine noise hits both alike. Reports median step times
/// and their ratio (ORT / libtorch; the goal is ≤ 1.0).
/// </summary>
internal static class TrainStepBenchmark
{
    public static int Run(int depth, int width, int batch, int threads, int steps, int warmup, int rounds, string? peer)
    {
        var ort = new List<double>();
        var torch = new List<double>();
        JsonObject? lastPeer = null;
        for (int r = 0; r < rounds; r++)
        {
            ort.Add(MeasureOrt(depth, width, batch, threads, steps, warmup));
            Console.Error.WriteLine($"round {r + 1}: ORT median step {ort[^1] * 1e3:F2} ms");
            if (peer is null) continue;
            lastPeer = RunPeer(peer, depth, width, batch, threads, steps, warmup);
            torch.Add((double)lastPeer["median_step_s"]!);
            Console.Error.WriteLine($"round {r + 1}: libtorch median step {torch[^1] * 1e3:F2} ms");
        }
        double ortMedian = Median(ort);
        var result = new JsonObject
        {
            ["model"] = $"resmlp depth {depth} width {width}",
            ["batch"] = batch,
            ["threads"] = threads,
            ["steps"] = steps,
            ["rounds"] = rounds,
            ["ort_median_step_s"] = ortMedian,
            ["ort_round_medians_s"] = new JsonArray(ort.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
        };
        if (torch.Count > 0)
        {
            double torchMedian = Median(torch);
            result["libtorch_median_step_s"] = torchMedian;
            result["libtorch_round_medians_s"] = new JsonArray(torch.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
            result["ratio_ort_over_libtorch"] = Math.Round(ortMedian / torchMedian, 3);
            result["libtorch_parameters"] = lastPeer?["parameters"]?.GetValue<long>();
        }
        Console.WriteLine(result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static double MeasureOrt(int depth, int width, int batch, int threads, int steps, int warmup)
    {
        var model = ModelZoo.ResidualMlp(depth, width, seed: 1);
        var artifacts = TrainingGraphBuilder.Build(model, new TrainingOptions(new LossOptions(LossKind.CrossEntropy),
            new OptimizerOptions(OptimizerKind.AdamW, WeightDecay: 0.01), TrainableSpec.All));
        var rng = new Random(2);
        var features = new float[batch * 64];
        for (int i = 0; i < features.Length; i++) features[i] = (float)(rng.NextDouble() * 2 - 1);
        var labels = Enumerable.Range(0, batch).Select(_ => (long)rng.Next(10)).ToArray();
        var data = new Dataset(features, labels, new[] { 64 }, 10, "random batch");
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        var options = new TrainerOptions
        {
            Epochs = warmup + steps, BatchSize = batch, LearningRate = 1e-3, MaxSteps = warmup + steps,
            Runner = new RunnerOptions { IntraOpThreads = threads },
            Progress = p =>
            {
                if (p.Step > warmup) times.Add(clock.Elapsed.TotalSeconds);
                clock.Restart();
            },
        };
        using var trainer = new Trainer(artifacts, options);
        clock.Restart();
        trainer.Fit(data);
        return Median(times);
    }

    private static JsonObject RunPeer(string peer, int depth, int width, int batch, int threads, int steps, int warmup)
    {
        var psi = new ProcessStartInfo(peer) { RedirectStandardOutput = true, RedirectStandardError = true };
        string preload = Path.Combine(Path.GetDirectoryName(peer)!, "libiosinit.so");
        if (File.Exists(preload)) psi.Environment["LD_PRELOAD"] = preload;
        foreach (var a in new[] { "--depth", depth.ToString(CultureInfo.InvariantCulture), "--width", width.ToString(CultureInfo.InvariantCulture),
            "--batch", batch.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--steps", steps.ToString(CultureInfo.InvariantCulture), "--warmup", warmup.ToString(CultureInfo.InvariantCulture), "--seed", "1", "--json" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"the TorchSharp peer failed ({p.ExitCode}): {err.Result}");
        return JsonNode.Parse(stdout)!.AsObject();
    }

    private static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}

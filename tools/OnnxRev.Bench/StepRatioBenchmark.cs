using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Benchmark;
using OnnxRev.Runtime.Training;

namespace OnnxRev.Bench;

/// <summary>
/// Training-step time of recompute and reversible against store-all on the same RevMLP (same weights, same batch),
/// interleaved step by step in one process: each round runs one step of every strategy, in an order that rotates
/// from round to round, so a change in the machine's load hits all of them alike. Reports each strategy's median
/// step and the median over rounds of its step time divided by store-all's in the same round. (Memory is measured
/// by `onnxrev bench-memory`, one process per point; three trainers in one process would mix their memory.)
/// </summary>
internal static class StepRatioBenchmark
{
    public const string Help =
        "Usage: onnxrev-bench step-ratio [--depths 8,64] [--width 256] [--batch 4096] [--rounds 7] [--warmup 2] [--threads 2]\n" +
        "  Step time of recompute and reversible over store-all on one RevMLP, interleaved step by step (median of per-round ratios).";

    private static readonly MemoryMode[] Modes = { MemoryMode.Store, MemoryMode.Recompute, MemoryMode.Reversible };

    public static int Run(string[] args)
    {
        var depths = new List<int> { 8, 64 };
        int width = 256, batch = 4096, rounds = 7, warmup = 2, threads = 2;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option '{args[i]}' needs a value");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--depths": depths = Next().Split(',').Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToList(); break;
                case "--width": width = Int(); break;
                case "--batch": batch = Int(); break;
                case "--rounds": rounds = Int(); break;
                case "--warmup": warmup = Int(); break;
                case "--threads": threads = Int(); break;
                default: Console.Error.WriteLine($"onnxrev-bench step-ratio: unknown option '{args[i]}'\n{Help}"); return 2;
            }
        }
        if (width % 2 != 0 || rounds < 1 || batch < 1) { Console.Error.WriteLine($"onnxrev-bench step-ratio: width must be even, rounds and batch positive\n{Help}"); return 2; }

        var results = new JsonArray();
        foreach (int depth in depths)
        {
            var rng = new Random(1);
            var features = Enumerable.Range(0, batch * 64).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var labels = Enumerable.Range(0, batch).Select(_ => (long)rng.Next(10)).ToArray();
            var model = ModelZoo.RevMlp(depth, width, seed: 0);
            var trainers = Modes.Select(m => new Trainer(
                TrainingGraphBuilder.Build(model, new TrainingOptions(new LossOptions(LossKind.CrossEntropy), new OptimizerOptions(WeightDecay: 0.01), TrainableSpec.All, Memory: m)),
                new TrainerOptions { BatchSize = batch, LearningRate = 1e-3, Runner = new RunnerOptions { IntraOpThreads = threads } })).ToList();
            try
            {
                var times = Modes.Select(_ => new List<double>()).ToArray();
                var losses = new double[Modes.Length];
                for (int r = 0; r < warmup + rounds; r++)
                {
                    for (int k = 0; k < Modes.Length; k++)
                    {
                        int s = (k + r) % Modes.Length;
                        var clock = Stopwatch.StartNew();
                        losses[s] = trainers[s].TrainStep(features, labels);
                        if (r >= warmup) times[s].Add(clock.Elapsed.TotalSeconds);
                    }
                    int round = r;
                    Console.Error.WriteLine(FormattableString.Invariant($"depth {depth} round {r + 1}/{warmup + rounds}{(r < warmup ? " (warm-up)" : "")}: ") +
                        string.Join(", ", Modes.Select((m, s) => round >= warmup ? FormattableString.Invariant($"{m} {times[s][^1] * 1e3:F0} ms") : $"{m} done")));
                }
                var row = new JsonObject { ["depth"] = depth, ["width"] = width, ["batch"] = batch, ["threads"] = threads, ["rounds"] = rounds };
                for (int s = 0; s < Modes.Length; s++)
                {
                    string name = Modes[s].ToString().ToLowerInvariant();
                    row[$"{name}_median_step_s"] = Math.Round(Percentiles.Median(times[s]), 4);
                    row[$"{name}_final_loss"] = losses[s];
                    if (s > 0) row[$"{name}_over_store"] = Math.Round(Percentiles.Median(times[s].Zip(times[0], (a, b) => a / b).ToList()), 3);
                }
                results.Add(row);
                Console.Error.WriteLine(row.ToJsonString());
            }
            finally
            {
                foreach (var t in trainers) t.Dispose();
            }
        }
        Console.WriteLine(new JsonObject { ["benchmark"] = "step-ratio", ["model"] = "RevMLP (ModelZoo.RevMlp), AdamW", ["results"] = results }
            .ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }
}

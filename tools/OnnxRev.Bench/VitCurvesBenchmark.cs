using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Reversible;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;

namespace OnnxRev.Bench;

/// <summary>
/// Loss curves of ModelZoo.VitTiny trained on a Fashion-MNIST subset with each memory strategy, from the same seed:
/// store vs recompute on the ViT (the same function and the same arithmetic, so the per-step losses must agree), and
/// store vs reversible on the coupling-converted ViT (coupling pass, pairs; a different function than the ViT, so it
/// is compared with its own store-all run). Each run trains in a child process (this tool, hidden option --one) so
/// its peak resident set (VmHWM) is its own. Exit 1 when a pair's per-step losses differ by more than --tolerance
/// (relative to the loss).
/// </summary>
internal static class VitCurvesBenchmark
{
    private static readonly string[] Runs = { "store", "recompute", "coupling-store", "reversible" };

    private sealed record Options(int Depth, int Width, int Heads, int Batch, int Train, int Test, int Epochs, double Lr, int Seed, int Threads,
        double Tolerance, string Data, string? Plot, string? One);

    public static int Run(string[] args)
    {
        int depth = 4, width = 64, heads = 4, batch = 64, train = 4096, test = 1000, epochs = 1, seed = 0, threads = 2;
        double lr = 1e-3, tolerance = 1e-4;
        string? data = null, plot = null, one = null;
        for (int i = 1; i < args.Length; i++)
        {
            bool Int(ref int v) => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out v) && v >= 0;
            bool Dbl(ref double v) => i + 1 < args.Length && double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out v) && v > 0;
            bool ok = args[i] switch
            {
                "--depth" => Int(ref depth) && depth > 0,
                "--width" => Int(ref width) && width > 0,
                "--heads" => Int(ref heads) && heads > 0,
                "--batch" => Int(ref batch) && batch > 0,
                "--train" => Int(ref train) && train > 0,
                "--test" => Int(ref test) && test > 0,
                "--epochs" => Int(ref epochs) && epochs > 0,
                "--lr" => Dbl(ref lr),
                "--tolerance" => Dbl(ref tolerance),
                "--seed" => Int(ref seed),
                "--threads" => Int(ref threads),
                "--data" when i + 1 < args.Length => (data = args[++i]) is not null,
                "--plot" when i + 1 < args.Length => (plot = args[++i]) is not null,
                "--one" when i + 1 < args.Length => Runs.Contains(one = args[++i]),
                _ => false,
            };
            if (!ok) { Console.Error.WriteLine($"onnxrev-bench: bad option or value at '{args[Math.Min(i, args.Length - 1)]}'"); return 2; }
        }
        if (width % heads != 0) { Console.Error.WriteLine($"onnxrev-bench: --width {width} must be a multiple of --heads {heads}"); return 2; }
        data ??= Path.Combine(RepoRoot(), ".cache", "data", "fashion-mnist");
        if (!Directory.Exists(data)) { Console.Error.WriteLine($"onnxrev-bench: Fashion-MNIST not found at {data}; run tools/fetch-data.sh"); return 2; }
        var o = new Options(depth, width, heads, batch, train, test, epochs, lr, seed, threads, tolerance, data, plot, one);
        return one is not null ? TrainOne(o) : RunAll(o);
    }

    private static int RunAll(Options o)
    {
        var results = new Dictionary<string, JsonObject>();
        foreach (var run in Runs)
        {
            Console.Error.WriteLine($"vit-curves: {run}: training in a child process…");
            results[run] = Child(o, run);
            var r = results[run];
            Console.Error.WriteLine(Inv($"vit-curves: {run}: final loss {(double)r["final_loss"]!:F4}, test accuracy {(double)r["test_accuracy"]!:P1}, peak RSS {(long)r["peak_rss_bytes"]! / 1048576.0:F1} MiB, {(double)r["seconds"]!:F1} s"));
        }
        double Diff(string a, string b)
        {
            var la = Losses(results[a]);
            var lb = Losses(results[b]);
            if (la.Length != lb.Length) return double.PositiveInfinity;
            return la.Zip(lb, (x, y) => Math.Abs(x - y) / Math.Max(Math.Abs(x), 1e-12)).Max();
        }
        double recompute = Diff("store", "recompute"), reversible = Diff("coupling-store", "reversible");
        if (o.Plot is not null) WritePlot(o, results);
        var json = new JsonObject
        {
            ["model"] = $"VitTiny(depth {o.Depth}, width {o.Width}, heads {o.Heads}, patch 7)",
            ["data"] = o.Data,
            ["train"] = o.Train,
            ["test"] = o.Test,
            ["batch"] = o.Batch,
            ["epochs"] = o.Epochs,
            ["learning_rate"] = o.Lr,
            ["seed"] = o.Seed,
            ["max_rel_loss_diff_store_vs_recompute"] = recompute,
            ["max_rel_loss_diff_coupling_store_vs_reversible"] = reversible,
            ["tolerance"] = o.Tolerance,
            ["runs"] = new JsonObject(results.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["plot"] = o.Plot,
        };
        Console.WriteLine(json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Console.Error.WriteLine(Inv($"vit-curves: max relative per-step loss difference: store vs recompute {recompute:G3}, coupling store vs reversible {reversible:G3} (tolerance {o.Tolerance:G2})"));
        return recompute <= o.Tolerance && reversible <= o.Tolerance ? 0 : 1;
    }

    private static double[] Losses(JsonObject r) => r["losses"]!.AsArray().Select(v => (double)v!).ToArray();

    private static JsonObject Child(Options o, string run)
    {
        string dll = typeof(VitCurvesBenchmark).Assembly.Location;
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            dll, "vit-curves", "--one", run, "--depth", I(o.Depth), "--width", I(o.Width), "--heads", I(o.Heads), "--batch", I(o.Batch),
            "--train", I(o.Train), "--test", I(o.Test), "--epochs", I(o.Epochs), "--lr", o.Lr.ToString("R", CultureInfo.InvariantCulture),
            "--seed", I(o.Seed), "--threads", I(o.Threads), "--data", o.Data,
        }) psi.ArgumentList.Add(a);
        using var child = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {host}");
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"vit-curves {run} exited with code {child.ExitCode}");
        return JsonNode.Parse(stdout)!.AsObject();
    }

    private static int TrainOne(Options o)
    {
        string run = o.One!;
        var model = run is "store" or "recompute" ? ModelZoo.VitTiny(o.Depth, o.Width, o.Heads, seed: o.Seed) : CouplingVit(o);
        var mode = run switch { "recompute" => MemoryMode.Recompute, "reversible" => MemoryMode.Reversible, _ => MemoryMode.Store };
        var optimizer = new OptimizerOptions(OptimizerKind.AdamW, WeightDecay: 0.01);
        var artifacts = TrainingGraphBuilder.Build(model, new TrainingOptions(new LossOptions(LossKind.CrossEntropy), optimizer, TrainableSpec.All, Memory: mode));
        long parameters = artifacts.Parameters.Sum(t => t.Initial.ElementCount);
        var train = DatasetLoader.Load(o.Data, new DataOptions { Split = "train", MaxSamples = o.Train, ClassCount = 10 });
        var test = DatasetLoader.Load(o.Data, new DataOptions { Split = "test", MaxSamples = o.Test, ClassCount = 10 });
        var losses = new List<double>();
        var options = new TrainerOptions
        {
            Epochs = o.Epochs, BatchSize = o.Batch, LearningRate = o.Lr, Seed = o.Seed,
            Runner = new RunnerOptions { IntraOpThreads = o.Threads > 0 ? o.Threads : null },
            Progress = s => losses.Add(s.Loss),
        };
        using var trainer = new Trainer(artifacts, options);
        var clock = Stopwatch.StartNew();
        var fit = trainer.Fit(train);
        double seconds = clock.Elapsed.TotalSeconds;
        var eval = trainer.Evaluate(test);
        var json = new JsonObject
        {
            ["run"] = run,
            ["memory"] = mode.ToString().ToLowerInvariant(),
            ["model"] = run is "store" or "recompute" ? "vit" : "coupling vit (pairs)",
            ["parameters"] = parameters,
            ["steps"] = fit.Steps,
            ["final_loss"] = fit.FinalLoss,
            ["epoch_losses"] = new JsonArray(fit.EpochLosses.Select(l => (JsonNode)JsonValue.Create(l)).ToArray()),
            ["test_accuracy"] = eval.Accuracy,
            ["test_loss"] = eval.Loss,
            ["peak_rss_bytes"] = MemoryStats.PeakRssBytes(),
            ["arena_max_in_use_bytes"] = trainer.StepArenaStats()?.MaxInUse,
            ["seconds"] = Math.Round(seconds, 3),
            ["losses"] = new JsonArray(losses.Select(l => (JsonNode)JsonValue.Create(l)).ToArray()),
        };
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    private static OnnxRev.Ir.Model CouplingVit(Options o)
    {
        var model = ModelZoo.VitTiny(o.Depth, o.Width, o.Heads, seed: o.Seed);
        if (!new CouplingConversion().Run(model).Modified) throw new InvalidOperationException("the coupling pass found no residual chain in the ViT");
        return model;
    }

    private static void WritePlot(Options o, Dictionary<string, JsonObject> results)
    {
        var plot = new ScottPlot.Plot();
        var styles = new Dictionary<string, (string Label, ScottPlot.LinePattern Pattern, float Width)>
        {
            ["store"] = ("ViT, store", ScottPlot.LinePattern.Solid, 4),
            ["recompute"] = ("ViT, recompute", ScottPlot.LinePattern.Dashed, 1.5f),
            ["coupling-store"] = ("coupling ViT, store", ScottPlot.LinePattern.Solid, 4),
            ["reversible"] = ("coupling ViT, reversible", ScottPlot.LinePattern.Dashed, 1.5f),
        };
        foreach (var run in Runs)
        {
            var losses = Losses(results[run]);
            var line = plot.Add.Scatter(Enumerable.Range(1, losses.Length).Select(s => (double)s).ToArray(), losses);
            var (label, pattern, width) = styles[run];
            double acc = (double)results[run]["test_accuracy"]!;
            long peak = (long)results[run]["peak_rss_bytes"]!;
            line.LegendText = Inv($"{label} (test acc {acc:P1}, peak RSS {peak / 1048576.0:F0} MiB)");
            line.LinePattern = pattern;
            line.LineWidth = width;
            line.MarkerSize = 0;
        }
        plot.Title(Inv($"VitTiny depth {o.Depth}, width {o.Width}, {o.Heads} heads on {o.Train} Fashion-MNIST images, batch {o.Batch}: training loss"));
        plot.XLabel("step");
        plot.YLabel("cross-entropy (batch)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        string target = Path.GetFullPath(o.Plot!);
        File.WriteAllBytes(target, plot.GetImageBytes(1000, 600, ScottPlot.ImageFormat.Png));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OnnxRev.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;

namespace OnnxRev.Cli.Commands;

/// <summary>
/// `onnxrev bench-memory`: training-step memory and time of a model family against depth, per memory strategy
/// (store, recompute, reversible). Every measurement runs in a child process (this same tool with the hidden
/// option --one) so that its peak resident set (VmHWM) belongs to that measurement alone.
/// </summary>
internal sealed class BenchMemoryCommand : ICommand
{
    private static readonly string[] Families = { "resmlp", "revmlp", "vit" };
    private static readonly string[] Strategies = { "store", "recompute", "reversible" };
    private const int Inputs = 64, Classes = 10, VitPixels = 784;

    public string Name => "bench-memory";
    public string Summary => "peak memory and step time of training a model family at several depths, per memory strategy";
    public string Usage => "onnxrev bench-memory --family resmlp|revmlp|vit --depths 8,16,… [--width W] [--heads H] [--batch B] [--strategy store,recompute,reversible] [--steps N] [--warmup N] [--device cpu|cuda] [--threads N] [--plot FILE.png|FILE.svg] [--json]";
    public string Description =>
        "Builds the family's model at each depth (untrained, seeded; 64 input features — vit: 1×28×28 images — 10 classes),\n" +
        "builds its training step (cross-entropy, AdamW) with the memory strategy, and runs warm-up plus timed steps on\n" +
        "seeded random data.\n" +
        "Each strategy × depth runs in a fresh child process, so peak_bytes is that process's whole peak resident set\n" +
        "(VmHWM: runtime, model, sessions, parameters, optimizer state and the step's activations).\n" +
        "Families: resmlp = pre-LN residual MLP (h += Linear(GELU(Linear(LN(h)))), width → 2·width → width);\n" +
        "revmlp = additive-coupling RevMLP (y1 = x1 + F(x2), y2 = x2 + G(y1) on the two halves of the width).\n" +
        "'reversible' needs coupling blocks: on the resmlp family it measures the RevMLP of the same width and depth —\n" +
        "a different function (and fewer parameters) than the residual MLP, compared at equal width and depth.\n" +
        "vit = ModelZoo.VitTiny (patch 7 on 1×28×28 random images, 16 tokens, --heads heads; per block an attention and an\n" +
        "MLP residual sub-block); 'reversible' on vit measures the coupling-converted ViT (the coupling pass, pairs: each\n" +
        "block's attention and MLP become F and G of one coupling block) — like resmlp → RevMLP, a different function.\n" +
        "Per result: strategy, depth, peak_bytes, state_bytes (4 bytes × parameters × (1 weight\n" +
        "+ 1 gradient + optimizer states)), step_seconds (median of the timed steps), arena_max_in_use_bytes (ONNX\n" +
        "Runtime's CPU arena peaks of the step session and the optimizer-update session, added; null where not\n" +
        "reported; also step_arena_max_in_use_bytes and update_arena_max_in_use_bytes), trainer_buffer_bytes (the\n" +
        "parameter, state and gradient buffers plus the update's spare buffers, one set per parameter shape),\n" +
        "steps_peak_bytes (peak resident set\n" +
        "from just before the first step; null where the peak cannot be reset), parameters. On --device cuda the\n" +
        "resident-set numbers are host memory. Progress goes to stderr; --plot draws peak bytes against depth per strategy.";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev bench-memory --family resmlp --depths 8,16,32,64 --width 256 --batch 4096 --strategy store,recompute,reversible --plot memory.png",
        "onnxrev bench-memory --family revmlp --depths 8,64 --width 256 --batch 1024 --strategy store,reversible --json",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("family", "resmlp, revmlp or vit", ValueName: "NAME"),
        new("depths", "comma-separated block counts, e.g. 8,16,32", ValueName: "D1,D2,…"),
        new("width", "hidden width (default 256; even for revmlp and for reversible on resmlp)", ValueName: "W"),
        new("heads", "attention heads of the vit family (default 4; divides the width)", ValueName: "H"),
        new("batch", "samples per step (default 256)", ValueName: "B"),
        new("strategy", "comma-separated memory strategies: store (default), recompute, reversible", ValueName: "S1,S2,…"),
        new("steps", "timed steps per measurement (default 5)", ValueName: "N"),
        new("warmup", "untimed steps first (default 2)", ValueName: "N"),
        new("seed", "seed of the weights and the random batch (default 0)", ValueName: "S"),
        new("device", "cpu (default) or cuda", ValueName: "DEVICE"),
        new("threads", "intra-op threads", ValueName: "N"),
        new("update", "where the optimizer update runs: separate (default; one parameter at a time in its own session, in\n" +
            "the old buffers' place) or in-step (inside the step graph: a second copy of parameters and states while it runs)", ValueName: "WHERE"),
        new("plot", "draw peak bytes against depth per strategy into FILE (.png or .svg)", ValueName: "FILE"),
        new("one", "internal: measure one strategy at one depth in this process", TakesValue: false, Hidden: true),
    };

    public int Run(Args args, Output output)
    {
        var p = Parse(args);
        return args.Has("one") ? MeasureOne(p, output) : RunAll(p, output);
    }

    /// <summary>The validated options.</summary>
    private sealed record Plan(string Family, IReadOnlyList<int> Depths, int Width, int Heads, int Batch, IReadOnlyList<string> Strategies,
        int Steps, int Warmup, int Seed, string Device, int Threads, string? Plot, string Update);

    private Plan Parse(Args args)
    {
        if (args.Positionals.Count > 0) throw new UsageException($"'onnxrev bench-memory' takes no positional arguments, got '{args.Positionals[0]}'; see 'onnxrev bench-memory --help'");
        string family = args.Require("family");
        if (!Families.Contains(family)) throw new UsageException($"option '--family' must be one of {string.Join(", ", Families)}, got '{family}'");
        var depths = IntList(args.Require("depths"), "depths");
        int width = args.GetInt("width", 256, min: 1);
        int heads = args.GetInt("heads", 4, min: 1);
        if (family == "vit" && width % heads != 0) throw new UsageException($"option '--width' must be a multiple of --heads ({heads}) for the vit family, got {width}");
        int batch = args.GetInt("batch", 256, min: 1);
        var strategies = (args.Get("strategy") ?? "store").Split(',', StringSplitOptions.TrimEntries).ToList();
        foreach (var s in strategies)
            if (!Strategies.Contains(s)) throw new UsageException($"option '--strategy' takes a comma-separated list of {string.Join(", ", Strategies)}, got '{s}'");
        if (strategies.Distinct().Count() != strategies.Count) throw new UsageException($"option '--strategy' names a strategy twice: '{args.Get("strategy")}'");
        if (width % 2 != 0 && (family == "revmlp" || (family != "vit" && strategies.Contains("reversible"))))
            throw new UsageException($"option '--width' must be even for {(family == "revmlp" ? "the revmlp family" : "the reversible strategy")} (coupling blocks split the hidden state in halves), got {width}");
        int steps = args.GetInt("steps", 5, min: 1);
        int warmup = args.GetInt("warmup", 2, min: 0);
        int seed = args.GetInt("seed", 0);
        string device = args.GetChoice("device", "cpu", "cpu", "cuda");
        int threads = args.GetInt("threads", 0, min: 0);
        string update = args.GetChoice("update", "separate", "separate", "in-step");
        string? plot = args.Get("plot");
        if (plot is not null)
        {
            string ext = Path.GetExtension(plot).ToLowerInvariant();
            if (ext is not (".png" or ".svg")) throw new UsageException($"option '--plot' must name a .png or .svg file, got '{plot}'");
            string? dir = Path.GetDirectoryName(Path.GetFullPath(plot));
            if (dir is null || !Directory.Exists(dir)) throw new OnnxRevException($"output folder '{dir}' of --plot does not exist");
        }
        return new Plan(family, depths, width, heads, batch, strategies, steps, warmup, seed, device, threads, plot, update);
    }

    private static List<int> IntList(string text, string option)
    {
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 1)
                throw new UsageException($"option '--{option}' takes a comma-separated list of integers ≥ 1, got '{text}'");
            if (list.Contains(v)) throw new UsageException($"option '--{option}' names {v} twice: '{text}'");
            list.Add(v);
        }
        return list;
    }

    // ───────────────────────── the parent: one child process per measurement ─────────────────────────

    private static int RunAll(Plan p, Output output)
    {
        var results = new List<JsonObject>();
        int total = p.Strategies.Count * p.Depths.Count, k = 0;
        var clock = Stopwatch.StartNew();
        foreach (var strategy in p.Strategies)
        {
            foreach (int depth in p.Depths)
            {
                k++;
                Console.Error.WriteLine(Inv($"bench-memory [{k}/{total}] {p.Family} {strategy} depth {depth} width {p.Width} batch {p.Batch}: measuring…"));
                var r = RunChild(p, strategy, depth, output);
                results.Add(r);
                Console.Error.WriteLine(r["error"] is { } err
                    ? Inv($"bench-memory [{k}/{total}] {strategy} depth {depth}: {err}")
                    : Inv($"bench-memory [{k}/{total}] {strategy} depth {depth}: peak {MiB(r["peak_bytes"])}, state {MiB(r["state_bytes"])}, arena max in use {MiB(r["arena_max_in_use_bytes"])}, step {(double)r["step_seconds"]! * 1e3:F2} ms"));
            }
        }

        if (p.Plot is not null) WritePlot(p, results);
        var json = new JsonObject
        {
            ["family"] = p.Family,
            ["width"] = p.Width,
            ["heads"] = p.Family == "vit" ? p.Heads : null,
            ["batch"] = p.Batch,
            ["inputs"] = p.Family == "vit" ? VitPixels : Inputs,
            ["classes"] = Classes,
            ["steps"] = p.Steps,
            ["warmup"] = p.Warmup,
            ["seed"] = p.Seed,
            ["device"] = p.Device,
            ["optimizer"] = "adamw",
            ["update"] = p.Update,
            ["results"] = new JsonArray(results.Select(r => (JsonNode)r).ToArray()),
            ["plot"] = p.Plot,
            ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
        };
        if (!output.Json)
        {
            Console.WriteLine($"{"strategy",-11} {"depth",6} {"parameters",12} {"peak MiB",10} {"state MiB",10} {"arena MiB",10} {"step ms",9}");
            foreach (var r in results)
                Console.WriteLine(r["error"] is { } err
                    ? Inv($"{(string)r["strategy"]!,-11} {(int)r["depth"]!,6} {err}")
                    : Inv($"{(string)r["strategy"]!,-11} {(int)r["depth"]!,6} {(long)r["parameters"]!,12} {Mb(r["peak_bytes"]),10} {Mb(r["state_bytes"]),10} {Mb(r["arena_max_in_use_bytes"]),10} {(double)r["step_seconds"]! * 1e3,9:F2}"));
            if (p.Plot is not null) Console.WriteLine($"wrote {p.Plot}");
        }
        output.Result(json);
        return 0;
    }

    /// <summary>Runs `onnxrev bench-memory --one …` for one strategy and depth and returns its result object.</summary>
    private static JsonObject RunChild(Plan p, string strategy, int depth, Output output)
    {
        var (host, prefix) = SelfCommand();
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in prefix) psi.ArgumentList.Add(a);
        var childArgs = new List<string>
        {
            "bench-memory", "--one", "--json", "--family", p.Family, "--depths", I(depth), "--width", I(p.Width), "--heads", I(p.Heads), "--batch", I(p.Batch),
            "--strategy", strategy, "--steps", I(p.Steps), "--warmup", I(p.Warmup), "--seed", I(p.Seed), "--device", p.Device,
        };
        if (p.Threads > 0) childArgs.AddRange(new[] { "--threads", I(p.Threads) });
        childArgs.AddRange(new[] { "--update", p.Update });
        foreach (var a in childArgs) psi.ArgumentList.Add(a);
        output.Detail($"bench-memory: {host} {string.Join(" ", prefix.Concat(childArgs))}");

        using var child = Process.Start(psi) ?? throw new InvalidOperationException($"could not start '{host}'");
        var lastErrorLine = "";
        child.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            if (e.Data.Length > 0) lastErrorLine = e.Data;
            output.Detail("  child: " + e.Data);
        };
        child.BeginErrorReadLine();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();

        JsonObject? json = null;
        try { json = stdout.Trim().Length > 0 ? JsonNode.Parse(stdout)?.AsObject() : null; }
        catch (System.Text.Json.JsonException) { }
        if (child.ExitCode == 0 && json is not null && json["error"] is null) return json;

        string where = $"{strategy} at depth {depth}";
        if (json?["error"] is { } error)
        {
            int code = (int?)json["exit_code"] ?? child.ExitCode;
            string message = $"bench-memory: measuring {where} failed: {(string)error!}";
            if (code == 2) throw new OnnxRevException(message);
            if (code == 1) throw new CheckFailedException(message);
            throw new InvalidOperationException(message);
        }
        // No JSON at all: the child was killed (the kernel's out-of-memory killer is the usual reason) — a result, not a crash.
        bool killed = child.ExitCode > 128; // 128 + the signal (137: SIGKILL)
        if (!killed) throw new InvalidOperationException($"measuring {where} exited with code {child.ExitCode} without a result: {lastErrorLine}");
        return new JsonObject
        {
            ["strategy"] = strategy,
            ["depth"] = depth,
            ["peak_bytes"] = null,
            ["state_bytes"] = null,
            ["step_seconds"] = null,
            ["error"] = $"the measuring process was killed (exit code {child.ExitCode}; out of memory?)",
        };
    }

    /// <summary>How to start this tool again: the dotnet host and this assembly.</summary>
    private static (string Host, string[] Prefix) SelfCommand()
    {
        string dll = typeof(BenchMemoryCommand).Assembly.Location;
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet") return (process, new[] { dll });
        string? hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath)) return (hostPath, new[] { dll });
        return ("dotnet", new[] { dll });
    }

    private static void WritePlot(Plan p, IReadOnlyList<JsonObject> results)
    {
        var plot = new ScottPlot.Plot();
        foreach (var strategy in p.Strategies)
        {
            var points = results.Where(r => (string?)r["strategy"] == strategy && r["peak_bytes"] is not null)
                .Select(r => (Depth: (double)(int)r["depth"]!, MiB: (long)r["peak_bytes"]! / 1048576.0)).OrderBy(t => t.Depth).ToArray();
            if (points.Length == 0) continue;
            var line = plot.Add.Scatter(points.Select(t => t.Depth).ToArray(), points.Select(t => t.MiB).ToArray());
            // On the resmlp family, 'reversible' is measured on the RevMLP of the same width and depth: say so on the plot.
            line.LegendText = strategy != "reversible" ? strategy : p.Family switch
            {
                "resmlp" => "reversible (RevMLP)",
                "vit" => "reversible (coupling ViT)",
                _ => strategy,
            };
            line.LineWidth = 2;
            line.MarkerSize = 8;
        }
        plot.Title(Inv($"{p.Family}, width {p.Width}, batch {p.Batch}: peak memory of a training step ({p.Device})"));
        plot.XLabel("depth (blocks)");
        plot.YLabel("peak resident set (MiB)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        var depths = p.Depths.Order().ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(depths.Select(d => (double)d).ToArray(), depths.Select(I).ToArray());
        plot.Axes.AutoScale();
        double pad = Math.Max(0.5, (depths[^1] - depths[0]) * 0.05);
        plot.Axes.SetLimits(depths[0] - pad, depths[^1] + pad, 0, Math.Max(1, plot.Axes.GetLimits().Top * 1.05));

        string target = Path.GetFullPath(p.Plot!);
        string temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Environment.ProcessId}.tmp");
        try
        {
            if (Path.GetExtension(target).Equals(".svg", StringComparison.OrdinalIgnoreCase))
                File.WriteAllText(temp, plot.GetSvgXml(900, 560));
            else
                File.WriteAllBytes(temp, plot.GetImageBytes(900, 560, ScottPlot.ImageFormat.Png));
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    // ───────────────────────── the child: one measurement in this process ─────────────────────────

    private static int MeasureOne(Plan p, Output output)
    {
        if (p.Depths.Count != 1 || p.Strategies.Count != 1) throw new UsageException("--one measures one depth and one strategy");
        int depth = p.Depths[0];
        string strategy = p.Strategies[0];
        var mode = strategy switch
        {
            "recompute" => MemoryMode.Recompute,
            "reversible" => MemoryMode.Reversible,
            _ => MemoryMode.Store,
        };
        // Reversible needs coupling blocks: the resmlp family is measured as the RevMLP of the same width and depth,
        // the vit family as the ViT after the coupling pass (pairs).
        bool coupling = p.Family == "revmlp" || mode == MemoryMode.Reversible;
        var (model, modelName) = (p.Family, coupling) switch
        {
            ("vit", false) => (ModelZoo.VitTiny(depth, p.Width, p.Heads, classes: Classes, seed: p.Seed), $"vit_d{depth}_w{p.Width}_h{p.Heads}"),
            ("vit", true) => (CouplingVit(depth, p.Width, p.Heads, p.Seed), $"vit_coupling_d{depth}_w{p.Width}_h{p.Heads}"),
            (_, true) => (ModelZoo.RevMlp(depth, p.Width, Inputs, Classes, p.Seed), $"revmlp_d{depth}_w{p.Width}"),
            _ => (ModelZoo.ResidualMlp(depth, p.Width, Inputs, Classes, p.Seed), $"resmlp_d{depth}_w{p.Width}"),
        };
        int[] sampleShape = p.Family == "vit" ? new[] { 1, 28, 28 } : new[] { Inputs };
        int sampleSize = sampleShape.Aggregate(1, (a, b) => a * b);
        var optimizer = new OptimizerOptions(OptimizerKind.AdamW, WeightDecay: 0.01);
        var artifacts = TrainingGraphBuilder.Build(model, new TrainingOptions(new LossOptions(LossKind.CrossEntropy), optimizer, TrainableSpec.All, Memory: mode, Update: p.Update == "in-step" ? UpdatePlacement.InStep : UpdatePlacement.Separate));
        long parameters = artifacts.Parameters.Sum(t => t.Initial.ElementCount);
        long stateBytes = 4 * parameters * (2 + optimizer.StateNames.Count);
        int stepNodes = artifacts.Step.Graph.Nodes.Count;

        var rng = new Random(p.Seed + 1);
        var features = new float[(long)p.Batch * sampleSize];
        for (int i = 0; i < features.Length; i++) features[i] = (float)(rng.NextDouble() * 2 - 1);
        var labels = Enumerable.Range(0, p.Batch).Select(_ => (long)rng.Next(Classes)).ToArray();
        var data = new Dataset(features, labels, sampleShape, Classes, "random batch");

        int total = p.Warmup + p.Steps;
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        double lastLoss = double.NaN;
        var runner = new RunnerOptions
        {
            Device = p.Device == "cuda" ? ExecutionDevice.Cuda : ExecutionDevice.Cpu,
            IntraOpThreads = p.Threads > 0 ? p.Threads : null,
            EnableMemoryPattern = Environment.GetEnvironmentVariable("ONNXREV_MEMPAT") != "0",
        };
        var options = new TrainerOptions
        {
            Epochs = total, BatchSize = p.Batch, LearningRate = 1e-3, MaxSteps = total, Seed = p.Seed, Runner = runner,
            Progress = s =>
            {
                if (s.Step > p.Warmup) times.Add(clock.Elapsed.TotalSeconds);
                lastLoss = s.Loss;
                Console.Error.WriteLine(Inv($"  step {s.Step}/{s.TotalSteps}{(s.Step <= p.Warmup ? " (warm-up)" : "")}: {clock.Elapsed.TotalSeconds:F3} s, loss {s.Loss:F4}, resident {(MemoryStats.CurrentRssBytes() ?? 0) / 1048576.0:F1} MiB"));
                clock.Restart();
            },
        };
        using var trainer = new Trainer(artifacts, options);

        // Everything before the steps (runtime, graph building, session creation) counts in the whole-process peak;
        // the peak is then reset so that the steps' own peak can be reported too.
        model = null!;
        artifacts = null!;
        // Give the graph-building garbage back to the system (compacting the large-object heap), so that what the
        // steps add is not hidden behind memory the process merely keeps committed.
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        MemoryStats.TrimNativeHeap();
        long? setupPeak = MemoryStats.PeakRssBytes();
        long? before = MemoryStats.CurrentRssBytes();
        bool reset = MemoryStats.TryResetPeakRss();
        clock.Restart();
        var fit = trainer.Fit(data);
        long? stepsPeak = MemoryStats.PeakRssBytes();
        long? peak = reset ? Max(setupPeak, stepsPeak) : stepsPeak;
        var arena = trainer.StepArenaStats();
        var updateArena = trainer.UpdateArenaStats();
        long buffers = trainer.ResidentBufferBytes();
        var sorted = times.OrderBy(t => t).ToList();
        double median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;

        output.Result(new JsonObject
        {
            ["strategy"] = strategy,
            ["depth"] = depth,
            ["peak_bytes"] = peak,
            ["state_bytes"] = stateBytes,
            ["step_seconds"] = Math.Round(median, 6),
            ["model"] = modelName,
            ["step_graph_nodes"] = stepNodes,
            ["parameters"] = parameters,
            ["arena_max_in_use_bytes"] = arena is null ? null : arena.MaxInUse + (updateArena?.MaxInUse ?? 0),
            ["step_arena_max_in_use_bytes"] = arena?.MaxInUse,
            ["update_arena_max_in_use_bytes"] = updateArena?.MaxInUse,
            ["trainer_buffer_bytes"] = buffers,
            ["arena_total_allocated_bytes"] = arena?.TotalAllocated,
            ["steps_peak_bytes"] = reset ? stepsPeak : null,
            ["rss_before_steps_bytes"] = before,
            ["step_seconds_all"] = new JsonArray(times.Select(t => (JsonNode)JsonValue.Create(Math.Round(t, 6))).ToArray()),
            ["final_loss"] = double.IsFinite(lastLoss) ? lastLoss : fit.FinalLoss,
        });
        return 0;
    }

    /// <summary>ModelZoo.VitTiny after the coupling pass (pairs): depth coupling blocks, F = attention, G = MLP.</summary>
    internal static OnnxRev.Ir.Model CouplingVit(int depth, int width, int heads, int seed)
    {
        var model = ModelZoo.VitTiny(depth, width, heads, seed: seed);
        var pass = new OnnxRev.Passes.Reversible.CouplingConversion();
        if (!pass.Run(model).Modified) throw new InvalidOperationException("the coupling pass found no residual chain in the ViT");
        return model;
    }

    private static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string MiB(JsonNode? bytes) => bytes is null ? "n/a" : Inv($"{(long)bytes / 1048576.0:F1} MiB");

    private static string Mb(JsonNode? bytes) => bytes is null ? "n/a" : Inv($"{(long)bytes / 1048576.0:F1}");
}

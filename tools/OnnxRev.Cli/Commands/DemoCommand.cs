using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Building;
using OnnxRev.Cli.Reports;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Recipes;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev demo`: the end-to-end tour on bundled real data (the built-in "demo" recipe on a fresh RevMLP and the digits).</summary>
internal sealed class DemoCommand : ICommand
{
    public string Name => "demo";
    public string Summary => "the end-to-end tour on bundled real data: train reversibly, compress, quantize, evaluate, benchmark, package, report";
    public string Usage => "onnxrev demo [-o DIR] [--threads N] [--json]";
    public string Description =>
        "Builds an untrained RevMLP (8 additive coupling blocks, width 256) with OnnxRev's graph builder, trains it from\n" +
        "scratch on scikit-learn's 8x8 handwritten digits (1 797 real samples bundled in onnxrev; 80 % train, 20 % held\n" +
        "out) with reversible activation memory, measures training memory per strategy, then runs the rest of the\n" +
        "built-in 'demo' recipe (see `onnxrev pipeline --show-recipe demo`) and writes DIR/model.onnx, DIR/model.ort and\n" +
        "DIR/report/ (report.md, report.html, plots). Takes a few minutes on 2 cores. Exit 1 if a goal is missed.";
    public IReadOnlyList<string> Examples => new[] { "onnxrev demo", "onnxrev demo -o /tmp/demo --json" };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("out", "output folder (default ./onnxrev-demo)", Alias: "o", ValueName: "DIR"),
        new("threads", "ONNX Runtime intra-op threads (default 2)", ValueName: "N"),
    };

    public int Run(Args args, Output output)
    {
        string dir = Path.GetFullPath(args.Get("out") ?? "onnxrev-demo");
        if (File.Exists(dir)) throw new OnnxRevException($"output folder '{dir}' is a file");
        string parent = Path.GetDirectoryName(dir)!;
        if (!Directory.Exists(parent)) throw new OnnxRevException($"cannot create output folder '{dir}': '{parent}' does not exist");
        int threads = args.GetInt("threads", 2, min: 1);
        using var folder = new AtomicFolder(dir);
        string data = Path.Combine(folder.Staging, "digits.csv.gz");
        using (var resource = typeof(DemoCommand).Assembly.GetManifestResourceStream("OnnxRev.Cli.Demo.digits.csv.gz")!)
        using (var file = File.Create(data)) resource.CopyTo(file);
        string untrained = Path.Combine(folder.Staging, "revmlp_untrained.onnx");
        ModelWriter.Save(ModelZoo.RevMlp(depth: 8, width: 256, inputs: 64, classes: 10, seed: 0), untrained);

        var all = DatasetLoader.Load(data, new DataOptions { Scale = 1f / 16 });
        var (train, held) = all.Split(0.2, seed: 0);
        var recipe = Recipe.Load("demo");
        output.Line($"onnxrev demo: {recipe.Description}");
        output.Line($"data: {all.Count} real 8x8 digits ({train.Count} train, {held.Count} held out); writing {dir}");
        var context = new PipelineContext(untrained, Path.Combine(folder.Staging, "work"), new PipelineSettings
        {
            Train = train,
            Eval = new ClassificationEvalSet(held),
            Runner = new RunnerOptions { IntraOpThreads = threads },
            BenchIterations = 100,
            Log = output.Line,
        });
        var result = PipelineRunner.Run(recipe, context);

        string model = Path.Combine(folder.Staging, "model.onnx");
        var lastOnnx = result.Records.Last(r => r.ModelPath.EndsWith(".onnx", StringComparison.Ordinal)).ModelPath;
        File.Copy(lastOnnx, model);
        foreach (var r in result.Records.Where(r => r.StoredPath.EndsWith(".ort", StringComparison.Ordinal)))
        {
            File.Copy(r.StoredPath, Path.Combine(folder.Staging, "model.ort"), overwrite: true);
            File.Copy(Path.ChangeExtension(r.StoredPath, ".required_operators.config"), Path.Combine(folder.Staging, "required_operators.config"), overwrite: true);
        }
        string reportDir = Path.Combine(folder.Staging, "report");
        Directory.CreateDirectory(reportDir);
        ReportWriter.Write(result, "RevMLP d8 w256 (untrained, built by onnxrev)", Path.Combine(dir, "model.onnx"), $"{held.Count} held-out digits of scikit-learn's 8x8 digits", reportDir);
        Directory.Delete(context.WorkDir, recursive: true);
        folder.Commit();

        foreach (var g in result.Goals) output.Line($"goal {g.Goal}: {(g.Actual is double v ? g.Goal.Format(v) + " — " : "")}{g.Note}");
        string report = Path.Combine(dir, "report", "report.md");
        output.Line(string.Create(CultureInfo.InvariantCulture, $"demo finished in {result.Seconds:F0} s; report: {report}"));
        output.Result(new JsonObject
        {
            ["report"] = report,
            ["html"] = Path.Combine(dir, "report", "report.html"),
            ["model"] = Path.Combine(dir, "model.onnx"),
            ["accuracy"] = result.Last.Quality?.Accuracy,
            ["bytes"] = result.Last.Bytes,
            ["latency_ms"] = result.Final.P50Ms,
            ["goals_met"] = result.GoalsMet,
            ["seconds"] = Math.Round(result.Seconds, 1),
        });
        return result.GoalsMet ? 0 : 1;
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Passes;
using OnnxRev.Runtime;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev optimize`: graph passes, optionally checked for equivalence pass by pass in ONNX Runtime.</summary>
internal sealed class OptimizeCommand : ICommand
{
    public string Name => "optimize";
    public string Summary => "run graph passes and write the optimized model; --check-equivalence verifies each pass in ONNX Runtime";
    public string Usage => "onnxrev optimize MODEL -o OUT --passes P1,P2,... [--check-equivalence [--inputs DIR] [--rtol R] [--atol A] [--seed S]] [--fixed-point] [--external-data keep|inline|all] [--json]";
    public string Description =>
        "Runs the named passes in order over MODEL and writes the result to OUT (atomically: OUT is created or\n" +
        "replaced only when everything succeeded). With --check-equivalence, runs the model in ONNX Runtime\n" +
        "(its own graph optimizations off) before the first pass and after each pass that changed it, on the\n" +
        "inputs of --inputs DIR or on seeded random inputs, and stops at the first pass whose outputs moved\n" +
        "beyond |a - e| <= atol + rtol*|e|: it names that pass, exits 1 and writes nothing.\n\n" +
        "Passes:\n" + string.Join("\n", PassRegistry.All.Select(p => $"  {p.Name,-28}{p.Description}")) +
        "\n\nPass options (after the options below) apply to the passes that name them; giving one for a pass\nnot in --passes is an error.";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev optimize models/fixtures/shufflenet_v2.onnx -o /tmp/shufflenet.onnx --passes cleanup --check-equivalence",
        "onnxrev optimize big.onnx -o out/big.onnx --passes dead-code-elimination --external-data all --json",
    };
    public IReadOnlyList<OptionSpec> Options => FixedOptions.Concat(PassRegistry.AllOptions.Select(o => new OptionSpec(o.Name, o.Help, o.TakesValue, ValueName: o.ValueName))).ToList();

    private static readonly OptionSpec[] FixedOptions =
    {
        new("out", "output model file", Alias: "o", ValueName: "OUT"),
        new("passes", "comma-separated pass names (see the list above)", ValueName: "P1,P2"),
        new("check-equivalence", "run ONNX Runtime before and after each pass and compare outputs", TakesValue: false),
        new("inputs", "test-data folder of inputs for --check-equivalence (default: seeded random)", ValueName: "DIR"),
        new("rtol", "relative tolerance of the check (default 1e-4)", ValueName: "R"),
        new("atol", "absolute tolerance of the check (default 1e-5)", ValueName: "A"),
        new("seed", "seed of the random inputs (default 0)", ValueName: "S"),
        new("fixed-point", "repeat the pass list until nothing changes", TakesValue: false),
        new("external-data", "keep (default): as the input; inline: all weights in the .onnx; all: weights >= 1 KiB in OUT.data", ValueName: "MODE"),
    };

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string outPath = args.Require("out");
        var names = args.Require("passes").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new UsageException("option '--passes' names no pass");
        var passes = CreatePasses(names, args);
        bool check = args.Has("check-equivalence");
        double rtol = args.GetDouble("rtol", 1e-4, min: 0), atol = args.GetDouble("atol", 1e-5, min: 0);
        int seed = args.GetInt("seed", 0);
        var policy = args.GetChoice("external-data", "keep", "keep", "inline", "all") switch
        {
            "inline" => ExternalDataPolicy.Inline,
            "all" => ExternalDataPolicy.Externalize,
            _ => ExternalDataPolicy.Keep,
        };
        string? inputsDir = args.Get("inputs");
        if (inputsDir is not null && !check) throw new UsageException("option '--inputs' only applies with --check-equivalence");
        if (Directory.Exists(outPath)) throw new OnnxRevException($"output '{outPath}' is a folder; give a file name");
        string? outDir = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (outDir is null || !Directory.Exists(outDir)) throw new OnnxRevException($"output folder '{outDir}' does not exist");

        OnnxRev.Runtime.Compression.CompressionPasses.Register(output.Line);
        OnnxRev.Passes.Compression.LowRankFactorization.Log = output.Line;
        var model = ModelFacts.LoadChecked(path);
        int nodesBefore = model.Graph.AllNodes().Count();
        var manager = new PassManager(passes, fixedPoint: args.Has("fixed-point"));
        using var equivalence = check ? new EquivalenceCheck(new EquivalenceOptions { Rtol = rtol, Atol = atol, Seed = seed, Inputs = LoadInputs(path, inputsDir) }) : null;
        if (equivalence is not null) manager.Instruments.Add(equivalence);
        manager.Instruments.Add(new ProgressInstrument(output));

        var result = new JsonObject { ["model"] = path, ["output"] = outPath, ["nodes_before"] = nodesBefore };
        PassManagerResult run;
        try
        {
            run = manager.Run(model);
        }
        catch (EquivalenceFailedException e)
        {
            result["equivalent"] = false;
            result["failed_pass"] = e.Pass;
            result["reason"] = e.Comparison.Reason;
            result["max_abs_error"] = e.Comparison.MaxAbsError;
            result["max_rel_error"] = e.Comparison.MaxRelError;
            result["passes"] = StepsJson(equivalence!);
            output.Line($"not equivalent: {e.Message}; nothing written");
            output.Result(result);
            return 1;
        }
        ModelWriter.Save(run.Model, outPath, new WriteOptions(policy));
        result["passes"] = new JsonArray(run.Records.Select(r => (JsonNode)new JsonObject
        {
            ["name"] = r.Name, ["modified"] = r.Modified, ["seconds"] = Math.Round(r.Seconds, 4), ["nodes"] = r.Nodes, ["bytes"] = r.Bytes,
        }).ToArray());
        result["nodes"] = run.Model.Graph.AllNodes().Count();
        foreach (var lowRank in passes.OfType<OnnxRev.Passes.Compression.LowRankFactorization>().Where(p => p.Report is not null))
            result["low_rank"] = new JsonObject
            {
                ["parameters_before"] = lowRank.Report!.ModelParametersBefore, ["parameters_after"] = lowRank.Report.ModelParametersAfter,
                ["reduction"] = Math.Round(lowRank.Report.Reduction, 4), ["factored"] = lowRank.Report.Entries.Count(e => e.Rank > 0),
            };
        result["bytes"] = ModelFacts.FileBytes(outPath, run.Model);
        if (equivalence is not null)
        {
            var ran = equivalence.Steps.Where(s => s.Comparison is not null).ToList();
            result["equivalent"] = true;
            result["max_abs_error"] = ran.Count == 0 ? 0 : ran.Max(s => s.Comparison!.MaxAbsError);
            result["max_rel_error"] = ran.Count == 0 ? 0 : ran.Max(s => s.Comparison!.MaxRelError);
            output.Line(string.Create(CultureInfo.InvariantCulture, $"equivalent after every pass (rtol {rtol:G3}, atol {atol:G3})"));
        }
        result["peak_rss_bytes"] = MemoryStats.PeakRssBytes();
        output.Line($"wrote {outPath}: {nodesBefore} → {result["nodes"]} nodes");
        output.Result(result);
        return 0;
    }

    /// <summary>Creates the named passes, each with the pass options it declares; a pass option that no named pass declares is a usage error.</summary>
    internal static List<IPass> CreatePasses(IReadOnlyList<string> names, Args args)
    {
        var infos = names.Select(PassRegistry.Find).ToList();
        var fixedNames = FixedOptions.Select(o => o.Name).Concat(Args.Common.Select(o => o.Name)).ToHashSet();
        var given = args.Names.Where(n => !fixedNames.Contains(n)).ToList();
        if (PassRegistry.Unclaimed(infos, given) is { } unclaimed)
        {
            var owners = PassRegistry.All.Where(p => p.Options.Any(o => o.Name == unclaimed)).Select(p => p.Name);
            throw new UsageException($"option '--{unclaimed}' belongs to pass {string.Join(" or ", owners)}, which --passes does not name");
        }
        var options = new PassOptions(given.ToDictionary(n => n, args.Get));
        return infos.Select(i => PassRegistry.Create(i, options)).ToList();
    }

    private static IReadOnlyDictionary<string, DataValue>? LoadInputs(string modelPath, string? dir)
    {
        if (dir is null) return null;
        using var runner = new OrtRunner(modelPath, new RunnerOptions { OptimizationLevel = OptimizationLevel.None });
        return TestDataFolder.Read(dir, runner).Inputs;
    }

    private static JsonArray StepsJson(EquivalenceCheck check) =>
        new(check.Steps.Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Pass, ["modified"] = s.Ran, ["ok"] = s.Comparison?.Ok ?? true,
        }).ToArray());

    /// <summary>Prints one line per pass as it finishes.</summary>
    private sealed class ProgressInstrument(Output output) : IPassInstrument
    {
        public void BeforeAll(Ir.Model model) { }

        public void AfterPass(PassRecord r, Ir.Model model) =>
            output.Line(string.Create(CultureInfo.InvariantCulture, $"  {r.Name,-28} {(r.Modified ? "modified" : "unchanged"),-10} {r.Seconds,8:F3} s  {r.Nodes,6} nodes  {r.Bytes,12:N0} weight bytes"));
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Runtime;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev run`: one inference in ONNX Runtime, optionally compared against expected outputs.</summary>
internal sealed class RunCommand : ICommand
{
    public string Name => "run";
    public string Summary => "run a model once in ONNX Runtime; --compare checks its outputs against expected ones";
    public string Usage => "onnxrev run MODEL --inputs DIR [--compare DIR] [--rtol R] [--atol A] [--device cpu|cuda] [--threads N] [--optimization none|basic|extended|all] [-o DIR] [--json]";
    public string Description =>
        "Feeds the tensors of an ONNX test-data folder (input_0.pb, input_1.pb, ...) to MODEL and prints each\n" +
        "output's name and shape. With --compare DIR, checks the outputs against DIR/output_N.pb elementwise:\n" +
        "|actual - expected| <= atol + rtol * |expected| (NaN matches NaN); on a mismatch it names the worst element\n" +
        "and exits 1. With -o DIR, writes the outputs as output_N.pb (only when the run succeeds).";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev run models/fixtures/squeezenet1_1.onnx --inputs models/fixtures/squeezenet1_1_data --compare models/fixtures/squeezenet1_1_data",
        "onnxrev run model.onnx --inputs data/ -o out/ --threads 2 --json",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("inputs", "test-data folder with input_N.pb files", ValueName: "DIR"),
        new("compare", "folder with expected output_N.pb files", ValueName: "DIR"),
        new("rtol", "relative tolerance for --compare (default 1e-4)", ValueName: "R"),
        new("atol", "absolute tolerance for --compare (default 1e-5)", ValueName: "A"),
        new("out", "write the outputs as output_N.pb into DIR", Alias: "o", ValueName: "DIR"),
    }.Concat(RuntimeOptions.Specs).ToList();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string inputsDir = args.Require("inputs");
        double rtol = args.GetDouble("rtol", 1e-4, min: 0), atol = args.GetDouble("atol", 1e-5, min: 0);
        var options = RuntimeOptions.From(args);
        ModelFacts.LoadChecked(path);

        using var runner = new OrtRunner(path, options);
        var data = TestDataFolder.Read(inputsDir, runner);
        var expected = args.Get("compare") is { } compareDir ? TestDataFolder.ReadExpectedOutputs(compareDir, runner.Outputs) : null;
        var outputs = runner.Run(data.Inputs);

        var result = new JsonObject
        {
            ["model"] = path,
            ["outputs"] = new JsonArray(outputs.Select(kv => (JsonNode)new JsonObject { ["name"] = kv.Key, ["shape"] = ShapeJson(kv.Value) }).ToArray()),
        };
        foreach (var kv in outputs) output.Line($"{kv.Key}: {kv.Value}");
        int code = 0;
        if (expected is not null)
        {
            var cmp = OutputComparison.Compare(outputs, expected, rtol, atol);
            result["max_abs_error"] = cmp.MaxAbsError;
            result["max_rel_error"] = cmp.MaxRelError;
            result["rtol"] = rtol;
            result["atol"] = atol;
            result["ok"] = cmp.Ok;
            if (cmp.Worst is { } w)
                result["worst"] = new JsonObject { ["output"] = w.OutputName, ["index"] = w.FlatIndex, ["actual"] = w.Actual, ["expected"] = w.Expected };
            if (!cmp.Ok) result["reason"] = cmp.Reason;
            var inv = CultureInfo.InvariantCulture;
            output.Line(cmp.Ok
                ? string.Create(inv, $"outputs match (rtol {rtol:G3}, atol {atol:G3}): max abs error {cmp.MaxAbsError:G4}, max rel error {cmp.MaxRelError:G4}")
                : $"outputs differ: {cmp.Reason}");
            code = cmp.Ok ? 0 : 1;
        }
        if (args.Get("out") is { } outDir && code == 0)
        {
            using var folder = new AtomicFolder(outDir);
            TestDataFolder.WriteOutputs(folder.Staging, outputs);
            folder.Commit();
            output.Line($"wrote {outputs.Count} output(s) to {outDir}");
        }
        output.Result(result);
        return code;
    }

    private static JsonNode? ShapeJson(DataValue v) =>
        v.Kind == DataValueKind.Tensor ? new JsonArray(v.AsTensor().Dims.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()) : null;
}

/// <summary>The ONNX Runtime options every command shares: device, threads, optimization level.</summary>
internal static class RuntimeOptions
{
    /// <summary>The options <see cref="From"/> reads, for every command that runs ONNX Runtime.</summary>
    public static readonly OptionSpec[] Specs =
    {
        new("device", "cpu (default) or cuda", ValueName: "DEVICE"),
        new("threads", "intra-op threads (default: ONNX Runtime's choice)", ValueName: "N"),
        new("optimization", "ONNX Runtime graph optimizations: none, basic, extended, all (default all)", ValueName: "LEVEL"),
    };

    /// <summary>Reads --device, --threads and --optimization.</summary>
    public static RunnerOptions From(Args args, OptimizationLevel fallback = OptimizationLevel.All)
    {
        string device = args.GetChoice("device", "cpu", "cpu", "cuda");
        int threads = args.GetInt("threads", 0, min: 0);
        string level = args.GetChoice("optimization", fallback.ToString().ToLowerInvariant(), "none", "basic", "extended", "all");
        return new RunnerOptions
        {
            Device = device == "cuda" ? ExecutionDevice.Cuda : ExecutionDevice.Cpu,
            IntraOpThreads = threads > 0 ? threads : null,
            OptimizationLevel = Enum.Parse<OptimizationLevel>(level, ignoreCase: true),
        };
    }
}

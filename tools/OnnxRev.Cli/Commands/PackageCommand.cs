using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Benchmark;
using OnnxRev.Runtime.Packaging;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev package`: the model in ONNX Runtime's ORT format for mobile and minimal builds, with the operator list for a reduced build.</summary>
internal sealed class PackageCommand : ICommand
{
    public string Name => "package";
    public string Summary => "write the model in ORT format (.ort, for mobile/minimal ONNX Runtime) and the operators a reduced build needs";
    public string Usage => "onnxrev package MODEL -o OUT.ort [--ops-config FILE] [--optimization basic|extended|all] [--no-check] [--dim NAME=SIZE,...] [--json]";
    public string Description =>
        "Has ONNX Runtime optimize MODEL and save it in its ORT format (the flatbuffer format that ONNX Runtime Mobile\n" +
        "and minimal builds load), loads the .ort back and, unless --no-check, compares its outputs with the original's\n" +
        "(run with the same optimizations; seeded random inputs; rtol 1e-4, atol 1e-5): a difference exits 1 and writes nothing.\n" +
        "Optimizations default to 'extended', which stays portable across CPUs; 'all' adds layout changes (NCHWc)\n" +
        "specific to the CPU that writes the package. --ops-config writes the operators the optimized graph uses,\n" +
        "one line per domain 'domain;opset;Op1,Op2,...', the input of ONNX Runtime's reduced-operator build\n" +
        "(build.sh --include_ops_by_config FILE).";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev package /tmp/lenet_int8.onnx -o /tmp/lenet_int8.ort --ops-config /tmp/required_operators.config",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("out", "the .ort file to write", Alias: "o", ValueName: "OUT.ort"),
        new("ops-config", "also write the required-operators configuration here", ValueName: "FILE"),
        new("optimization", "graph optimizations baked in: basic, extended (default) or all", ValueName: "LEVEL"),
        new("no-check", "skip running the package against the original", TakesValue: false),
        new("dim", "sizes of symbolic dimensions for the check's inputs, e.g. sequence=16", ValueName: "NAME=SIZE,..."),
    };

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string outPath = args.Require("out");
        if (!outPath.EndsWith(".ort", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"output '{outPath}' must end in .ort");
        string? opsConfig = args.Get("ops-config");
        foreach (var file in new[] { outPath, opsConfig }.OfType<string>())
        {
            if (Directory.Exists(file)) throw new OnnxRevException($"output '{file}' is a folder; give a file name");
            string? dir = Path.GetDirectoryName(Path.GetFullPath(file));
            if (dir is null || !Directory.Exists(dir)) throw new OnnxRevException($"output folder '{dir}' does not exist");
        }
        var level = Enum.Parse<OptimizationLevel>(args.GetChoice("optimization", "extended", "basic", "extended", "all"), ignoreCase: true);
        var dims = BenchInputs.ParseDims(args.Get("dim"));
        ModelFacts.LoadChecked(path);
        var result = OrtFormatPackager.Package(path, outPath, new PackageOptions(level, Check: !args.Has("no-check"), DimValues: dims));
        if (opsConfig is not null)
        {
            string temp = opsConfig + ".partial";
            File.WriteAllText(temp, result.Operators.ToConfig(Path.GetFileName(path)));
            File.Move(temp, opsConfig, overwrite: true);
        }
        long before = new FileInfo(path).Length;
        string check = result.Comparison is { } c ? string.Create(CultureInfo.InvariantCulture, $"; outputs match the original (max abs error {c.MaxAbsError:G3})") : "";
        output.Line(string.Create(CultureInfo.InvariantCulture,
            $"wrote {outPath}: {result.Bytes:N0} bytes (model {before:N0}); {result.Operators.Count} operators in {result.Operators.ByDomain.Count} domain(s){check}"));
        foreach (var (domain, (opset, ops)) in result.Operators.ByDomain) output.Detail($"  {domain} {opset}: {string.Join(", ", ops)}");
        output.Result(new JsonObject
        {
            ["model"] = path,
            ["output"] = outPath,
            ["bytes"] = result.Bytes,
            ["bytes_before"] = before,
            ["optimization"] = level.ToString().ToLowerInvariant(),
            ["operators"] = new JsonObject(result.Operators.ByDomain.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)new JsonObject
            {
                ["opset"] = d.Value.Opset,
                ["ops"] = new JsonArray(d.Value.Ops.Select(o => (JsonNode)o).ToArray()),
            }))),
            ["ops_config"] = opsConfig,
            ["equivalent"] = result.Comparison?.Ok,
            ["max_abs_error"] = result.Comparison?.MaxAbsError,
        });
        return 0;
    }
}

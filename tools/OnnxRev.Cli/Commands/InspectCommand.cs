using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev inspect`: what a model is made of.</summary>
internal sealed class InspectCommand : ICommand
{
    public string Name => "inspect";
    public string Summary => "show a model's opsets, inputs and outputs, operators, parameters and size";
    public string Usage => "onnxrev inspect MODEL [--json]";
    public string Description =>
        "Reads MODEL (with its external data, if any) and reports its IR version, producer, opset imports,\n" +
        "inputs and outputs with element types and shapes (symbolic dimensions by name), the number of nodes\n" +
        "(subgraphs included), a histogram of operators, the parameter count and the bytes on disk.\n" +
        "Unknown operators are reported as errors, so inspect doubles as a quick validity check.";
    public IReadOnlyList<string> Examples => new[] { "onnxrev inspect models/fixtures/resmlp_d8.onnx", "onnxrev inspect model.onnx --json | jq .ops" };
    public IReadOnlyList<OptionSpec> Options => Array.Empty<OptionSpec>();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        var model = ModelFacts.LoadChecked(path);
        var g = model.Graph;
        var ops = ModelFacts.OpHistogram(model);
        var opsets = new JsonObject();
        foreach (var o in model.OpsetImports) opsets[o.Domain.Length == 0 ? "ai.onnx" : o.Domain] = o.Version;
        var inputs = new JsonArray(g.Inputs.Where(v => v.Initializer is null).Select(v => (JsonNode)ModelFacts.IoJson(v, null)).ToArray());
        var outputs = new JsonArray(g.Outputs.Select(v => (JsonNode)ModelFacts.IoJson(v, g.OutputDeclarations.GetValueOrDefault(v.Name)?.Type)).ToArray());
        long parameters = ModelFacts.ParameterCount(model);
        long bytes = ModelFacts.FileBytes(path, model);
        long weightBytes = ModelWriter.AllTensors(model).Sum(t => t.ByteSize);
        int nodes = g.AllNodes().Count();

        output.Result(new JsonObject
        {
            ["model"] = path,
            ["ir_version"] = model.IrVersion,
            ["producer"] = $"{model.Header.ProducerName} {model.Header.ProducerVersion}".Trim(),
            ["opsets"] = opsets,
            ["inputs"] = inputs,
            ["outputs"] = outputs,
            ["nodes"] = nodes,
            ["ops"] = new JsonObject(ops.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))),
            ["parameters"] = parameters,
            ["bytes"] = bytes,
            ["weight_bytes"] = weightBytes,
            ["external_data"] = ModelWriter.AllTensors(model).Any(t => t.IsExternal),
            ["functions"] = model.Functions.Count,
        });
        if (output.Json) return 0;

        var inv = CultureInfo.InvariantCulture;
        output.Line($"{path}: IR {model.IrVersion}, producer '{model.Header.ProducerName} {model.Header.ProducerVersion}'".TrimEnd());
        output.Line("opsets:   " + string.Join(", ", model.OpsetImports.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)} {o.Version}")));
        foreach (var v in g.Inputs.Where(v => v.Initializer is null)) output.Line($"input:    {v.Name}  {ModelFacts.TypeString(v.Type)}");
        foreach (var v in g.Outputs) output.Line($"output:   {v.Name}  {ModelFacts.TypeString(g.OutputDeclarations.GetValueOrDefault(v.Name)?.Type ?? v.Type)}");
        output.Line(string.Create(inv, $"nodes:    {nodes}   parameters: {parameters:N0}   bytes on disk: {bytes:N0}   weights: {weightBytes:N0}"));
        output.Line("ops:      " + string.Join("  ", ops.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}×{kv.Value}")));
        return 0;
    }
}

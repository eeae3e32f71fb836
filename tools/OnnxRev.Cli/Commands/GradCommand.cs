using System.Text.Json.Nodes;
using Google.Protobuf;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev grad`: one forward and backward pass on one batch, gradients written as TensorProtos.</summary>
internal sealed class GradCommand : ICommand
{
    public string Name => "grad";
    public string Summary => "one forward+backward on one batch: the loss and every parameter's gradient";
    public string Usage => "onnxrev grad MODEL --input X.pb --labels Y.pb [--loss cross-entropy|mse|l1|bce-with-logits|output] [--trainable SPEC] [--memory store|recompute|reversible] -o DIR [--json]";
    public string Description =>
        "Builds MODEL's gradient graph (forward, loss, backward: standard ONNX ops only) and runs it once in ONNX Runtime\n" +
        "on the batch X.pb (TensorProto for the model's data input) with labels Y.pb. Writes DIR/loss.pb (a TensorProto\n" +
        "named 'loss') and, for every trainable parameter, DIR/<parameter>.pb holding d(loss)/d(parameter) as a TensorProto\n" +
        "named after the parameter's initializer. DIR is written atomically.";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev grad models/fixtures/resmlp_d8.onnx --input models/fixtures/resmlp_d8_data/input_0.pb --labels models/fixtures/resmlp_d8_grads/labels.pb -o /tmp/grads",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("input", "the data batch as a TensorProto file", ValueName: "X.pb"),
        new("labels", "the labels as a TensorProto file", ValueName: "Y.pb"),
        new("out", "folder for loss.pb and the gradients", Alias: "o", ValueName: "DIR"),
    }.Concat(RuntimeOptions.Specs).Concat(TrainingArgs.Loss).ToList();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        var x = ReadTensor(args.Require("input"), "--input");
        var lossOptions = TrainingArgs.ParseLoss(args);
        var y = lossOptions.Kind == LossKind.Output ? null : ReadTensor(args.Require("labels"), "--labels");
        string outDir = args.Require("out");
        var runnerOptions = RuntimeOptions.From(args);
        var model = ModelFacts.LoadChecked(path);
        var (gradModel, grads, labels) = TrainingGraphBuilder.BuildGradient(model, lossOptions, TrainingArgs.ParseTrainable(args), TrainingArgs.ParseUntie(args), TrainingArgs.ParseMemory(args));

        using var runner = new OrtRunner(ModelWriter.ToBytes(gradModel), runnerOptions, Path.GetFileName(path));
        var dataInputs = runner.Inputs.Where(i => i.Name != labels).ToList();
        if (dataInputs.Count != 1) throw new OnnxRevException($"'{path}' has {dataInputs.Count} data inputs; grad feeds exactly one (--input)");
        var feeds = new Dictionary<string, DataValue> { [dataInputs[0].Name] = DataValue.Tensor(x) };
        if (labels is not null) feeds[labels] = DataValue.Tensor(y!);
        var results = runner.Run(feeds);

        using var folder = new AtomicFolder(outDir);
        var lossTensor = results["loss"].AsTensor().Clone();
        lossTensor.Name = "loss";
        File.WriteAllBytes(Path.Combine(folder.Staging, "loss.pb"), lossTensor.ToByteArray());
        var parameters = new JsonArray();
        foreach (var (param, outName) in grads)
        {
            var t = results[outName].AsTensor().Clone();
            t.Name = param;
            File.WriteAllBytes(Path.Combine(folder.Staging, FileNameFor(param) + ".pb"), t.ToByteArray());
            parameters.Add(new JsonObject { ["name"] = param, ["shape"] = new JsonArray(t.Dims.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()) });
        }
        folder.Commit();
        double loss = GradLoss(lossTensor);
        output.Line($"loss {loss:G6}; wrote loss.pb and {grads.Count} gradient(s) to {outDir}");
        output.Result(new JsonObject { ["model"] = path, ["loss"] = loss, ["parameters"] = parameters, ["output"] = outDir });
        return 0;
    }

    /// <summary>A file name for a parameter: its name with characters unsafe in file names replaced.</summary>
    internal static string FileNameFor(string parameter) =>
        new(parameter.Select(c => char.IsLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray());

    private static double GradLoss(TensorProto t) => t.DataType == (int)TensorProto.Types.DataType.Double
        ? BitConverter.ToDouble(Ir.TensorEncoding.InlineRawBytes(t))
        : BitConverter.ToSingle(Ir.TensorEncoding.InlineRawBytes(t));

    private static TensorProto ReadTensor(string file, string option)
    {
        if (!File.Exists(file)) throw new OnnxRevException($"{option} file '{file}' does not exist");
        try { return TensorProto.Parser.ParseFrom(File.ReadAllBytes(file)); }
        catch (InvalidProtocolBufferException e) { throw new OnnxRevException($"{option} file '{file}' is not a serialized TensorProto ({e.Message})", e); }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev make-training`: the training artifacts for apps that drive their own loop.</summary>
internal sealed class MakeTrainingCommand : ICommand
{
    public string Name => "make-training";
    public string Summary => "write training_step.onnx, eval.onnx and manifest.json for apps with their own training loop";
    public string Usage => "onnxrev make-training MODEL -o DIR [--loss L] [--optimizer adamw|sgd] [--trainable SPEC] [optimizer options] [--json]";
    public string Description =>
        "Writes into DIR (atomically):\n" +
        "  training_step.onnx  forward + loss + backward + optimizer update, standard ONNX ops only. Inputs: the model's data\n" +
        "                      input(s), 'labels', 'lr' and 'step' (float scalars; step counts from 1), every trainable\n" +
        "                      parameter and its optimizer states. Outputs: 'loss', the prediction, then '<param>.out' and\n" +
        "                      '<state>.out' for each — feed them back as the next step's inputs.\n" +
        "  eval.onnx           the original forward with the trainable parameters as inputs (share the same buffers).\n" +
        "  parameters/         the initial value of every parameter (TensorProto named after it); states start at zero.\n" +
        "  manifest.json       all of the above names, shapes and the optimizer settings.";
    public IReadOnlyList<string> Examples => new[] { "onnxrev make-training models/zoo/small_cnn.onnx -o /tmp/cnn_training --optimizer sgd --momentum 0.9" };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("out", "output folder", Alias: "o", ValueName: "DIR"),
    }.Concat(TrainingArgs.Loss).Concat(TrainingArgs.Optimizer).ToList();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string outDir = args.Require("out");
        var optimizer = TrainingArgs.ParseOptimizer(args);
        // The written step is one self-contained graph: forward, loss, backward and the optimizer update.
        var options = TrainingArgs.ParseTraining(args, optimizer) with { Update = UpdatePlacement.InStep };
        var model = ModelFacts.LoadChecked(path);
        var a = TrainingGraphBuilder.Build(model, options);

        using var folder = new AtomicFolder(outDir);
        ModelWriter.Save(a.Step, Path.Combine(folder.Staging, "training_step.onnx"));
        ModelWriter.Save(a.Eval, Path.Combine(folder.Staging, "eval.onnx"));
        var files = new JsonArray("training_step.onnx", "eval.onnx", "manifest.json");
        var parameters = new JsonArray();
        foreach (var p in a.Parameters)
        {
            string file = $"parameters/{GradCommand.FileNameFor(p.Name)}.pb";
            parameters.Add(new JsonObject
            {
                ["name"] = p.Name,
                ["shape"] = new JsonArray(p.Initial.Dims.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["output"] = p.Output,
                ["states"] = new JsonArray(p.StateInputs.Select((s, i) => (JsonNode)new JsonObject { ["input"] = s, ["output"] = p.StateOutputs[i], ["initial"] = "zeros" }).ToArray()),
                ["initial"] = file,
            });
        }
        // Parameters go into a sub-folder of the staging folder, moved with it.
        string paramDir = Path.Combine(folder.Staging, "parameters");
        Directory.CreateDirectory(paramDir);
        foreach (var p in a.Parameters)
            File.WriteAllBytes(Path.Combine(paramDir, GradCommand.FileNameFor(p.Name) + ".pb"), p.Initial.ToInlineProto().ToByteArray());
        var manifest = new JsonObject
        {
            ["format"] = "onnxrev-training/1",
            ["source_model"] = Path.GetFileName(path),
            ["data_inputs"] = new JsonArray(a.DataInputs.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
            ["labels_input"] = a.LabelsInput,
            ["lr_input"] = TrainingArtifacts.LrInput,
            ["step_input"] = TrainingArtifacts.StepInput,
            ["loss_output"] = a.LossOutput,
            ["prediction_output"] = a.PredictionOutput,
            ["loss"] = options.Loss.Kind.ToString(),
            ["optimizer"] = new JsonObject
            {
                ["kind"] = optimizer.Kind == OptimizerKind.AdamW ? "adamw" : "sgd",
                ["momentum"] = optimizer.Momentum,
                ["nesterov"] = optimizer.Nesterov,
                ["weight_decay"] = optimizer.WeightDecay,
                ["beta1"] = optimizer.Beta1,
                ["beta2"] = optimizer.Beta2,
                ["epsilon"] = optimizer.Epsilon,
                ["clip_global_norm"] = optimizer.ClipGlobalNorm,
                ["states"] = new JsonArray(optimizer.StateNames.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
            },
            ["parameters"] = parameters,
            ["lora"] = a.Lora is null ? null : new JsonArray(a.Lora.Select(l => (JsonNode)new JsonObject
            {
                ["weight"] = l.Weight, ["a"] = l.A, ["b"] = l.B, ["scale"] = l.Scale,
                ["merge"] = l.MatMulLayout ? "weight += scale * (a @ b)" : "weight += scale * (b @ a)",
            }).ToArray()),
        };
        File.WriteAllText(Path.Combine(folder.Staging, "manifest.json"), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        folder.Commit();
        output.Line($"wrote {outDir}: training_step.onnx ({a.Step.Graph.Nodes.Count} nodes), eval.onnx, {a.Parameters.Count} parameters, manifest.json");
        output.Result(new JsonObject { ["files"] = files, ["output"] = outDir, ["parameters"] = a.Parameters.Count });
        return 0;
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Training;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev eval`: accuracy and loss of a classifier on a dataset.</summary>
internal sealed class EvalCommand : ICommand
{
    public string Name => "eval";
    public string Summary => "accuracy and cross-entropy of a classifier on a dataset";
    public string Usage => "onnxrev eval MODEL --data DATA [--scale F] [--split NAME] [--batch B] [--json]";
    public string Description =>
        "Runs MODEL over DATA in batches and compares its first output (logits, [N, classes]) with the labels:\n" +
        "accuracy (argmax) and mean softmax cross-entropy.";
    public IReadOnlyList<string> Examples => new[] { "onnxrev eval /tmp/resmlp_trained.onnx --data models/data/digits.csv.gz --scale 0.0625" };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("data", "dataset (file or folder)", ValueName: "DATA"),
        new("batch", "batch size (default 256)", ValueName: "B"),
    }.Concat(RuntimeOptions.Specs).Concat(TrainingArgs.Data).ToList();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        var data = TrainingArgs.LoadData(args, args.Require("data"));
        int batch = args.GetInt("batch", 256, min: 1);
        ModelFacts.LoadChecked(path);
        using var runner = new OrtRunner(path, RuntimeOptions.From(args));
        var r = Evaluation.Classify(runner, data, batch);
        output.Line(string.Create(CultureInfo.InvariantCulture, $"accuracy {r.Accuracy:P2}, loss {r.Loss:F4} on {r.Samples} samples"));
        output.Result(new JsonObject { ["model"] = path, ["accuracy"] = r.Accuracy, ["loss"] = r.Loss, ["samples"] = r.Samples });
        return 0;
    }
}

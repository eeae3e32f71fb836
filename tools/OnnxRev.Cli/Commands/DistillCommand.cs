using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Runtime.Compression;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev distill`: fine-tunes a compressed text encoder against the original's outputs on unlabelled sentences.</summary>
internal sealed class DistillCommand : ICommand
{
    public string Name => "distill";
    public string Summary => "fine-tune a compressed text encoder (student) towards the original (teacher) on unlabelled sentences";
    public string Usage => "onnxrev distill TEACHER STUDENT -o OUT --sentences FILE --vocab FILE [--lines A-B] [--epochs N] [--batch B] [--lr LR] [--trainable SPEC] [--max-length N] [--max-steps N] [--seed S] [--json]";
    public string Description =>
        "Knowledge distillation with the training graph: the student's step (forward, MSE of its first output\n" +
        "against the teacher's output for the same batch, backward, AdamW with cosine decay) runs in ONNX Runtime;\n" +
        "the teacher's outputs are computed on the fly, so the sentences need no labels. Writes the student with\n" +
        "its trained weights (same structure, inputs and outputs).";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev distill model.onnx /tmp/minilm_lr.onnx -o /tmp/minilm_lr_kd.onnx --sentences models/data/calibration_sentences.txt --vocab vocab.txt --epochs 2",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("out", "output model file", Alias: "o", ValueName: "OUT"),
        new("sentences", "unlabelled sentences, one per line", ValueName: "FILE"),
        new("vocab", "WordPiece vocab.txt", ValueName: "FILE"),
        new("lines", "only these lines (1-based, inclusive)", ValueName: "A-B"),
        new("epochs", "passes over the sentences (default 2)", ValueName: "N"),
        new("batch", "sentences per step (default 16)", ValueName: "B"),
        new("lr", "AdamW learning rate, cosine decay (default 1e-4)", ValueName: "LR"),
        new("trainable", "which student parameters train: all, regex:P, names:a,b, last:K (default all)", ValueName: "SPEC"),
        new("max-length", "truncate sentences to this many tokens (default 64)", ValueName: "N"),
        new("max-steps", "stop after this many steps", ValueName: "N"),
        new("seed", "batch order seed (default 0)", ValueName: "S"),
    };

    public int Run(Args args, Output output)
    {
        if (args.Positionals.Count != 2) throw new UsageException($"'onnxrev distill' needs two models, TEACHER and STUDENT; got {args.Positionals.Count}");
        string teacher = args.Positionals[0], studentPath = args.Positionals[1];
        string outPath = args.Require("out");
        var sentences = SentenceSet.Read(args.Require("sentences"), args.Get("lines"));
        string vocab = args.Require("vocab");
        if (!File.Exists(vocab)) throw new OnnxRevException($"vocabulary '{vocab}' does not exist");
        string? outDir = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (outDir is null || !Directory.Exists(outDir)) throw new OnnxRevException($"output folder '{outDir}' does not exist");
        var options = new DistillationOptions
        {
            Epochs = args.GetInt("epochs", 2, min: 1),
            BatchSize = args.GetInt("batch", 16, min: 1),
            LearningRate = args.GetDouble("lr", 1e-4, min: 0),
            Trainable = args.Get("trainable") ?? "all",
            MaxSteps = args.Has("max-steps") ? args.GetInt("max-steps", 0, min: 1) : null,
            Seed = args.GetInt("seed", 0),
            MaxLength = args.GetInt("max-length", 64, min: 3),
            Log = output.Line,
        };
        ModelFacts.LoadChecked(teacher);
        var student = ModelFacts.LoadChecked(studentPath);
        var (model, r) = Distillation.Run(teacher, student, vocab, sentences, options);
        ModelWriter.Save(model, outPath);
        output.Line(string.Create(CultureInfo.InvariantCulture, $"wrote {outPath}: {r.Steps} steps, loss {r.FirstLoss:G4} → {r.LastLoss:G4} in {r.Seconds:F0} s"));
        output.Result(new JsonObject
        {
            ["teacher"] = teacher, ["student"] = studentPath, ["output"] = outPath, ["steps"] = r.Steps,
            ["first_loss"] = r.FirstLoss, ["final_loss"] = r.LastLoss, ["seconds"] = r.Seconds,
        });
        return 0;
    }
}

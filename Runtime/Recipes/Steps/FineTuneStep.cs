using System.Text.Json.Nodes;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary>
/// <c>{"step": "fine-tune", "epochs": 2, "lr": 1e-4, "batch": 64, "memory": "reversible", "lora": 0, "trainable": "all"}</c>:
/// trains the current model on the pipeline's labelled training data with the training graph (cross-entropy, AdamW or SGD).
/// </summary>
internal sealed class FineTuneStep : IRecipeStep
{
    public string Kind => "fine-tune";

    public string Help => "trains on --data (cross-entropy): epochs, lr, batch, optimizer adamw|sgd, weight-decay, memory store|recompute|reversible|auto (+ memory_budget), lora, trainable, keep_zeros (pruned weights stay 0)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var train = context.Settings.Train ?? throw new OnnxRevException("fine-tuning needs labelled training data (--data)");
        var o = step.Options;
        bool sgd = o.GetChoice("optimizer", "adamw", "adamw", "sgd") == "sgd";
        string memoryChoice = o.GetChoice("memory", "store", "store", "recompute", "reversible", "auto");
        var memory = memoryChoice switch
        {
            "recompute" => MemoryMode.Recompute,
            "reversible" => MemoryMode.Reversible,
            _ => MemoryMode.Store,
        };
        var options = new TrainingOptions(
            new LossOptions(LossKind.CrossEntropy),
            new OptimizerOptions(sgd ? OptimizerKind.Sgd : OptimizerKind.AdamW, WeightDecay: o.GetDouble("weight-decay", sgd ? 0 : 0.01, min: 0)),
            new TrainableSpec(o.Get("trainable") ?? "all"),
            LoraRank: o.GetInt("lora", 0, min: 0),
            Memory: memory,
            KeepZeros: o.GetChoice("keep_zeros", "false", "true", "false") == "true");
        var trainerOptions = new TrainerOptions
        {
            Epochs = o.GetInt("epochs", 1, min: 1),
            BatchSize = o.GetInt("batch", 64, min: 1),
            LearningRate = o.GetDouble("lr", 1e-4, min: 0),
            Schedule = o.GetChoice("schedule", "constant", "constant", "cosine") == "cosine" ? LrSchedule.Cosine : LrSchedule.Constant,
            Seed = context.Settings.Seed,
            Runner = context.Settings.Runner,
        };
        var model = ModelReader.Load(context.CurrentModel);
        if (memoryChoice == "auto")
        {
            // The planner's choice for the budget: the cheapest strategy (store, then recompute, then reversible) that fits.
            long? budget = o.Get("memory_budget") is { } text
                ? Passes.Autodiff.Memory.MemoryPlanner.ParseBytes(text) ?? throw new OnnxRevException($"option 'memory_budget' must be a byte count such as 256M, got '{text}'")
                : null;
            var plan = Passes.Autodiff.Memory.MemoryPlanner.Plan(model, trainerOptions.BatchSize, budget, options.Trainable, options.Optimizer.StateNames.Count, options.Untie);
            memory = plan.Choice;
            options = options with { Memory = memory };
            context.Settings.Log($"  memory auto: {Passes.Autodiff.Memory.MemoryPlanner.Name(memory)} ({plan.Reason})");
        }
        var artifacts = TrainingGraphBuilder.Build(model, options);
        MemoryStats.TryResetPeakRss();
        TrainResult result;
        Model trained;
        using (var trainer = new Trainer(artifacts, trainerOptions))
        {
            result = trainer.Fit(train);
            trained = trainer.Export(model);
        }
        long? peak = MemoryStats.PeakRssBytes();
        string output = context.NewModelPath(step.Name);
        ModelWriter.Save(trained, output);
        context.Settings.Log($"  {result.Steps} steps, {memory.ToString().ToLowerInvariant()} memory, final loss {result.FinalLoss:F4}");
        return new StepOutcome(output, new JsonObject
        {
            ["epochs"] = result.Epochs,
            ["steps"] = result.Steps,
            ["final_loss"] = result.FinalLoss,
            ["memory"] = memory.ToString().ToLowerInvariant(),
            ["training_peak_bytes"] = peak,
            ["seconds"] = result.Seconds,
        }, LossCurve: result.EpochLosses, TrainingPeakBytes: peak);
    }
}

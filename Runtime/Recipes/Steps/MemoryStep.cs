using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary>
/// <c>{"step": "memory", "batch": 256, "steps": 4}</c>: a few training steps of the current model with each activation-memory
/// strategy it supports (store, recompute, reversible), measuring ONNX Runtime's arena peak and the time per step. The
/// model is not changed.
/// </summary>
internal sealed class MemoryStep : IRecipeStep
{
    public string Kind => "memory";

    public string Help => "training-step peak memory (ORT arena) and step time per strategy store/recompute/reversible: batch (default 256), steps (default 4)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var train = context.Settings.Train ?? throw new OnnxRevException("the memory step trains, so it needs labelled training data (--data)");
        int batch = step.Options.GetInt("batch", 256, min: 1), steps = step.Options.GetInt("steps", 4, min: 1);
        if (train.Count < batch) batch = train.Count;
        var model = ModelReader.Load(context.CurrentModel);
        var points = new List<MemoryPoint>();
        foreach (var mode in new[] { MemoryMode.Store, MemoryMode.Recompute, MemoryMode.Reversible })
        {
            string name = mode.ToString().ToLowerInvariant();
            TrainingArtifacts artifacts;
            try
            {
                artifacts = TrainingGraphBuilder.Build(model, new TrainingOptions(new LossOptions(LossKind.CrossEntropy), new OptimizerOptions(), new TrainableSpec("all"), Memory: mode));
            }
            catch (OnnxRevException e)
            {
                context.Settings.Log($"  {name}: not applicable ({e.Message})");
                continue;
            }
            using var trainer = new Trainer(artifacts, new TrainerOptions
            {
                Epochs = 1 + steps * batch / Math.Max(1, train.Count),
                BatchSize = batch,
                LearningRate = 0,
                MaxSteps = steps,
                Seed = context.Settings.Seed,
                Runner = context.Settings.Runner,
            });
            var r = trainer.Fit(train);
            long? peak = trainer.StepArenaStats()?.MaxInUse;
            points.Add(new MemoryPoint(name, peak, r.Seconds / Math.Max(1, r.Steps)));
            context.Settings.Log(string.Create(CultureInfo.InvariantCulture, $"  {name}: arena peak {(peak ?? 0) / 1048576.0:F1} MiB, {points[^1].StepSeconds * 1000:F1} ms per step at batch {batch}"));
        }
        if (points.Count == 0) throw new OnnxRevException("no memory strategy could build a training step for this model");
        return new StepOutcome(null, new JsonObject
        {
            ["batch"] = batch,
            ["strategies"] = new JsonArray(points.Select(p => (JsonNode)new JsonObject
            {
                ["strategy"] = p.Strategy, ["arena_peak_bytes"] = p.ArenaPeakBytes, ["step_seconds"] = p.StepSeconds,
            }).ToArray()),
        }, Memory: points);
    }
}

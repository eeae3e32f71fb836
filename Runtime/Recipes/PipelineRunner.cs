using System.Diagnostics;
using System.Globalization;
using OnnxRev.Runtime.Benchmark;

namespace OnnxRev.Runtime.Recipes;

/// <summary>The outcome of a pipeline run.</summary>
/// <param name="Recipe">The recipe.</param>
/// <param name="Records">Measurements of the original (index 0) and after every step.</param>
/// <param name="Goals">Each goal against the final model.</param>
/// <param name="Original">The original model timed side by side with the final one.</param>
/// <param name="Final">The final model timed side by side with the original.</param>
/// <param name="Seconds">Wall time of the whole run.</param>
public sealed record PipelineResult(Recipe Recipe, IReadOnlyList<StepRecord> Records, IReadOnlyList<GoalResult> Goals, BenchResult Original, BenchResult Final, double Seconds)
{
    /// <summary>Every goal that applies is met.</summary>
    public bool GoalsMet => Goals.Where(g => g.Applies).All(g => g.Met);

    /// <summary>The last record (the final model).</summary>
    public StepRecord Last => Records[^1];
}

/// <summary>Runs a recipe: each step in order, the model measured after each (size, quality against the original, latency), then the goals.</summary>
public static class PipelineRunner
{
    /// <summary>Runs <paramref name="recipe"/> on <paramref name="context"/>.</summary>
    /// <exception cref="OnnxRevException">A step is unknown or its options are bad (checked before anything runs), or a step fails.</exception>
    public static PipelineResult Run(Recipe recipe, PipelineContext context)
    {
        var steps = recipe.Steps.Select(s => (Step: s, Kind: RecipeSteps.Find(s.Kind))).ToList();
        int package = recipe.Steps.ToList().FindIndex(s => s.Kind == "package");
        if (package >= 0 && package != recipe.Steps.Count - 1)
            throw new OnnxRevException($"recipe '{recipe.Name}': the package step must come last (the .ort file is the end product)");
        context.Recipe = recipe;
        var log = context.Settings.Log;
        var total = Stopwatch.StartNew();
        Directory.CreateDirectory(context.WorkDir);

        if (context.Settings.Eval is { } eval)
        {
            log($"evaluating on {eval.Description}");
            eval.SetReference(context.OriginalModel, context.Settings.Runner);
        }
        var (q0, l0) = context.Measure(context.OriginalModel, context.Settings.BenchIterations);
        context.Records.Add(new StepRecord(0, "original", "original", context.OriginalModel, context.OriginalModel, new FileInfo(context.OriginalModel).Length, q0, l0, 0,
            new StepOutcome(null, new())));
        log(Describe(context.Records[0]));

        for (int i = 0; i < steps.Count; i++)
        {
            var (step, kind) = steps[i];
            log($"step {i + 1}/{steps.Count}: {step.Name}");
            var watch = Stopwatch.StartNew();
            StepOutcome outcome;
            try
            {
                outcome = kind.Run(step, context);
            }
            catch (OnnxRevException e)
            {
                throw new OnnxRevException($"recipe '{recipe.Name}' step {i + 1} ({step.Name}): {e.Message}", e);
            }
            if (outcome.NewModel is not null) context.CurrentModel = outcome.NewModel;
            string stored = outcome.StoredPath ?? context.CurrentModel;
            var last = context.Records[^1];
            var (quality, latency) = outcome.NewModel is null && outcome.StoredPath is null
                ? (last.Quality, last.LatencyMs)
                : context.Measure(context.CurrentModel, context.Settings.BenchIterations);
            if (step.Reference && context.Settings.Eval is { } rebase)
            {
                // From here on, cosines compare against this step's model (e.g. the trained model, when the recipe trains from scratch).
                rebase.SetReference(context.CurrentModel, context.Settings.Runner);
                quality = rebase.Measure(context.CurrentModel, context.Settings.Runner);
                log("  (cosines below are against this model)");
            }
            var record = new StepRecord(i + 1, step.Name, step.Kind, context.CurrentModel, stored, FileBytes(stored), quality, latency, watch.Elapsed.TotalSeconds, outcome);
            context.Records.Add(record);
            log(Describe(record));
        }

        log("timing the original and the final model side by side");
        var inputs = context.Settings.BenchInputs(context.OriginalModel);
        var side = LatencyBenchmark.Run(new[]
        {
            new BenchTarget("original", context.OriginalModel, inputs, context.Settings.BenchBatch),
            new BenchTarget("final", context.CurrentModel, inputs, context.Settings.BenchBatch),
        }, new BenchOptions(10, Math.Max(context.Settings.BenchIterations, 50), context.Settings.Runner));
        var goals = recipe.Goals.Select(g => Judge(g, context.Records, side[0], side[1], context.Settings.Eval)).ToList();
        return new PipelineResult(recipe, context.Records, goals, side[0], side[1], total.Elapsed.TotalSeconds);
    }

    /// <summary>Size in bytes of a model file with its external-data files, or of any other artifact.</summary>
    public static long FileBytes(string path)
    {
        long bytes = new FileInfo(path).Length;
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && File.Exists(path + ".data")) bytes += new FileInfo(path + ".data").Length;
        return bytes;
    }

    private static GoalResult Judge(Goal goal, IReadOnlyList<StepRecord> records, BenchResult original, BenchResult final, EvalSet? eval)
    {
        var first = records[0];
        var last = records[^1];
        double? actual = goal.Key switch
        {
            "accuracy_drop" => last.Quality?.Accuracy is double a && first.Quality?.Accuracy is double a0 ? (a0 - a) * 100 : null,
            "min_accuracy" => last.Quality?.Accuracy * 100,
            "min_cosine" => last.Quality?.MinCosine,
            "bytes" => last.Bytes,
            "size_ratio" => (double)first.Bytes / last.Bytes,
            "p50_ms" => final.P50Ms,
            "speedup" => original.P50Ms / final.P50Ms,
            "training_peak_bytes" => records.Select(r => r.Outcome.TrainingPeakBytes).Where(p => p is not null).Max(),
            _ => null,
        };
        if (actual is not double v)
        {
            string why = goal.Key switch
            {
                "accuracy_drop" or "min_accuracy" => eval is null ? "no evaluation data given (--data/--validation)" : "the evaluation data has no labels",
                "min_cosine" => "no evaluation data given",
                "training_peak_bytes" => "no step trained",
                _ => "not measured",
            };
            return new GoalResult(goal, null, false, "does not apply: " + why);
        }
        bool met = goal.AtMost ? v <= goal.Target : v >= goal.Target;
        string note = met ? "met" : $"missed by {goal.Format(Math.Abs(v - goal.Target))}";
        return new GoalResult(goal, v, met, note);
    }

    /// <summary>One line on a record.</summary>
    public static string Describe(StepRecord r)
    {
        string q = r.Quality is null ? "" : r.Quality.Accuracy is double a
            ? string.Create(CultureInfo.InvariantCulture, $", accuracy {a:P2}, min cosine {r.Quality.MinCosine:F4}")
            : string.Create(CultureInfo.InvariantCulture, $", min cosine {r.Quality.MinCosine:F4} (mean {r.Quality.MeanCosine:F4})");
        return string.Create(CultureInfo.InvariantCulture, $"  {r.Name}: {r.Bytes:N0} bytes, p50 {r.LatencyMs:F3} ms{q} ({r.Seconds:F1} s)");
    }
}

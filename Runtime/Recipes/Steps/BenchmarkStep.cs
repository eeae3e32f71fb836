using System.Text.Json.Nodes;
using OnnxRev.Runtime.Benchmark;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary><c>{"step": "benchmark", "iterations": 200}</c>: the original and the current model timed side by side.</summary>
internal sealed class BenchmarkStep : IRecipeStep
{
    public string Kind => "benchmark";

    public string Help => "times the original and the current model in alternating runs: \"iterations\" (default 200)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        int iterations = step.Options.GetInt("iterations", 200, min: 1);
        var inputs = context.Settings.BenchInputs(context.OriginalModel);
        var r = LatencyBenchmark.Run(new[]
        {
            new BenchTarget("original", context.OriginalModel, inputs, context.Settings.BenchBatch),
            new BenchTarget("current", context.CurrentModel, inputs, context.Settings.BenchBatch),
        }, new BenchOptions(10, iterations, context.Settings.Runner));
        context.Settings.Log($"  original p50 {r[0].P50Ms:F3} ms, current p50 {r[1].P50Ms:F3} ms: {r[0].P50Ms / r[1].P50Ms:F2}× faster");
        return new StepOutcome(null, new JsonObject
        {
            ["original_p50_ms"] = r[0].P50Ms, ["original_p90_ms"] = r[0].P90Ms, ["original_p99_ms"] = r[0].P99Ms,
            ["p50_ms"] = r[1].P50Ms, ["p90_ms"] = r[1].P90Ms, ["p99_ms"] = r[1].P99Ms,
            ["throughput"] = r[1].Throughput, ["speedup_p50"] = r[0].P50Ms / r[1].P50Ms, ["iterations"] = iterations,
        });
    }
}

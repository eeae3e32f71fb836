using System.Text.Json.Nodes;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary><c>{"step": "evaluate"}</c>: a row in the report for the current model (every step is measured; this names a point).</summary>
internal sealed class EvaluateStep : IRecipeStep
{
    public string Kind => "evaluate";

    public string Help => "measures the current model (size, quality, latency) without changing it";

    public StepOutcome Run(RecipeStep step, PipelineContext context) => new(context.CurrentModel, new JsonObject());
}

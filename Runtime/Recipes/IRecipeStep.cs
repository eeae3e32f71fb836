namespace OnnxRev.Runtime.Recipes;

/// <summary>A kind of recipe step ("passes", "fine-tune", …): what it does to the current model.</summary>
public interface IRecipeStep
{
    /// <summary>The kind, as written in recipes.</summary>
    string Kind { get; }

    /// <summary>One line on what it does and its options, for --help.</summary>
    string Help { get; }

    /// <summary>Runs the step on <see cref="PipelineContext.CurrentModel"/>.</summary>
    StepOutcome Run(RecipeStep step, PipelineContext context);
}

/// <summary>The step kinds recipes can use, registered explicitly.</summary>
public static class RecipeSteps
{
    private static readonly List<IRecipeStep> Registered = new();
    private static readonly object Gate = new();

    /// <summary>Every registered kind.</summary>
    public static IReadOnlyList<IRecipeStep> All
    {
        get { EnsureStandard(); return Registered; }
    }

    /// <summary>Registers a step kind (kinds are unique).</summary>
    public static void Register(IRecipeStep step)
    {
        lock (Gate)
        {
            if (Registered.Any(s => s.Kind == step.Kind)) throw new InvalidOperationException($"recipe step '{step.Kind}' registered twice");
            Registered.Add(step);
        }
    }

    /// <summary>The step of kind <paramref name="kind"/>, or an error listing the kinds.</summary>
    public static IRecipeStep Find(string kind) =>
        All.FirstOrDefault(s => s.Kind == kind)
        ?? throw new OnnxRevException($"unknown recipe step '{kind}'; steps: {string.Join(", ", All.Select(s => s.Kind))}");

    private static bool _standard;

    private static void EnsureStandard()
    {
        lock (Gate)
        {
            if (_standard) return;
            _standard = true;
            foreach (var s in Steps.StandardSteps.Create()) if (!Registered.Any(r => r.Kind == s.Kind)) Registered.Add(s);
        }
    }
}

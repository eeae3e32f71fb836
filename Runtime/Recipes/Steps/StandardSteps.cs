namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary>The step kinds OnnxRev ships.</summary>
internal static class StandardSteps
{
    public static IEnumerable<IRecipeStep> Create() => new IRecipeStep[]
    {
        new PassesStep(), new FineTuneStep(), new SearchStep(), new PackageStep(), new EvaluateStep(), new BenchmarkStep(), new MemoryStep(), new QuantizeStep(),
        new CodebookFineTuneStep(), new CodeStep(),
    };
}

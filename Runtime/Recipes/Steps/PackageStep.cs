using System.Text.Json.Nodes;
using OnnxRev.Runtime.Packaging;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary><c>{"step": "package", "optimization": "extended"}</c>: the ORT-format file for mobile/minimal ONNX Runtime builds, and its operator list.</summary>
internal sealed class PackageStep : IRecipeStep
{
    public string Kind => "package";

    public string Help => "writes the ORT-format package (.ort) and required_operators.config: \"optimization\" basic|extended (default)|all";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var level = Enum.Parse<OptimizationLevel>(step.Options.GetChoice("optimization", "extended", "basic", "extended", "all"), ignoreCase: true);
        string ort = context.NewModelPath(step.Name, ".ort");
        var result = OrtFormatPackager.Package(context.CurrentModel, ort, new PackageOptions(level, DimValues: context.Settings.BenchDims));
        string config = Path.ChangeExtension(ort, ".required_operators.config");
        File.WriteAllText(config, result.Operators.ToConfig(Path.GetFileName(context.CurrentModel)));
        return new StepOutcome(ort, new JsonObject
        {
            ["ort_file"] = ort,
            ["ops_config"] = config,
            ["operators"] = result.Operators.Count,
            ["max_abs_error"] = result.Comparison?.MaxAbsError,
        }, StoredPath: ort);
    }
}

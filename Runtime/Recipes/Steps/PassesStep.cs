using System.Text.Json.Nodes;
using OnnxRev.Passes;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary><c>{"step": "passes", "passes": ["cleanup", "low-rank"], "energy": 0.99}</c>: graph passes with their options.</summary>
internal sealed class PassesStep : IRecipeStep
{
    public string Kind => "passes";

    public string Help => "graph passes in order: \"passes\": [names], plus any option those passes declare (as in onnxrev optimize)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var names = step.Options.GetList("passes");
        if (names.Count == 0) throw new OnnxRevException("\"passes\" names no pass");
        var passes = Create(names, step.Options, exclude: "passes");
        var model = ModelReader.Load(context.CurrentModel);
        var run = new PassManager(passes).Run(model);
        string output = context.NewModelPath(step.Name);
        ModelWriter.Save(run.Model, output);
        return new StepOutcome(output, new JsonObject
        {
            ["passes"] = new JsonArray(run.Records.Select(r => (JsonNode)new JsonObject { ["name"] = r.Name, ["modified"] = r.Modified, ["nodes"] = r.Nodes, ["bytes"] = r.Bytes }).ToArray()),
        });
    }

    /// <summary>Creates the named passes, giving each the options it declares; an option no named pass declares is an error.</summary>
    public static List<IPass> Create(IReadOnlyList<string> names, PassOptions options, params string[] exclude)
    {
        var infos = names.Select(PassRegistry.Find).ToList();
        if (PassRegistry.Unclaimed(infos, options.Values.Keys.Where(k => !exclude.Contains(k))) is { } unclaimed)
            throw new OnnxRevException($"option '{unclaimed}' belongs to none of the passes {string.Join(", ", names)}");
        return infos.Select(i => PassRegistry.Create(i, options)).ToList();
    }
}

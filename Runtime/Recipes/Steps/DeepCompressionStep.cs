using System.Text.Json.Nodes;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Compression;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary>
/// <c>{"step": "deep-compression", "sparsity": 0.92, "cluster_bits": 5}</c>: Han et al.'s flow on a classifier — prune,
/// fine-tune with the zeros kept, k-means weight sharing, fine-tune the codebooks, Huffman-code into a .onnxrev package
/// (<see cref="DeepCompression.Run"/>). The package is the stored artifact; the clustered model it unpacks to runs.
/// </summary>
internal sealed class DeepCompressionStep : IRecipeStep
{
    public string Kind => "deep-compression";

    public string Help => "prune → fine-tune → cluster → fine-tune codebooks → Huffman-coded .onnxrev package: sparsity (0.92), prune_scope global|layer, " +
                          "criterion magnitude|gradient, prune_rounds, prune_epochs (3), cluster_bits (5), cluster_init linear|kmeans++|density, codebook_epochs (2), lr (1e-3), batch (64)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var train = context.Settings.Train ?? throw new OnnxRevException("deep compression fine-tunes, so it needs labelled training data (--data)");
        if (context.Settings.Eval is not ClassificationEvalSet held) throw new OnnxRevException("deep compression reports held-out accuracy, so it needs labelled evaluation data");
        var o = step.Options;
        double lr = o.GetDouble("lr", 1e-3, min: 0);
        var tune = new FineTuneSettings
        {
            Epochs = o.GetInt("prune_epochs", 3, min: 0), BatchSize = o.GetInt("batch", 64, min: 1), LearningRate = lr,
            Seed = context.Settings.Seed, Runner = context.Settings.Runner,
        };
        var options = new DeepCompressionOptions
        {
            Sparsity = o.GetDouble("sparsity", 0.92, min: 0, max: 0.9999),
            Scope = o.GetChoice("prune_scope", "global", "global", "layer") == "layer" ? PruningScope.Layer : PruningScope.Global,
            Criterion = o.GetChoice("criterion", "magnitude", "magnitude", "gradient") == "gradient" ? PruningCriterion.Gradient : PruningCriterion.Magnitude,
            PruneRounds = o.GetInt("prune_rounds", 1, min: 1),
            PruneFineTune = tune,
            ClusterBits = o.GetInt("cluster_bits", 5, min: 1, max: 16),
            ClusterInit = o.GetChoice("cluster_init", "linear", "linear", "kmeans++", "density") switch
            {
                "kmeans++" => CentroidInit.KMeansPlusPlus,
                "density" => CentroidInit.Density,
                _ => CentroidInit.Linear,
            },
            CodebookFineTune = tune with { Epochs = o.GetInt("codebook_epochs", 2, min: 0), LearningRate = o.GetDouble("codebook_lr", lr / 10, min: 0), Seed = context.Settings.Seed + 1000 },
            Log = line => context.Settings.Log("  " + line),
        };
        var model = ModelReader.Load(context.CurrentModel);
        var result = DeepCompression.Run(model, PipelineRunner.FileBytes(context.CurrentModel), train, held.Data, options);
        string clustered = context.NewModelPath(step.Name);
        ModelWriter.Save(result.Clustered, clustered);
        string package = Path.ChangeExtension(clustered, ".onnxrev");
        File.WriteAllBytes(package, result.Package);
        return new StepOutcome(clustered, new JsonObject
        {
            ["package"] = package,
            ["ratio"] = result.Ratio,
            ["stages"] = new JsonArray(result.Steps.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Name, ["accuracy"] = s.Accuracy, ["bytes"] = s.Bytes, ["seconds"] = s.Seconds, ["detail"] = s.Detail,
            }).ToArray()),
        }, StoredPath: package);
    }
}

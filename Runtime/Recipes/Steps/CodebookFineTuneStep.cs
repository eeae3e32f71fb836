using System.Text.Json.Nodes;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Compression;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary>
/// <c>{"step": "fine-tune-codebooks", "epochs": 2, "lr": 1e-4, "batch": 64, "bits": 5}</c>: Deep Compression's centroid
/// fine-tuning of a clustered model (after the "cluster" pass): every weight with at most 2^bits − 1 distinct non-zero
/// values trains only its codebook (plus the unclustered parameters), zeros and indices stay
/// (<see cref="CompressionTraining.FineTuneCodebooks"/>).
/// </summary>
internal sealed class CodebookFineTuneStep : IRecipeStep
{
    public string Kind => "fine-tune-codebooks";

    public string Help => "trains the codebooks of shared (clustered) weights on --data: epochs, lr, batch, bits (the cluster pass's bits)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var train = context.Settings.Train ?? throw new OnnxRevException("codebook fine-tuning needs labelled training data (--data)");
        var o = step.Options;
        int bits = o.GetInt("bits", 5, 1, 16);
        var settings = new FineTuneSettings
        {
            Epochs = o.GetInt("epochs", 2, min: 0), LearningRate = o.GetDouble("lr", 1e-4, min: 0), BatchSize = o.GetInt("batch", 64, min: 1),
            Seed = context.Settings.Seed, Runner = context.Settings.Runner,
        };
        var model = ModelReader.Load(context.CurrentModel);
        int shared = Codebooks.ToCodebookForm(TrainingGraphBuilderClone(model), (1 << bits) - 1).Count;
        if (shared == 0) throw new OnnxRevException($"no weight of the model has at most {(1 << bits) - 1} distinct values; run the cluster pass first");
        var tuned = CompressionTraining.FineTuneCodebooks(model, train, settings, (1 << bits) - 1);
        string output = context.NewModelPath(step.Name);
        ModelWriter.Save(tuned, output);
        return new StepOutcome(output, new JsonObject { ["shared_weights"] = shared, ["epochs"] = settings.Epochs });
    }

    private static Ir.Model TrainingGraphBuilderClone(Ir.Model m) => Passes.Autodiff.TrainingGraphBuilder.Clone(m);
}

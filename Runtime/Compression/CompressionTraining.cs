using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;

namespace OnnxRev.Runtime.Compression;

/// <summary>How a compression step fine-tunes (cross-entropy, AdamW, cosine schedule).</summary>
public sealed record FineTuneSettings
{
    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Base learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>AdamW decoupled weight decay.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Seed of the batch order.</summary>
    public int Seed { get; init; }

    /// <summary>ONNX Runtime settings.</summary>
    public RunnerOptions Runner { get; init; } = new();
}

/// <summary>Fine-tuning for compressed classifiers: with pruned weights held at zero, or with shared weights' codebooks as the parameters.</summary>
public static class CompressionTraining
{
    /// <summary>
    /// Trains every parameter of <paramref name="model"/>; with <paramref name="keepZeros"/> its exact zeros stay exactly zero
    /// (<see cref="ZeroMasks"/>). Returns the trained model (same structure).
    /// </summary>
    public static Model FineTune(Model model, Dataset train, FineTuneSettings s, bool keepZeros)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Epochs == 0) return TrainingGraphBuilder.Clone(model);
        var artifacts = TrainingGraphBuilder.Build(model, new TrainingOptions(new LossOptions(LossKind.CrossEntropy),
            new OptimizerOptions(OptimizerKind.AdamW, WeightDecay: s.WeightDecay), TrainableSpec.All, KeepZeros: keepZeros));
        using var trainer = new Trainer(artifacts, Options(s));
        trainer.Fit(train);
        return trainer.Export(model);
    }

    /// <summary>
    /// Deep Compression's centroid fine-tuning: every clustered weight (at most <paramref name="maxCentroids"/> distinct
    /// non-zero values) becomes codebook + indices (<see cref="Codebooks"/>) and only the codebooks — plus the parameters
    /// that are not clustered, such as biases — train; each centroid moves by the summed gradient of the weights sharing
    /// it. Returns the dense model with the trained centroids written back (zeros stay zero, indices unchanged).
    /// </summary>
    public static Model FineTuneCodebooks(Model clustered, Dataset train, FineTuneSettings s, int maxCentroids)
    {
        ArgumentNullException.ThrowIfNull(s);
        var result = TrainingGraphBuilder.Clone(clustered);
        if (s.Epochs == 0) return result;
        var form = TrainingGraphBuilder.Clone(clustered);
        var weights = Codebooks.ToCodebookForm(form, maxCentroids);
        var fixedNames = weights.Select(w => w.Zero).ToHashSet(StringComparer.Ordinal);
        var trainable = TrainableSpec.Parameters(form).Where(v => !fixedNames.Contains(v.Name)).Select(v => v.Name).ToList();
        var artifacts = TrainingGraphBuilder.Build(form, new TrainingOptions(new LossOptions(LossKind.CrossEntropy),
            new OptimizerOptions(OptimizerKind.AdamW), new TrainableSpec("names:" + string.Join(",", trainable)), KeepZeros: true));
        using var trainer = new Trainer(artifacts, Options(s));
        trainer.Fit(train);
        var trained = trainer.Export(form);
        Codebooks.Densify(trained, result, weights);
        return result;
    }

    /// <summary>Accuracy and loss of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public static EvalResult Evaluate(Model model, Dataset data, RunnerOptions? runner = null)
    {
        using var r = new OrtRunner(Serialization.ModelWriter.ToBytes(model), runner ?? new RunnerOptions(), model.Graph.Name);
        return Evaluation.Classify(r, data);
    }

    private static TrainerOptions Options(FineTuneSettings s) => new()
    {
        Epochs = s.Epochs, BatchSize = s.BatchSize, LearningRate = s.LearningRate, Schedule = LrSchedule.Cosine, Seed = s.Seed, Runner = s.Runner,
    };
}

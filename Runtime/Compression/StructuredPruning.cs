using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Data;

namespace OnnxRev.Runtime.Compression;

/// <summary>What <see cref="StructuredPruning.Run"/> measured.</summary>
/// <param name="Pruned">The pruned, fine-tuned model.</param>
/// <param name="Layers">Layer → (channels before, after).</param>
/// <param name="MacsBefore">Multiply-accumulates per sample before.</param>
/// <param name="MacsAfter">… and after.</param>
/// <param name="AccuracyBefore">Held-out accuracy of the original.</param>
/// <param name="AccuracyPruned">… right after pruning.</param>
/// <param name="AccuracyAfter">… after fine-tuning.</param>
public sealed record StructuredPruningResult(Model Pruned, IReadOnlyDictionary<string, (long Before, long After)> Layers, long MacsBefore, long MacsAfter,
    double AccuracyBefore, double AccuracyPruned, double AccuracyAfter)
{
    /// <summary>MacsBefore / MacsAfter.</summary>
    public double FlopRatio => (double)MacsBefore / Math.Max(1, MacsAfter);
}

/// <summary>Channel/neuron pruning (<see cref="ChannelPruning"/>) of a classifier followed by fine-tuning, with FLOPs and accuracy.</summary>
public static class StructuredPruning
{
    /// <summary>Prunes <paramref name="ratio"/> of every prunable layer's channels by <paramref name="norm"/>, fine-tunes, measures.</summary>
    public static StructuredPruningResult Run(Model model, Dataset train, Dataset heldOut, double ratio, ChannelNorm norm, FineTuneSettings tune)
    {
        var pruned = TrainingGraphBuilder.Clone(model);
        var pass = new ChannelPruning(ratio, norm);
        if (!pass.Run(pruned).Modified) throw new OnnxRevException("no layer of the model could be pruned by channels (every layer feeds a residual, a reshape or an output)");
        double before = CompressionTraining.Evaluate(model, heldOut, tune.Runner).Accuracy;
        double right = CompressionTraining.Evaluate(pruned, heldOut, tune.Runner).Accuracy;
        var tuned = CompressionTraining.FineTune(pruned, train, tune, keepZeros: false);
        double after = CompressionTraining.Evaluate(tuned, heldOut, tune.Runner).Accuracy;
        return new StructuredPruningResult(tuned, pass.Pruned, FlopCount.Macs(model).Total, FlopCount.Macs(tuned).Total, before, right, after);
    }
}

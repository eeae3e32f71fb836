using Microsoft.ML.OnnxRuntime;
using OnnxRev.Runtime.Data;

namespace OnnxRev.Runtime.Training;

/// <summary>Classifier evaluation of an inference model over a dataset.</summary>
public static class Evaluation
{
    /// <summary>Accuracy and mean cross-entropy of the runner's first output (logits) against the labels.</summary>
    public static EvalResult Classify(OrtRunner runner, Dataset data, int batchSize = 256)
    {
        if (runner.Inputs.Count != 1) throw new OnnxRevException($"'{runner.ModelName}' has {runner.Inputs.Count} inputs; evaluation feeds exactly one");
        return Classify(runner, runner.Inputs[0], data, batchSize, new Dictionary<string, OrtValue>());
    }

    /// <summary>
    /// The same, feeding batches to <paramref name="input"/> and the fixed <paramref name="fixedInputs"/>
    /// (e.g. a trainer's resident parameters) to every run.
    /// </summary>
    internal static EvalResult Classify(OrtRunner runner, IoInfo input, Dataset data, int batchSize, IReadOnlyDictionary<string, OrtValue> fixedInputs)
    {
        data = data.ReshapeFor(input.Shape, input.Name);
        var metrics = new ClassifierMetrics();
        var it = new BatchIterator(data, batchSize, 0, shuffle: false);
        var names = fixedInputs.Keys.Prepend(input.Name).ToArray();
        using var runOptions = new RunOptions();
        while (it.TryNext(out var b))
        {
            var shape = new long[] { b.Count }.Concat(data.SampleShape.Select(d => (long)d)).ToArray();
            var features = b.Count == batchSize ? b.Features : b.Features.AsSpan(0, b.Count * data.FeatureCount).ToArray();
            using var x = OrtValue.CreateTensorValueFromMemory(features, shape);
            IDisposableReadOnlyCollection<OrtValue> results;
            try { results = runner.Session.Run(runOptions, names, fixedInputs.Values.Prepend(x).ToArray(), new[] { runner.Outputs[0].Name }); }
            catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed(runner.ModelName, e); }
            using (results) metrics.Add(results[0].GetTensorDataAsSpan<float>(), b.Labels, b.Count);
        }
        return metrics.Result;
    }
}

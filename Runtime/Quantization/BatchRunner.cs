using Microsoft.ML.OnnxRuntime;
using OnnxRev.Runtime.Data;

namespace OnnxRev.Runtime.Quantization;

/// <summary>
/// Feeds a dataset through a single-input model in batches and hands each batch's requested float outputs to a
/// callback. A model whose input has a fixed batch dimension (e.g. [1,3,224,224]) gets batches of exactly that size.
/// </summary>
internal static class BatchRunner
{
    /// <summary>Runs <paramref name="runner"/> over <paramref name="data"/>; <paramref name="onBatch"/> gets (output index, values, sample count).</summary>
    public static void Run(OrtRunner runner, Dataset data, int batchSize, IReadOnlyList<string> outputs, Action<int, ReadOnlySpan<float>, int> onBatch)
    {
        if (runner.Inputs.Count != 1) throw new OnnxRevException($"'{runner.ModelName}' has {runner.Inputs.Count} inputs; calibration and evaluation feed exactly one");
        var input = runner.Inputs[0];
        data = data.ReshapeFor(input.Shape, input.Name);
        long? fixedBatch = input.Shape.Length > 0 && input.Shape[0] is > 0 ? input.Shape[0] : null;
        if (fixedBatch is long fb) batchSize = (int)fb;
        var it = new BatchIterator(data, batchSize, 0, shuffle: false, dropLast: fixedBatch is not null);
        var names = new[] { input.Name };
        var wanted = outputs.ToArray();
        using var runOptions = new RunOptions();
        while (it.TryNext(out var b))
        {
            var shape = new long[] { b.Count }.Concat(data.SampleShape.Select(d => (long)d)).ToArray();
            var features = b.Count == batchSize ? b.Features : b.Features.AsSpan(0, b.Count * data.FeatureCount).ToArray();
            using var x = OrtValue.CreateTensorValueFromMemory(features, shape);
            IDisposableReadOnlyCollection<OrtValue> results;
            try { results = runner.Session.Run(runOptions, names, new[] { x }, wanted); }
            catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed(runner.ModelName, e); }
            using (results)
                for (int k = 0; k < wanted.Length; k++) onBatch(k, results[k].GetTensorDataAsSpan<float>(), b.Count);
        }
    }

    /// <summary>The first output over the whole dataset, concatenated.</summary>
    public static float[] FirstOutput(byte[] model, Dataset data, int batchSize = 64, int? threads = null)
    {
        using var runner = new OrtRunner(model, new RunnerOptions { IntraOpThreads = threads }, "model under evaluation");
        var all = new List<float>();
        Run(runner, data, batchSize, new[] { runner.Outputs[0].Name }, (_, v, _) => all.AddRange(v.ToArray()));
        return all.ToArray();
    }
}

using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Runtime;

/// <summary>
/// Inference models run one after another on one sample at a time: each stage's first output is the
/// next stage's single input, handed over inside ONNX Runtime without a host copy. For models fixed at
/// batch 1 (e.g. CNTK's ResNet18 and its preprocessing model) used as a frozen feature extractor.
/// Owns its runners; not thread-safe.
/// </summary>
public sealed class ModelChain : IDisposable
{
    private readonly IReadOnlyList<OrtRunner> _stages;
    private readonly long[] _inputShape;
    private readonly RunOptions _runOptions = new();

    /// <summary>Chains <paramref name="stages"/> (at least one; disposed with the chain, or at once when they do not fit); each must have one float input of static shape.</summary>
    /// <exception cref="OnnxRevException">A stage has several inputs, a non-float or dynamic input.</exception>
    public ModelChain(IReadOnlyList<OrtRunner> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        try { Check(stages); }
        catch { foreach (var s in stages) s.Dispose(); throw; }
        _stages = stages;
        _inputShape = stages[0].Inputs[0].Shape.Select(d => d!.Value).ToArray();
        InputLength = (int)_inputShape.Aggregate(1L, (a, b) => a * b);
    }

    private static void Check(IReadOnlyList<OrtRunner> stages)
    {
        if (stages.Count == 0) throw new OnnxRevException("a model chain needs at least one model");
        foreach (var s in stages)
        {
            if (s.Inputs.Count != 1) throw new OnnxRevException($"'{s.ModelName}' has {s.Inputs.Count} inputs; a chain stage takes exactly one");
            if (s.Inputs[0].ElementType != (int)Schema.TensorProto.Types.DataType.Float)
                throw new OnnxRevException($"input '{s.Inputs[0].Name}' of '{s.ModelName}' is not float32");
        }
        var first = stages[0].Inputs[0];
        if (first.Shape.Any(d => d is not > 0))
            throw new OnnxRevException($"input '{first.Name}' of '{stages[0].ModelName}' has shape {first.TypeString}; a chain needs a static input shape");
    }

    /// <summary>Values one input holds (the product of the first stage's input shape).</summary>
    public int InputLength { get; }

    /// <summary>
    /// Runs the chain on one input of <see cref="InputLength"/> values and returns the last stage's first
    /// output, flattened.
    /// </summary>
    public float[] Run(float[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Length != InputLength) throw new ArgumentException($"the chain takes {InputLength} values, not {input.Length}", nameof(input));
        OrtValue current = OrtValue.CreateTensorValueFromMemory(input, _inputShape);
        IDisposableReadOnlyCollection<OrtValue>? previous = null;
        try
        {
            foreach (var stage in _stages)
            {
                IDisposableReadOnlyCollection<OrtValue> results;
                try { results = stage.Session.Run(_runOptions, new[] { stage.Inputs[0].Name }, new[] { current }, new[] { stage.Outputs[0].Name }); }
                catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed(stage.ModelName, e); }
                if (previous is null) current.Dispose(); else previous.Dispose();
                previous = results;
                current = results[0];
            }
            return current.GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            if (previous is null) current.Dispose(); else previous.Dispose();
        }
    }

    /// <summary>
    /// Runs the chain on <paramref name="count"/> samples, <paramref name="fill"/> writing sample i's input, and
    /// returns the outputs row after row ([count, output length]); <paramref name="progress"/> hears after each sample.
    /// </summary>
    public float[] Map(int count, Action<int, float[]> fill, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(fill);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var input = new float[InputLength];
        float[]? all = null;
        int width = 0;
        for (int i = 0; i < count; i++)
        {
            fill(i, input);
            var row = Run(input);
            if (all is null) { width = row.Length; all = new float[(long)count * width]; }
            else if (row.Length != width) throw new OnnxRevException($"'{_stages[^1].ModelName}' gave {row.Length} values for sample {i}, {width} before");
            row.CopyTo(all, (long)i * width);
            progress?.Invoke(i + 1);
        }
        return all ?? Array.Empty<float>();
    }

    /// <summary>Frees every stage's session.</summary>
    public void Dispose()
    {
        _runOptions.Dispose();
        foreach (var s in _stages) s.Dispose();
    }
}

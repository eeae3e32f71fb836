using Google.Protobuf;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Text;
using OnnxRev.Schema;

namespace OnnxRev.Runtime.Recipes;

/// <summary>How good a model is on the evaluation data: accuracy (labelled data) and the cosine of its outputs against the original model's.</summary>
/// <param name="Accuracy">Share of correct argmax predictions (null without labels).</param>
/// <param name="MinCosine">Smallest cosine between this model's and the original's output rows (per sample, or per real token for text).</param>
/// <param name="MeanCosine">Mean of those cosines.</param>
/// <param name="Samples">Samples evaluated.</param>
public sealed record Quality(double? Accuracy, double MinCosine, double MeanCosine, int Samples);

/// <summary>
/// The data a pipeline judges models on: a labelled classification set, or sentences for a text encoder. The original
/// model's outputs are computed once; every candidate is compared against them.
/// </summary>
public abstract class EvalSet
{
    private List<float[]>? _reference;

    /// <summary>Whether accuracy can be measured.</summary>
    public abstract bool Labelled { get; }

    /// <summary>What the data is, for reports.</summary>
    public abstract string Description { get; }

    /// <summary>The input batches (model input name → value), with their labels when labelled.</summary>
    protected abstract IEnumerable<(Dictionary<string, DataValue> Inputs, long[]? Labels, long[]? TokenMask)> Batches(OrtRunner runner);

    /// <summary>Runs the original model once to keep its outputs as the reference.</summary>
    public void SetReference(string originalModel, RunnerOptions options)
    {
        using var runner = new OrtRunner(originalModel, options);
        _reference = Batches(runner).Select(b => FirstOutput(runner, b.Inputs)).ToList();
    }

    /// <summary>Accuracy and cosine of <paramref name="modelPath"/>.</summary>
    public Quality Measure(string modelPath, RunnerOptions options)
    {
        if (_reference is null) throw new InvalidOperationException("SetReference first");
        using var runner = new OrtRunner(modelPath, options);
        long correct = 0, total = 0;
        double minCos = double.PositiveInfinity, sumCos = 0;
        long rows = 0;
        int k = 0;
        foreach (var (inputs, labels, mask) in Batches(runner))
        {
            var output = FirstOutput(runner, inputs);
            var reference = _reference[k++];
            if (output.Length != reference.Length) throw new OnnxRevException($"'{runner.ModelName}' gives {output.Length} output values where the original gave {reference.Length}");
            int batch = (int)inputs.Values.First().AsTensor().Dims[0];
            if (labels is not null)
            {
                int classes = output.Length / batch;
                for (int i = 0; i < batch; i++)
                {
                    int best = 0;
                    for (int c = 1; c < classes; c++) if (output[i * classes + c] > output[i * classes + best]) best = c;
                    if (best == labels[i]) correct++;
                }
                total += batch;
            }
            int units = mask?.Length ?? batch;
            int width = output.Length / units;
            for (int u = 0; u < units; u++)
            {
                if (mask is not null && mask[u] == 0) continue;
                double c = VectorMath.Cosine(reference.AsSpan(u * width, width), output.AsSpan(u * width, width));
                minCos = Math.Min(minCos, c);
                sumCos += c;
                rows++;
            }
        }
        return new Quality(Labelled ? (double)correct / total : null, rows == 0 ? 1 : minCos, rows == 0 ? 1 : sumCos / rows, (int)(Labelled ? total : rows));
    }

    private static float[] FirstOutput(OrtRunner runner, Dictionary<string, DataValue> inputs)
    {
        var outputs = runner.Run(inputs, new[] { runner.Outputs[0].Name });
        return TensorProtoData.Floats(outputs[runner.Outputs[0].Name].AsTensor());
    }

}

/// <summary>A labelled classification set fed to the model's single input.</summary>
public sealed class ClassificationEvalSet(Dataset data, int batchSize = 256) : EvalSet
{
    /// <summary>The samples.</summary>
    public Dataset Data { get; } = data;

    /// <inheritdoc/>
    public override bool Labelled => true;

    /// <inheritdoc/>
    public override string Description => $"{Data.Count} labelled samples of {Path.GetFileName(Data.Source.TrimEnd('/'))}";

    /// <inheritdoc/>
    protected override IEnumerable<(Dictionary<string, DataValue>, long[]?, long[]?)> Batches(OrtRunner runner)
    {
        if (runner.Inputs.Count != 1) throw new OnnxRevException($"'{runner.ModelName}' has {runner.Inputs.Count} inputs; a labelled dataset feeds exactly one");
        var input = runner.Inputs[0];
        var data = Data.ReshapeFor(input.Shape, input.Name);
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, data.Count - start);
            var dims = new long[] { n }.Concat(data.SampleShape.Select(d => (long)d)).ToArray();
            var x = DataValue.Floats(input.Name, dims, data.Features.AsSpan(start * data.FeatureCount, n * data.FeatureCount));
            yield return (new Dictionary<string, DataValue> { [input.Name] = x }, data.Labels[start..(start + n)], null);
        }
    }
}

/// <summary>Sentences for a BERT-style text encoder, compared per real token.</summary>
public sealed class TextEvalSet(WordPieceTokenizer tokenizer, IReadOnlyList<string> sentences, string source, int batchSize = 16, int maxLength = 128) : EvalSet
{
    /// <inheritdoc/>
    public override bool Labelled => false;

    /// <inheritdoc/>
    public override string Description => $"{sentences.Count} sentences of {Path.GetFileName(source)}";

    /// <inheritdoc/>
    protected override IEnumerable<(Dictionary<string, DataValue>, long[]?, long[]?)> Batches(OrtRunner runner)
    {
        for (int start = 0; start < sentences.Count; start += batchSize)
        {
            var batch = TextBatch.Encode(tokenizer, sentences.Skip(start).Take(batchSize).ToList(), maxLength);
            yield return (batch.Inputs(runner.Inputs.Select(i => i.Name)), null, batch.Mask);
        }
    }
}

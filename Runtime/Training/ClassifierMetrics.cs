namespace OnnxRev.Runtime.Training;

/// <summary>Accumulates accuracy and mean softmax cross-entropy from rows of logits (computed in double).</summary>
public sealed class ClassifierMetrics
{
    private long _correct;
    private double _loss;
    private int _n;

    /// <summary>Adds <paramref name="count"/> rows of logits with their labels.</summary>
    public void Add(ReadOnlySpan<float> logits, ReadOnlySpan<long> labels, int count)
    {
        int classes = logits.Length / count;
        for (int r = 0; r < count; r++)
        {
            var row = logits.Slice(r * classes, classes);
            int best = 0;
            double max = row[0];
            for (int c = 1; c < classes; c++) if (row[c] > max) { max = row[c]; best = c; }
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(row[c] - max);
            long label = labels[r];
            if (best == label) _correct++;
            if (label < 0 || label >= classes)
                throw new OnnxRevException($"label {label} is outside the model's {classes} classes");
            _loss += Math.Log(sum) + max - row[(int)label];
        }
        _n += count;
    }

    /// <summary>The totals so far.</summary>
    public EvalResult Result => new(_n == 0 ? 0 : (double)_correct / _n, _n == 0 ? 0 : _loss / _n, _n);
}

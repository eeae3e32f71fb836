namespace OnnxRev.Runtime.Data;

/// <summary>
/// A labelled classification dataset held in memory: float32 features as one contiguous row-major
/// array of <see cref="Count"/> × <see cref="FeatureCount"/> values, one int64 label per sample, the shape
/// of one sample (e.g. [28,28] or [64]) and the number of classes. Treat instances as immutable:
/// operations that select samples return copies; <see cref="ReshapeFor"/> shares the arrays.
/// </summary>
public sealed class Dataset
{
    private readonly int[] _sampleShape;

    /// <summary>
    /// Wraps the arrays given (not copied). Labels must lie in [0, <paramref name="classCount"/>) and the
    /// feature array must hold exactly labels.Length × product(<paramref name="sampleShape"/>) values.
    /// </summary>
    /// <param name="features">Row-major features, one row of product(sampleShape) values per sample.</param>
    /// <param name="labels">One class index per sample.</param>
    /// <param name="sampleShape">The shape of one sample, without the batch dimension.</param>
    /// <param name="classCount">The number of classes (labels are 0 … classCount−1).</param>
    /// <param name="source">Where the data came from, for messages (a file or folder path).</param>
    public Dataset(float[] features, long[] labels, IReadOnlyList<int> sampleShape, int classCount, string source)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(source);
        if (sampleShape.Any(d => d <= 0))
            throw new ArgumentException($"Sample dimensions must be positive, got [{string.Join(",", sampleShape)}].", nameof(sampleShape));
        if (classCount <= 0) throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "A dataset needs at least one class.");
        long featureCount = 1;
        foreach (int d in sampleShape) featureCount = checked(featureCount * d);
        if (featureCount > int.MaxValue) throw new ArgumentException("A sample has too many features.", nameof(sampleShape));
        if ((long)labels.Length * featureCount != features.Length)
            throw new ArgumentException(
                $"{labels.Length} samples of shape [{string.Join(",", sampleShape)}] need {labels.Length * featureCount} features, got {features.Length}.",
                nameof(features));
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] < 0 || labels[i] >= classCount)
                throw new ArgumentException($"Label {labels[i]} of sample {i} is outside [0, {classCount}).", nameof(labels));
        Features = features;
        Labels = labels;
        _sampleShape = sampleShape.ToArray();
        FeatureCount = (int)featureCount;
        ClassCount = classCount;
        Source = source;
    }

    /// <summary>All features, row-major: sample i occupies [i·FeatureCount, (i+1)·FeatureCount).</summary>
    public float[] Features { get; }

    /// <summary>The class index of each sample.</summary>
    public long[] Labels { get; }

    /// <summary>The number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>The number of float values per sample (the product of <see cref="SampleShape"/>).</summary>
    public int FeatureCount { get; }

    /// <summary>The shape of one sample, without the batch dimension (e.g. [28,28], [1,28,28] or [64]).</summary>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <summary>The number of classes; every label is in [0, ClassCount).</summary>
    public int ClassCount { get; }

    /// <summary>The file or folder the data was read from (or a description of how it was derived).</summary>
    public string Source { get; }

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Sample(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Features.AsSpan(index * FeatureCount, FeatureCount);
    }

    /// <summary>How many samples each class has (index = class).</summary>
    public int[] LabelCounts()
    {
        var counts = new int[ClassCount];
        foreach (long label in Labels) counts[label]++;
        return counts;
    }

    /// <summary>A copy holding the samples at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    public Dataset Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var features = new float[(long)indices.Count * FeatureCount];
        var labels = new long[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            int source = indices[i];
            if (source < 0 || source >= Count)
                throw new ArgumentOutOfRangeException(nameof(indices), source, $"Sample index outside [0, {Count}).");
            Array.Copy(Features, (long)source * FeatureCount, features, (long)i * FeatureCount, FeatureCount);
            labels[i] = Labels[source];
        }
        return new Dataset(features, labels, _sampleShape, ClassCount, Source);
    }

    /// <summary>A copy of the first <paramref name="count"/> samples (all of them when there are fewer).</summary>
    public Dataset Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        count = Math.Min(count, Count);
        return new Dataset(Features[..(count * FeatureCount)], Labels[..count], _sampleShape, ClassCount, Source);
    }

    /// <summary>
    /// Splits the samples at random into a training part and a validation part holding
    /// round(<paramref name="validationFraction"/> · Count) samples (at least one of each). The split depends
    /// only on <paramref name="seed"/> and the data's order. Both parts keep the original relative order.
    /// </summary>
    /// <param name="validationFraction">The share of samples for validation, strictly between 0 and 1.</param>
    /// <param name="seed">Seeds the random choice.</param>
    /// <exception cref="OnnxRevException">The fraction is out of range or would leave a part empty.</exception>
    public (Dataset Train, Dataset Validation) Split(double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new OnnxRevException($"Validation fraction {validationFraction} must be strictly between 0 and 1.");
        int validationCount = (int)Math.Round(validationFraction * Count, MidpointRounding.AwayFromZero);
        if (validationCount < 1 || validationCount >= Count)
            throw new OnnxRevException(
                $"A validation fraction of {validationFraction} leaves no training or no validation samples out of {Count} in '{Source}'.");
        var order = new int[Count];
        new SeededRandom(seed, 0x5B117).Permutation(order);
        var validation = order[..validationCount];
        var train = order[validationCount..];
        Array.Sort(validation);
        Array.Sort(train);
        return (Subset(train), Subset(validation));
    }

    /// <summary>
    /// The same data with each sample viewed as the model input shape <paramref name="inputShape"/> minus its
    /// first (batch) dimension; e.g. [n,1,28,28] gives samples of [1,28,28]. One unknown (null or
    /// non-positive) dimension besides the batch is inferred. The feature array is shared, not copied.
    /// </summary>
    /// <param name="inputShape">The model input's shape, batch dimension first.</param>
    /// <param name="inputName">The input's name, for the error message.</param>
    /// <exception cref="OnnxRevException">The sample size does not fit the input's shape.</exception>
    public Dataset ReshapeFor(IReadOnlyList<long?> inputShape, string inputName)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        string shapeText = "[" + string.Join(",", inputShape.Select(d => d?.ToString() ?? "?")) + "]";
        if (inputShape.Count < 2)
            throw new OnnxRevException($"Model input '{inputName}' has shape {shapeText}, which has no room for a batch dimension and a sample.");
        var dims = inputShape.Skip(1).Select(d => d is > 0 ? d.Value : -1L).ToArray();
        int unknown = dims.Count(d => d < 0);
        long known = dims.Where(d => d > 0).Aggregate(1L, (a, b) => a * b);
        string mismatch = $"Samples in '{Source}' have {FeatureCount} features ([{string.Join(",", _sampleShape)}]), which do not fit model input '{inputName}' of shape {shapeText}.";
        if (unknown > 1) throw new OnnxRevException(mismatch + " More than one sample dimension is unknown.");
        if (unknown == 1)
        {
            if (FeatureCount % known != 0) throw new OnnxRevException(mismatch);
            dims[Array.IndexOf(dims, -1L)] = FeatureCount / known;
        }
        else if (known != FeatureCount) throw new OnnxRevException(mismatch);
        return new Dataset(Features, Labels, dims.Select(d => (int)d).ToArray(), ClassCount, Source);
    }
}

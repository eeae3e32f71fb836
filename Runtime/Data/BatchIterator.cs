namespace OnnxRev.Runtime.Data;

/// <summary>Where a <see cref="BatchIterator"/> stands: the epoch and the index of the next batch within it.</summary>
/// <param name="Epoch">The epoch, from 0.</param>
/// <param name="Batch">The next batch's index within the epoch, from 0.</param>
public readonly record struct BatchPosition(int Epoch, int Batch);

/// <summary>
/// One batch. <see cref="Features"/> and <see cref="Labels"/> are the iterator's own buffers, sized for a
/// full batch and overwritten by the next call: only the first <see cref="Count"/> samples
/// (Count × FeatureCount floats, Count labels) are valid.
/// </summary>
/// <param name="Features">Row-major features of the batch's samples.</param>
/// <param name="Labels">The batch's labels.</param>
/// <param name="Count">How many samples the batch holds (the batch size, or fewer for a kept last batch).</param>
/// <param name="Epoch">The epoch the batch belongs to.</param>
/// <param name="Index">The batch's index within its epoch.</param>
public readonly record struct Batch(float[] Features, long[] Labels, int Count, int Epoch, int Index);

/// <summary>
/// Cuts a <see cref="Dataset"/> into fixed-size batches, epoch after epoch, copying samples into two
/// buffers allocated once. With shuffling, epoch e visits the samples in a random order that depends only
/// on (seed, e), so an iterator started at <see cref="BatchPosition"/> (e, b) yields exactly the batches an
/// iterator that ran from the start would yield from there: save <see cref="Position"/> in a checkpoint and
/// pass it back to resume. Every sample appears once per epoch (the last partial batch may be dropped).
/// </summary>
public sealed class BatchIterator
{
    private readonly Dataset _data;
    private readonly int[] _order;
    private readonly bool _shuffle;
    private readonly int _seed;
    private int _orderEpoch = -1;

    /// <summary>Creates an iterator positioned at <paramref name="start"/> (default: epoch 0, batch 0).</summary>
    /// <param name="data">The samples.</param>
    /// <param name="batchSize">Samples per batch, at least 1.</param>
    /// <param name="seed">Seeds the per-epoch shuffles.</param>
    /// <param name="shuffle">False visits the samples in dataset order every epoch.</param>
    /// <param name="dropLast">True skips a last batch smaller than <paramref name="batchSize"/>; false keeps it.</param>
    /// <param name="start">Where to resume; the batch index must be within the epoch.</param>
    /// <exception cref="OnnxRevException">The batch size is not positive, or no full batch fits when dropping the last one.</exception>
    public BatchIterator(Dataset data, int batchSize, int seed, bool shuffle = true, bool dropLast = false, BatchPosition start = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0) throw new OnnxRevException($"The batch size must be at least 1 (got {batchSize}).");
        _data = data;
        _shuffle = shuffle;
        _seed = seed;
        BatchSize = batchSize;
        DropLast = dropLast;
        BatchesPerEpoch = dropLast ? data.Count / batchSize : (data.Count + batchSize - 1) / batchSize;
        if (BatchesPerEpoch == 0)
            throw new OnnxRevException(
                $"'{data.Source}' has {data.Count} samples, fewer than one batch of {batchSize}; use a smaller batch or keep the last partial batch.");
        _order = new int[data.Count];
        Features = new float[(long)batchSize * data.FeatureCount];
        Labels = new long[batchSize];
        Seek(start);
    }

    /// <summary>Samples per full batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether a last batch smaller than <see cref="BatchSize"/> is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Batches in each epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>The epoch and batch index the next call to <see cref="TryNext"/> yields.</summary>
    public BatchPosition Position { get; private set; }

    /// <summary>The feature buffer every batch is written to (BatchSize × FeatureCount floats).</summary>
    public float[] Features { get; }

    /// <summary>The label buffer every batch is written to (BatchSize labels).</summary>
    public long[] Labels { get; }

    /// <summary>Moves to <paramref name="position"/>; the next batch yielded is that one.</summary>
    /// <exception cref="OnnxRevException">The epoch is negative or the batch index is not within an epoch.</exception>
    public void Seek(BatchPosition position)
    {
        if (position.Epoch < 0 || position.Batch < 0 || position.Batch > BatchesPerEpoch)
            throw new OnnxRevException(
                $"Cannot resume at epoch {position.Epoch}, batch {position.Batch}: an epoch of '{_data.Source}' has {BatchesPerEpoch} batches of {BatchSize}.");
        // A position just past an epoch's last batch is the start of the next epoch.
        Position = position.Batch == BatchesPerEpoch ? new BatchPosition(position.Epoch + 1, 0) : position;
    }

    /// <summary>
    /// Yields the next batch of the current epoch into the shared buffers and advances. At the end of the
    /// epoch it returns false once, yielding nothing, and moves to batch 0 of the next epoch, so
    /// <c>while (it.TryNext(out var b)) …</c> runs exactly one epoch.
    /// </summary>
    public bool TryNext(out Batch batch)
    {
        var (epoch, index) = Position;
        if (index >= BatchesPerEpoch)
        {
            Position = new BatchPosition(epoch + 1, 0);
            batch = default;
            return false;
        }
        var order = OrderOf(epoch);
        int first = index * BatchSize;
        int count = Math.Min(BatchSize, _data.Count - first);
        int width = _data.FeatureCount;
        for (int i = 0; i < count; i++)
        {
            int sample = order[first + i];
            Array.Copy(_data.Features, (long)sample * width, Features, (long)i * width, width);
            Labels[i] = _data.Labels[sample];
        }
        batch = new Batch(Features, Labels, count, epoch, index);
        Position = new BatchPosition(epoch, index + 1);
        return true;
    }

    /// <summary>The rest of the current epoch's batches (each valid until the next is produced).</summary>
    public IEnumerable<Batch> RestOfEpoch()
    {
        while (TryNext(out var batch)) yield return batch;
    }

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the samples (a copy).</summary>
    public int[] EpochOrder(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return (int[])OrderOf(epoch).Clone();
    }

    private int[] OrderOf(int epoch)
    {
        if (_orderEpoch == epoch) return _order;
        if (_shuffle) new SeededRandom(_seed, epoch).Permutation(_order);
        else for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _orderEpoch = epoch;
        return _order;
    }
}

using OnnxRev.Runtime.Data;

namespace OnnxRev.Tests.Runtime.Data;

public class BatchIteratorTests
{
    /// <summary>The sample ids (first feature) of every batch of one epoch, copied out of the shared buffers.</summary>
    private static List<int[]> Epoch(BatchIterator it)
    {
        var batches = new List<int[]>();
        while (it.TryNext(out var b))
        {
            var ids = new int[b.Count];
            for (int i = 0; i < b.Count; i++)
            {
                ids[i] = (int)b.Features[2 * i];
                Assert.That(b.Features[2 * i + 1], Is.EqualTo(-ids[i]));
                Assert.That(b.Labels[i], Is.EqualTo(ids[i] % 3));
            }
            batches.Add(ids);
        }
        return batches;
    }

    [Test]
    public void EveryEpoch_VisitsEverySampleOnce_InFullBatchesAndOnePartialOne()
    {
        var it = new BatchIterator(DatasetTests.Small(103), batchSize: 10, seed: 1);
        Assert.That(it.BatchesPerEpoch, Is.EqualTo(11));
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var batches = Epoch(it);
            Assert.That(batches.Select(b => b.Length), Is.EqualTo(Enumerable.Repeat(10, 10).Append(3)));
            Assert.That(batches.SelectMany(b => b), Is.EquivalentTo(Enumerable.Range(0, 103)));
            Assert.That(it.Position, Is.EqualTo(new BatchPosition(epoch + 1, 0)));
        }
    }

    [Test]
    public void DropLast_SkipsThePartialBatch()
    {
        var it = new BatchIterator(DatasetTests.Small(103), 10, seed: 1, dropLast: true);
        Assert.That(it.BatchesPerEpoch, Is.EqualTo(10));
        var batches = Epoch(it);
        Assert.That(batches.Select(b => b.Length), Is.All.EqualTo(10));
        Assert.That(batches.SelectMany(b => b).Distinct().Count(), Is.EqualTo(100));
        Assert.Throws<OnnxRevException>(() => new BatchIterator(DatasetTests.Small(5), 10, 1, dropLast: true));
    }

    [Test]
    public void SameSeed_SameBatches_OtherEpochsAndSeeds_OtherOrders()
    {
        var a = new BatchIterator(DatasetTests.Small(64), 8, seed: 42);
        var b = new BatchIterator(DatasetTests.Small(64), 8, seed: 42);
        var a0 = Epoch(a);
        Assert.That(Epoch(b), Is.EqualTo(a0));
        var a1 = Epoch(a);
        Assert.That(a1, Is.Not.EqualTo(a0));
        Assert.That(a.EpochOrder(0), Is.EqualTo(a0.SelectMany(x => x)));
        Assert.That(a.EpochOrder(0), Is.Not.EqualTo(Enumerable.Range(0, 64)), "shuffled");
        var c = new BatchIterator(DatasetTests.Small(64), 8, seed: 43);
        Assert.That(Epoch(c), Is.Not.EqualTo(a0));
    }

    [Test]
    public void ResumingAtAPosition_EqualsContinuing()
    {
        var data = DatasetTests.Small(50);
        var straight = new BatchIterator(data, 7, seed: 5);
        var all = new List<(BatchPosition Position, int[] Ids)>();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var position = straight.Position;
            foreach (var ids in Epoch(straight))
            {
                all.Add((position, ids));
                position = position with { Batch = position.Batch + 1 };
            }
        }
        // Resume at epoch 1, batch 3 (as a checkpoint would) and run to the end of epoch 2.
        var resumed = new BatchIterator(data, 7, seed: 5, start: new BatchPosition(1, 3));
        var rest = Epoch(resumed).Concat(Epoch(resumed)).ToList();
        var expected = all.SkipWhile(x => x.Position != new BatchPosition(1, 3)).Select(x => x.Ids).ToList();
        Assert.That(rest, Is.EqualTo(expected));

        // Seek on a used iterator, and a position just past an epoch's end, behave the same way.
        resumed.Seek(new BatchPosition(0, straight.BatchesPerEpoch));
        Assert.That(resumed.Position, Is.EqualTo(new BatchPosition(1, 0)));
        Assert.That(Epoch(resumed), Is.EqualTo(all.Where(x => x.Position.Epoch == 1).Select(x => x.Ids)));
        Assert.Throws<OnnxRevException>(() => resumed.Seek(new BatchPosition(0, straight.BatchesPerEpoch + 1)));
    }

    [Test]
    public void Batches_ReuseTheSameBuffers()
    {
        var it = new BatchIterator(DatasetTests.Small(30), 8, seed: 3);
        Assert.That(it.TryNext(out var first), Is.True);
        Assert.That(it.TryNext(out var second), Is.True);
        Assert.That(second.Features, Is.SameAs(first.Features));
        Assert.That(second.Labels, Is.SameAs(first.Labels));
        Assert.That(first.Features.Length, Is.EqualTo(16));
        Assert.That((second.Epoch, second.Index), Is.EqualTo((0, 1)));
    }

    [Test]
    public void WithoutShuffle_EpochsFollowTheDataOrder()
    {
        var it = new BatchIterator(DatasetTests.Small(20), 6, seed: 9, shuffle: false);
        Assert.That(Epoch(it).SelectMany(b => b), Is.EqualTo(Enumerable.Range(0, 20)));
        Assert.That(it.RestOfEpoch().Select(b => b.Count), Is.EqualTo(new[] { 6, 6, 6, 2 }));
    }
}

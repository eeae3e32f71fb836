using OnnxRev.Passes.Compression;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>Tucker-2 of conv kernels: exact at full rank, exact for kernels of low channel rank, HOOI never worse than HOSVD, error reported = reconstruction error.</summary>
public class TuckerTwoTests
{
    private static float[] Reconstruct(TuckerFactors f, int o, int i, int s)
    {
        var w = new double[o * i * s];
        for (int p = 0; p < o; p++)
            for (int q = 0; q < i; q++)
                for (int a = 0; a < f.OutRank; a++)
                    for (int b = 0; b < f.InRank; b++)
                    {
                        double u = f.OutFactor[p * f.OutRank + a] * (double)f.InFactor[b * i + q];
                        for (int k = 0; k < s; k++) w[(p * i + q) * s + k] += u * f.Core[(a * f.InRank + b) * s + k];
                    }
        return w.Select(v => (float)v).ToArray();
    }

    private static float[] Kernel(int o, int i, int s, int seed, int outRank = 0, int inRank = 0)
    {
        var rng = new Random(seed);
        if (outRank == 0) return Enumerable.Range(0, o * i * s).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        // G ×₀ A ×₁ B with random A [o, outRank], B [i, inRank]: channel ranks outRank, inRank.
        var g = Enumerable.Range(0, outRank * inRank * s).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var a = Enumerable.Range(0, o * outRank).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var b = Enumerable.Range(0, i * inRank).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var w = new float[o * i * s];
        for (int p = 0; p < o; p++) for (int q = 0; q < i; q++) for (int x = 0; x < outRank; x++) for (int y = 0; y < inRank; y++) for (int k = 0; k < s; k++)
            w[(p * i + q) * s + k] += (float)(a[p * outRank + x] * b[q * inRank + y] * g[(x * inRank + y) * s + k]);
        return w;
    }

    private static double SquaredDistance(float[] a, float[] b) => a.Zip(b, (x, y) => (double)(x - y) * (x - y)).Sum();

    [Test]
    public void FullRankReconstructsTheKernel()
    {
        var w = Kernel(12, 8, 9, 1);
        var t = new TuckerTwo(w, 12, 8, 9);
        var f = t.Factors(12, 8);
        Assert.That(SquaredDistance(Reconstruct(f, 12, 8, 9), w), Is.LessThan(1e-9 * t.Total));
    }

    [Test]
    public void LowChannelRankKernelsAreRecoveredExactlyAtTheirRanks()
    {
        var w = Kernel(16, 12, 9, 2, outRank: 5, inRank: 3);
        var t = new TuckerTwo(w, 16, 12, 9);
        Assert.That(TuckerTwo.RankForEnergy(t.OutSpectrum, 1.0), Is.EqualTo(5));
        Assert.That(TuckerTwo.RankForEnergy(t.InSpectrum, 1.0), Is.EqualTo(3));
        var f = t.Factors(5, 3);
        Assert.That(SquaredDistance(Reconstruct(f, 16, 12, 9), w), Is.LessThan(1e-9 * t.Total));
    }

    [Test]
    public void ReportedErrorIsTheReconstructionErrorAndHooiDoesNotIncreaseIt()
    {
        var w = Kernel(20, 14, 9, 3);
        var t = new TuckerTwo(w, 20, 14, 9);
        var hosvd = t.Factors(6, 5, iterations: 0);
        var hooi = t.Factors(6, 5, iterations: 5);
        Assert.That(SquaredDistance(Reconstruct(hosvd, 20, 14, 9), w), Is.EqualTo(hosvd.SquaredError).Within(1e-4 * t.Total));
        Assert.That(SquaredDistance(Reconstruct(hooi, 20, 14, 9), w), Is.EqualTo(hooi.SquaredError).Within(1e-4 * t.Total));
        Assert.That(hooi.SquaredError, Is.LessThanOrEqualTo(hosvd.SquaredError * (1 + 1e-9)));
        // HOSVD's quasi-optimality: the error is at most the two modes' discarded energies together.
        double bound = t.OutSpectrum.Skip(6).Sum() + t.InSpectrum.Skip(5).Sum();
        Assert.That(hosvd.SquaredError, Is.LessThanOrEqualTo(bound * (1 + 1e-9)));
    }
}

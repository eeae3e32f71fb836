using OnnxRev.Ir;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Weight sharing (Deep Compression): per Gemm/MatMul/Conv weight, the non-zero values are clustered by k-means into at
/// most 2^bits − 1 centroids and each is replaced by its centroid, so a weight takes at most 2^bits distinct values
/// (the centroids and the pruned zero). The model keeps its structure; <see cref="Codebooks"/> turns it into codebook +
/// indices for codebook training, and the package coder stores it as such. Weights with no more elements than
/// centroids are left alone.
/// </summary>
public sealed class WeightClustering(int bits = 5, CentroidInit init = CentroidInit.Linear, int seed = 0, IReadOnlyDictionary<string, int>? perLayerBits = null) : IPass
{
    /// <inheritdoc/>
    public string Name => "cluster";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        if (bits is < 1 or > 16) throw new OnnxRevException($"--cluster-bits must be in [1, 16], got {bits}");
        bool modified = false;
        foreach (var site in WeightSite.Find(model))
        {
            int b = perLayerBits is not null && perLayerBits.TryGetValue(site.Name, out int own) ? own : bits;
            int k = (1 << b) - 1;
            var data = site.Read();
            if (data.Length <= k) continue;
            var nonZero = data.Where(v => v != 0f).ToArray();
            var centroids = KMeans1D.Fit(nonZero, k, init, seed);
            bool changed = false;
            for (int i = 0; i < data.Length; i++)
            {
                if (data[i] == 0f) continue;
                float c = centroids[KMeans1D.Nearest(centroids, data[i])];
                if (BitConverter.SingleToInt32Bits(c) != BitConverter.SingleToInt32Bits(data[i])) { data[i] = c; changed = true; }
            }
            if (changed) { site.Write(data); modified = true; }
        }
        return new PassResult(model, modified);
    }
}

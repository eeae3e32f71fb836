using OnnxRev.Ir;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// N:M semi-structured sparsity (2:4 for sparse tensor cores): along each weight's reduction axis, in every group of
/// M consecutive inputs of one output (and, for Conv, one kernel position), only the N largest |w| stay; the rest
/// become +0. Weights whose reduction length is not a multiple of M are left as they are.
/// </summary>
public sealed class NmPruning(int n = 2, int m = 4) : IPass
{
    /// <inheritdoc/>
    public string Name => "prune-nm";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        if (m < 1 || n < 0 || n > m) throw new OnnxRevException($"N:M sparsity needs 0 ≤ N ≤ M and M ≥ 1, got {n}:{m}");
        bool modified = false;
        foreach (var site in WeightSite.Find(model))
        {
            var dims = site.Dims;
            long length = dims[site.InAxis];
            if (length % m != 0 || n == m) continue;
            var data = site.Read();
            long inner = 1;
            for (int a = site.InAxis + 1; a < dims.Length; a++) inner *= dims[a];
            long outer = data.Length / (length * inner);
            bool changed = false;
            var group = new int[m];
            for (long o = 0; o < outer; o++)
                for (long s = 0; s < inner; s++)
                    for (long g0 = 0; g0 < length; g0 += m)
                    {
                        for (int j = 0; j < m; j++) group[j] = (int)((o * length + g0 + j) * inner + s);
                        // Keep the N largest |w| of the group (first index wins ties).
                        var keep = group.OrderByDescending(ix => Math.Abs(data[ix])).ThenBy(ix => ix).Take(n).ToHashSet();
                        foreach (int ix in group)
                            if (!keep.Contains(ix) && BitConverter.SingleToInt32Bits(data[ix]) != 0) { data[ix] = 0f; changed = true; }
                    }
            if (changed) { site.Write(data); modified = true; }
        }
        return new PassResult(model, modified);
    }
}

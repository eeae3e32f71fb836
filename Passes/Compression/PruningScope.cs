namespace OnnxRev.Passes.Compression;

/// <summary>How a sparsity target is shared among layers.</summary>
public enum PruningScope
{
    /// <summary>One threshold over every weight of the model: layers lose different shares.</summary>
    Global,
    /// <summary>Every weight tensor loses the same share.</summary>
    Layer,
}

/// <summary>Unstructured pruning by scores: the lowest-scored weights become +0.</summary>
public static class Sparsifier
{
    /// <summary>
    /// Sets to +0 the weights with the lowest <paramref name="scores"/> (one array per site, same length as its data):
    /// <paramref name="sparsity"/> of all of them together (global) or of each tensor (layer), a per-tensor entry of
    /// <paramref name="perLayer"/> overriding the share for that tensor (which is then pruned on its own).
    /// Returns how many weights each site now has at zero.
    /// </summary>
    public static IReadOnlyDictionary<string, long> Apply(IReadOnlyList<WeightSite> sites, IReadOnlyList<float[]> scores, double sparsity, PruningScope scope,
        IReadOnlyDictionary<string, double>? perLayer = null)
    {
        if (sparsity is < 0 or > 1) throw new OnnxRevException($"sparsity {sparsity} is outside [0, 1]");
        var data = sites.Select(s => s.Read()).ToList();
        var pruned = new bool[sites.Count][];
        var own = new List<int>();
        var shared = new List<int>();
        for (int i = 0; i < sites.Count; i++)
        {
            pruned[i] = new bool[data[i].Length];
            if (perLayer is not null && perLayer.ContainsKey(sites[i].Name) || scope == PruningScope.Layer) own.Add(i);
            else shared.Add(i);
        }
        foreach (int i in own)
        {
            double share = perLayer is not null && perLayer.TryGetValue(sites[i].Name, out var s) ? s : sparsity;
            if (share is < 0 or > 1) throw new OnnxRevException($"sparsity {share} for '{sites[i].Name}' is outside [0, 1]");
            Mark(new[] { i }, share);
        }
        if (shared.Count > 0) Mark(shared, sparsity);
        var zeros = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < sites.Count; i++)
        {
            var d = data[i];
            bool changed = false;
            long count = 0;
            for (int j = 0; j < d.Length; j++)
            {
                if (pruned[i][j] && BitConverter.SingleToInt32Bits(d[j]) != 0) { d[j] = 0f; changed = true; }
                if (BitConverter.SingleToInt32Bits(d[j]) == 0) count++;
            }
            if (changed) sites[i].Write(d);
            zeros[sites[i].Name] = count;
        }
        return zeros;

        void Mark(IReadOnlyList<int> members, double share)
        {
            long total = members.Sum(i => (long)data[i].Length);
            long count = (long)Math.Round(share * total);
            if (count == 0) return;
            var keys = new float[total];
            var refs = new (int Site, int Index)[total];
            long k = 0;
            foreach (int i in members)
                for (int j = 0; j < data[i].Length; j++) { keys[k] = Math.Abs(scores[i][j]); refs[k] = (i, j); k++; }
            var order = new int[total];
            for (int j = 0; j < order.Length; j++) order[j] = j;
            Array.Sort(keys, order);
            for (long j = 0; j < count; j++) { var (site, index) = refs[order[j]]; pruned[site][index] = true; }
        }
    }

    /// <summary>Parses "name=share,name=share" (per-tensor sparsities); empty for null.</summary>
    public static IReadOnlyDictionary<string, double> ParseLayerShares(IReadOnlyList<string> items)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            int eq = item.LastIndexOf('=');
            if (eq <= 0 || !double.TryParse(item[(eq + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) || v is < 0 or > 1)
                throw new OnnxRevException($"--layer-sparsity '{item}' is not NAME=SHARE with a share in [0, 1]");
            result[item[..eq]] = v;
        }
        return result;
    }
}

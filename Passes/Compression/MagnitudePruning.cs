using OnnxRev.Ir;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Unstructured magnitude pruning: the Gemm/MatMul/Conv weights of smallest |w| become +0, either
/// <see cref="Sparsity"/> of all weights under one global threshold or that share of each tensor; per-tensor shares
/// override. Biases and other tensors are untouched. Keep the zeros through fine-tuning with
/// <c>TrainingOptions.KeepZeros</c>.
/// </summary>
public sealed class MagnitudePruning(double sparsity, PruningScope scope = PruningScope.Global, IReadOnlyDictionary<string, double>? perLayer = null) : IPass
{
    /// <inheritdoc/>
    public string Name => "prune-magnitude";

    /// <summary>The share of weights set to zero.</summary>
    public double Sparsity { get; } = sparsity;

    /// <summary>Zeros per weight after the last run.</summary>
    public IReadOnlyDictionary<string, long> Zeros { get; private set; } = new Dictionary<string, long>();

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        var sites = WeightSite.Find(model);
        if (perLayer is not null)
        {
            var unknown = perLayer.Keys.Where(k => sites.All(s => s.Name != k)).ToList();
            if (unknown.Count > 0) throw new OnnxRevException($"--layer-sparsity names weights the model's Gemm/MatMul/Conv nodes do not read: {string.Join(", ", unknown)}");
        }
        var before = sites.Select(s => s.Read()).ToList();
        Zeros = Sparsifier.Apply(sites, before, Sparsity, scope, perLayer);
        bool modified = sites.Select((s, i) => before[i].Count(v => BitConverter.SingleToInt32Bits(v) == 0) != Zeros[s.Name]).Any(x => x);
        return new PassResult(model, modified);
    }
}

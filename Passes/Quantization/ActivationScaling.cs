using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// Moves a per-input-channel factor from a MatMul's activation into its weight, an exact float rewrite:
/// <c>x·W = (x ⊘ s)·(diag(s)·W)</c>. For every activation tensor named in the scale table, one <c>Mul(x, 1/s)</c>
/// is inserted and every MatMul (or Gemm with transA = 0) that multiplies x by a constant 2-D float weight reads the
/// scaled copy instead, with the weight's K rows (Gemm transB: columns) multiplied by s. Other readers of x (a
/// residual Add) keep the original. Quantizers use it to flatten activation outliers before a per-tensor
/// activation scale (SmoothQuant: s = max|x|^α / max|W|^(1−α)) or to give salient input channels finer weight steps
/// (activation-aware int4: s = mean|x|^α). Weights are written as new initializers, so a weight shared with another
/// node is not changed under it.
/// </summary>
public sealed class ActivationScaling : IPass
{
    private readonly IReadOnlyDictionary<string, float[]> _scales;

    /// <summary>Creates the pass; <paramref name="scales"/> maps an activation tensor name to its K positive factors.</summary>
    public ActivationScaling(IReadOnlyDictionary<string, float[]> scales) => _scales = scales;

    /// <inheritdoc/>
    public string Name => "activation-scaling";

    /// <summary>The scaled MatMul/Gemm nodes of the last run (names, or first output names).</summary>
    public IReadOnlyList<string> ScaledNodes { get; private set; } = Array.Empty<string>();

    /// <summary>The MatMul/Gemm nodes reading <paramref name="x"/> whose weight can absorb a per-channel factor, with K.</summary>
    public static IEnumerable<(Node Node, Tensor Weight, bool Transposed)> Consumers(Value x) =>
        x.Uses.Select(u => u.Node).Distinct().Where(n => n.IsStandardDomain && n.Inputs.Count >= 2 && n.Inputs[0] == x)
            .Select(n => (n, w: Rewiring.ConstantFloat(n.Inputs[1]), t: n.OpType == "Gemm" && n.Attributes.GetInt("transB", 0) != 0))
            .Where(c => c.w is { Dims.Count: 2 } && (c.n.OpType == "MatMul" || (c.n.OpType == "Gemm" && c.n.Attributes.GetInt("transA", 0) == 0)))
            .Select(c => (c.n, c.w!, c.t));

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        var g = model.Graph;
        var scaled = new List<string>();
        foreach (var (name, s) in _scales)
        {
            var x = Find(g, name);
            if (x is null) throw new OnnxRevException($"activation scaling: the graph has no tensor '{name}'");
            if (s.Any(f => !(f > 0) || float.IsInfinity(f))) throw new OnnxRevException($"activation scaling: the factors for '{name}' must be positive and finite");
            var consumers = Consumers(x).ToList();
            if (consumers.Count == 0) continue;
            foreach (var (node, w, transposed) in consumers)
                if ((transposed ? w.Dims[1] : w.Dims[0]) != s.Length)
                    throw new OnnxRevException($"activation scaling: '{name}' has {s.Length} factors but '{Rewiring.Hint(node)}' multiplies {(transposed ? w.Dims[1] : w.Dims[0])} channels");
            var first = g.Nodes.First(n => consumers.Any(c => c.Node == n));
            var inverse = Rewiring.AddFloats(g, name + "_inverse_scale", new long[] { s.Length }, s.Select(f => 1f / f).ToArray());
            var xs = new GraphBuilder(g, first).Op("Mul", new[] { x, inverse }, hint: name + "_scaled");
            foreach (var (node, w, transposed) in consumers)
            {
                var data = w.ToFloatArray();
                long rows = w.Dims[0], cols = w.Dims[1];
                for (long r = 0; r < rows; r++)
                    for (long c = 0; c < cols; c++) data[r * cols + c] *= s[transposed ? c : r];
                var old = node.Inputs[1];
                node.SetInput(0, xs);
                node.SetInput(1, Rewiring.AddFloats(g, Rewiring.Hint(node) + "_weight_scaled", w.Dims.ToArray(), data));
                Rewiring.DropIfUnused(old);
                scaled.Add(Rewiring.Hint(node));
            }
        }
        ScaledNodes = scaled;
        return new PassResult(model, scaled.Count > 0);
    }

    private static Value? Find(Graph g, string name) =>
        g.Inputs.Find(name) ?? g.Initializers.FirstOrDefault(v => v.Name == name) ?? g.Nodes.SelectMany(n => n.Outputs).FirstOrDefault(v => v.Name == name);
}

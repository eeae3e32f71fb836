using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// Gemm with a constant B becomes MatMul(A', B') [+ Add(C')], so the integer MatMul kernels can take it:
/// B' = alpha · (transB ? Bᵀ : B) as a new [K, N] initializer, C' = beta · C (a new initializer when C is
/// constant, a Mul otherwise), A' = Transpose(A) when transA is set. The output keeps its name. Exact up to
/// float rounding of alpha and beta products (none when they are 1).
/// </summary>
public sealed class GemmToMatMul : IPass
{
    private readonly Func<Node, bool>? _filter;

    /// <summary>Creates the pass; <paramref name="filter"/> picks the Gemm nodes to convert (all when null).</summary>
    public GemmToMatMul(Func<Node, bool>? filter = null) => _filter = filter;

    /// <inheritdoc/>
    public string Name => "gemm-to-matmul";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        bool modified = false;
        var g = model.Graph;
        foreach (var node in g.Nodes.Where(n => n.IsStandardDomain && n.OpType == "Gemm").ToList())
        {
            if (_filter is not null && !_filter(node)) continue;
            if (Rewiring.ConstantFloat(node.Inputs[1]) is not { Dims.Count: 2 } b) continue;
            Convert(g, node, b);
            modified = true;
        }
        return new PassResult(model, modified);
    }

    private static void Convert(Graph g, Node gemm, Tensor b)
    {
        float alpha = gemm.Attributes.GetFloat("alpha", 1f), beta = gemm.Attributes.GetFloat("beta", 1f);
        bool transA = gemm.Attributes.GetInt("transA", 0) != 0, transB = gemm.Attributes.GetInt("transB", 0) != 0;
        var w = b.ToFloatArray();
        long r = b.Dims[0], c = b.Dims[1];
        long k = transB ? c : r, n = transB ? r : c;
        var wt = new float[w.Length];
        for (long i = 0; i < k; i++)
            for (long j = 0; j < n; j++)
                wt[i * n + j] = alpha * (transB ? w[j * c + i] : w[i * c + j]);
        string hint = Rewiring.Hint(gemm);
        var builder = new GraphBuilder(g, gemm);
        var bValue = Rewiring.AddFloats(g, hint + "_weight_kn", new[] { k, n }, wt);
        var a = gemm.Inputs[0]!;
        if (transA) a = builder.Op("Transpose", new[] { a }, new[] { Ir.Attribute.FromInts("perm", new long[] { 1, 0 }) }, hint: hint + "_at");
        var y = builder.Op("MatMul", new[] { a, bValue }, hint: hint + "_matmul");
        var cIn = gemm.Inputs.Count > 2 ? gemm.Inputs[2] : null;
        if (cIn is not null && beta != 0)
        {
            Value bias;
            if (Rewiring.ConstantFloat(cIn) is { } ct)
            {
                var cv = ct.ToFloatArray();
                bias = beta == 1f ? cIn : Rewiring.AddFloats(g, hint + "_bias", ct.Dims.ToArray(), cv.Select(x => beta * x).ToArray());
            }
            else if (beta == 1f) bias = cIn;
            else
            {
                var betaValue = Rewiring.AddFloats(g, hint + "_beta", Array.Empty<long>(), new[] { beta });
                bias = builder.Op("Mul", new[] { cIn, betaValue }, hint: hint + "_beta_c");
            }
            y = builder.Op("Add", new[] { y, bias }, hint: hint + "_add");
        }
        var bOld = gemm.Inputs[1];
        var matmul = builder.Created.First(n => n.OpType == "MatMul");
        Rewiring.Replace(gemm.Outputs[0], y);
        g.Remove(gemm);
        if (gemm.Name.Length > 0) matmul.Name = gemm.Name; // keep-float lists and sensitivity reports name the layer as exported
        Rewiring.DropIfUnused(bOld);
        Rewiring.DropIfUnused(cIn);
    }
}

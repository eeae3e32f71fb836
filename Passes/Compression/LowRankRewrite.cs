using OnnxRev.Building;
using OnnxRev.Ir;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Replaces each use of a factored weight by the thinner ops, keeping the node's output value name (so graph
/// outputs, value_info and later readers are untouched):
/// <code>
/// MatMul(x, S)                 → MatMul(MatMul(x, L), R)                     S ≈ L·R, S [K, N]
/// Gemm(A, S, C), transB = 0    → Gemm(Gemm(A, L; transA, α), R, C; β)        (MatMul where no Gemm feature is needed)
/// Gemm(A, S, C), transB = 1    → Gemm(Gemm(A, R; transA, α, transB), L, C; β, transB)   S [N, K] ≈ L·R
/// Gather(S, i)                 → MatMul(Gather(L, i), R)                     embedding rows
/// Conv(x, S[O,I,1,1], b)       → Conv(Conv(x, R[r,I,1,1]; strides, pads…), L[O,r,1,1], b)
/// Conv(x, W[O,I,kh,kw], b)     → Conv(Conv(Conv(x, U_Iᵀ), G; strides, pads…), U_O, b)   Tucker-2
/// </code>
/// Gemm before opset 11 requires C: the first Gemm then gets a zero scalar.
/// </summary>
internal static class LowRankRewrite
{
    /// <summary>Rewrites every use of a matrix weight with factors <paramref name="left"/> [m, r] and <paramref name="right"/> [r, n].</summary>
    public static void Matrix(LowRankSite site, Value left, Value right)
    {
        foreach (var (node, use) in site.Users)
            Replace(node, b => use switch
            {
                LowRankUse.MatMul => b.Op("MatMul", new[] { b.Op("MatMul", new[] { node.Inputs[0], left }, hint: Hint(node, "lowrank")), right }),
                LowRankUse.Gather => b.Op("MatMul", new[] { b.Op("Gather", new[] { left, node.Inputs[1] }, new[] { Attr.FromInt("axis", 0) }, hint: Hint(node, "lowrank")), right }),
                LowRankUse.Gemm => Gemm(b, node, left, right),
                LowRankUse.Conv1x1 => b.Op("Conv", new[] { b.Op("Conv", new[] { node.Inputs[0], right }, SpatialAttributes(node), hint: Hint(node, "lowrank")), left, Bias(node) }),
                _ => throw new InvalidOperationException($"{use} is not a matrix use"),
            });
    }

    /// <summary>Rewrites every use of a k×k kernel into 1×1 (U_Iᵀ), k×k core, 1×1 (U_O, bias).</summary>
    public static void Kernel(LowRankSite site, Value inFactor, Value core, Value outFactor)
    {
        foreach (var (node, _) in site.Users)
            Replace(node, b =>
            {
                var reduced = b.Op("Conv", new[] { node.Inputs[0], inFactor }, hint: Hint(node, "tucker_in"));
                var mixed = b.Op("Conv", new[] { reduced, core }, SpatialAttributes(node), hint: Hint(node, "tucker_core"));
                return b.Op("Conv", new[] { mixed, outFactor, Bias(node) });
            });
    }

    private static Value Gemm(GraphBuilder b, Node node, Value left, Value right)
    {
        bool transA = node.Attributes.GetInt("transA", 0) != 0, transB = node.Attributes.GetInt("transB", 0) != 0;
        float alpha = node.Attributes.GetFloat("alpha", 1f), beta = node.Attributes.GetFloat("beta", 1f);
        var c = node.Inputs.Count > 2 ? node.Inputs[2] : null;
        bool needsC = (b.Graph.Model?.OpsetVersion("") ?? 13) < 11;
        // x·Sᵀ with S = L·R is (x·Rᵀ)·Lᵀ; x·S is (x·L)·R.
        var (first, second) = transB ? (right, left) : (left, right);
        Value hidden;
        if (!transA && alpha == 1f && !transB) hidden = b.Op("MatMul", new[] { node.Inputs[0], first }, hint: Hint(node, "lowrank"));
        else
        {
            var attrs = new List<Attr> { Attr.FromInt("transA", transA ? 1 : 0), Attr.FromInt("transB", transB ? 1 : 0), Attr.FromFloat("alpha", alpha) };
            var inputs = new List<Value?> { node.Inputs[0], first };
            if (needsC) inputs.Add(Zero(b));
            hidden = b.Op("Gemm", inputs, attrs, hint: Hint(node, "lowrank"));
        }
        if (c is null && !transB) return b.Op("MatMul", new[] { hidden, second });
        var secondInputs = new List<Value?> { hidden, second };
        if (c is not null) secondInputs.Add(c);
        else if (needsC) secondInputs.Add(Zero(b));
        return b.Op("Gemm", secondInputs, new[] { Attr.FromInt("transB", transB ? 1 : 0), Attr.FromFloat("beta", beta) });
    }

    private static Value Zero(GraphBuilder b) => b.Initializer(Tensor.FromFloats("", new long[] { 1 }, new[] { 0f }), "lowrank_zero");

    private static Value? Bias(Node node) => node.Inputs.Count > 2 ? node.Inputs[2] : null;

    /// <summary>The Conv's spatial attributes (strides, pads, dilations, auto_pad, kernel_shape) for the op that keeps the original window.</summary>
    private static IEnumerable<Attr> SpatialAttributes(Node node) => node.Attributes.Where(a => a.Name is "strides" or "pads" or "dilations" or "auto_pad" or "kernel_shape");

    private static string Hint(Node node, string what) => (node.Name.Length > 0 ? node.Name : node.Outputs[0].Name) + "_" + what;

    /// <summary>Builds the replacement before <paramref name="node"/>, moves its readers (and graph outputs) over, removes it, and gives the new output the old name.</summary>
    private static void Replace(Node node, Func<GraphBuilder, Value> build)
    {
        var graph = node.Graph!;
        var y = node.Outputs[0];
        var b = new GraphBuilder(graph, node);
        var z = build(b);
        y.ReplaceAllUsesWith(z, includeGraphOutputs: true);
        graph.Remove(node);
        string name = y.Name;
        y.Name = graph.Model!.Names.Fresh(name + "_unfactored");
        z.Name = name;
        z.Info = y.Info;
    }
}

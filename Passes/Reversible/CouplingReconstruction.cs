using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Schema;

namespace OnnxRev.Passes.Reversible;

/// <summary>
/// Graph outputs of a reconstruction probe for one coupling block: its forward inputs, those rebuilt from its own
/// forward outputs (local), and those rebuilt block by block from the last block's outputs, as the reversible
/// backward rebuilds them (chained).
/// </summary>
public sealed record BlockProbe(int Index, string X1, string X2, string LocalX1, string LocalX2, string ChainedX1, string ChainedX2);

/// <summary>
/// Builds, on a copy of a model with coupling blocks, the graph that rebuilds every block's inputs from its outputs
/// (<c>x2 = (y2 − G(y1))/β</c>, <c>x1 = (y1 − F(x2))/λ</c>, β = λ = 1 when unscaled) next to the forward, so one run
/// measures the reconstruction error. Only builds the graph; running it is the caller's (Runtime's) business.
/// </summary>
public static class CouplingReconstruction
{
    /// <summary>The probe model (a copy; <paramref name="model"/> is not changed) and one probe per coupling block, in graph order.</summary>
    public static (Model Model, IReadOnlyList<BlockProbe> Probes) Build(Model model)
    {
        var copy = TrainingGraphBuilder.Clone(model);
        var g = copy.Graph;
        var blocks = BlockFinder.Coupling(g);
        var b = new GraphBuilder(g);
        var probes = new BlockProbe[blocks.Count];
        var chained = new Dictionary<Value, Value>();
        for (int k = blocks.Count - 1; k >= 0; k--)
        {
            var c = blocks[k];
            var (l1, l2) = Rebuild(b, c, c.Y1, c.Y2);
            var (c1, c2) = Rebuild(b, c, chained.GetValueOrDefault(c.Y1, c.Y1), chained.GetValueOrDefault(c.Y2, c.Y2));
            chained[c.X1] = c1;
            chained[c.X2] = c2;
            probes[k] = new BlockProbe(k, Expose(g, c.X1), Expose(g, c.X2), Expose(g, l1), Expose(g, l2), Expose(g, c1), Expose(g, c2));
        }
        return (copy, probes);
    }

    private static (Value X1, Value X2) Rebuild(GraphBuilder b, CouplingBlock c, Value y1, Value y2)
    {
        var d2 = b.Op("Sub", new[] { y2, Clone(b, c.G, y1) }, hint: c.X2.Name + "_probe");
        var x2 = c.Beta is { } beta ? b.Op("Div", new[] { d2, beta }, hint: c.X2.Name + "_probe") : d2;
        var d1 = b.Op("Sub", new[] { y1, Clone(b, c.F, x2) }, hint: c.X1.Name + "_probe");
        var x1 = c.Lambda is { } lambda ? b.Op("Div", new[] { d1, lambda }, hint: c.X1.Name + "_probe") : d1;
        return (x1, x2);
    }

    private static Value Clone(GraphBuilder b, Branch branch, Value leaf)
    {
        var map = new Dictionary<Value, Value> { [branch.Leaf] = leaf };
        foreach (var n in branch.Nodes)
        {
            var outs = b.Ops(n.OpType, n.Inputs.Select(v => v is null ? null : map.GetValueOrDefault(v, v)), n.Outputs.Count, n.Attributes, n.Domain, hint: n.OpType.ToLowerInvariant() + "_probe");
            for (int k = 0; k < outs.Length; k++) map[n.Outputs[k]] = outs[k];
        }
        return map[branch.Output];
    }

    /// <summary>Makes <paramref name="v"/> a graph output (float32, shape left to the runtime) and returns its name.</summary>
    private static string Expose(Graph g, Value v)
    {
        if (!g.Outputs.Contains(v))
        {
            v.Type ??= new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } };
            g.Outputs.Add(v);
        }
        return v.Name;
    }
}

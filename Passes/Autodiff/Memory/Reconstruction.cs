using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff.Memory;

/// <summary>One coupling block in a <see cref="ProbedModel"/>: the forward's inputs and the rebuilt ones (output names).</summary>
public sealed record ProbedBlock(int Index, string ForwardX1, string ForwardX2, string RebuiltX1, string RebuiltX2);

/// <summary>A model whose outputs are every coupling block's forward inputs and the same inputs rebuilt from the block's outputs.</summary>
public sealed record ProbedModel(Model Model, IReadOnlyList<ProbedBlock> Blocks);

/// <summary>
/// Builds the reconstruction probe of <c>--memory reversible</c>: the forward graph plus, block by block from the
/// last, the rebuilding the reversible plan emits (<see cref="ActivationPlan"/>): <c>x2 = y2 − G(y1)</c>,
/// <c>x1 = y1 − F(x2)</c>, where y1, y2 are the next block's rebuilt inputs (or, for a stack's last block, the
/// forward's outputs). Comparing rebuilt with forward values measures the error the backward works with,
/// accumulated along each stack as it is in training. Graph only; running it is the caller's.
/// </summary>
public static class Reconstruction
{
    /// <summary>The probe for <paramref name="forward"/> (parameters as initializers; the model is not modified).</summary>
    public static ProbedModel Build(Model forward)
    {
        var model = TrainingGraphBuilder.Clone(forward);
        var g = model.Graph;
        var blocks = BlockFinder.Coupling(g);
        if (blocks.Count == 0) throw new OnnxRevException("the model has no additive coupling blocks (y1 = x1 + F(x2); y2 = x2 + G(y1)) to rebuild");
        var b = new GraphBuilder(g);
        var rebuilt = new Dictionary<Value, Value>();
        var probed = new ProbedBlock[blocks.Count];
        var outputs = new List<Value>();
        for (int k = blocks.Count - 1; k >= 0; k--)
        {
            var c = blocks[k];
            var y1 = rebuilt.GetValueOrDefault(c.Y1, c.Y1);
            var y2 = rebuilt.GetValueOrDefault(c.Y2, c.Y2);
            var x2 = b.Op("Sub", new[] { y2, Clone(b, c.G, y1) }, hint: c.X2.Name + "_rebuilt");
            var x1 = b.Op("Sub", new[] { y1, Clone(b, c.F, x2) }, hint: c.X1.Name + "_rebuilt");
            rebuilt[c.X1] = x1;
            rebuilt[c.X2] = x2;
            outputs.AddRange(new[] { c.X1, c.X2, x1, x2 });
            probed[k] = new ProbedBlock(k, c.X1.Name, c.X2.Name, x1.Name, x2.Name);
        }
        g.Outputs.Clear();
        g.OutputDeclarations.Clear();
        foreach (var v in outputs.Distinct()) g.Outputs.Add(v);
        return new ProbedModel(model, probed);
    }

    private static Value Clone(GraphBuilder b, Branch branch, Value leaf)
    {
        var map = new Dictionary<Value, Value> { [branch.Leaf] = leaf };
        foreach (var n in branch.Nodes)
        {
            var outs = b.Ops(n.OpType, n.Inputs.Select(v => v is null ? null : map.GetValueOrDefault(v, v)), n.Outputs.Count, n.Attributes, n.Domain, hint: n.OpType + "_rebuilt");
            for (int k = 0; k < outs.Length; k++) map[n.Outputs[k]] = outs[k];
        }
        return map[branch.Output];
    }
}

using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff.Memory;

/// <summary>A coupling block trained with checkpoint recompute instead of reversal.</summary>
public sealed record RecomputedCoupling(CouplingBlock Block);

/// <summary>
/// Recompute and reversible activation plans. Each block's twins are emitted the first time a rule asks
/// for one of its values (in backward order), and depend on the gradient already flowing into the
/// block, so ONNX Runtime cannot run them early (which would keep them alive as long as storing) and
/// common-subexpression elimination cannot merge them with their forward originals.
/// <code>
/// recompute:  h' = h + 0·Σ dOut;  interior(branch) ← branch(h')           (stores block inputs only;
///             coupling blocks store x2 and y1 and recompute F and G from them)
/// reversible: y1' = y1 (the last block's stored, else rebuilt by the next block) + 0·Σ dY, y2' likewise (the last
///             block's stored + 0·Σ dY, else as rebuilt: everything recomputed reads y1');
///             x2 = y2' − G(y1');  x1 = y1' − F(x2);  interior(F, G) ← the recomputed F(x2), G(y1')
///             (scaled blocks y1 = λ·x1 + F(x2), y2 = β·x2 + G(y1): x2 = (y2' − G(y1'))/β, x1 = (y1' − F(x2))/λ)
/// </code>
/// </summary>
public sealed class ActivationPlan : IActivationPlan
{
    private readonly Dictionary<Value, int> _blockOf = new();
    private readonly List<object> _blocks;
    private readonly Dictionary<Value, Value> _twins = new();
    private readonly HashSet<int> _done = new();
    private readonly HashSet<Value> _tied = new();

    private ActivationPlan(List<object> blocks)
    {
        _blocks = blocks;
        for (int i = 0; i < blocks.Count; i++)
        {
            switch (blocks[i])
            {
                case ResidualBlock r:
                    foreach (var n in r.Branch.Nodes) foreach (var o in n.Outputs) _blockOf[o] = i;
                    break;
                case CouplingBlock c:
                    foreach (var n in c.F.Nodes.Concat(c.G.Nodes)) foreach (var o in n.Outputs) _blockOf[o] = i;
                    _blockOf[c.X1] = i; _blockOf[c.X2] = i; _blockOf[c.Y1] = i; _blockOf[c.Y2] = i;
                    if (c.ScaleX1 is { } m1) _blockOf[m1.Outputs[0]] = i;
                    if (c.ScaleX2 is { } m2) _blockOf[m2.Outputs[0]] = i;
                    break;
                case RecomputedCoupling rc:
                    foreach (var n in rc.Block.F.Nodes.Concat(rc.Block.G.Nodes)) foreach (var o in n.Outputs) _blockOf[o] = i;
                    break;
            }
        }
    }

    /// <summary>Blocks the plan covers.</summary>
    public int BlockCount => _blocks.Count;

    /// <summary>Builds the plan for a model's main graph; fails when the mode finds no block to work on.</summary>
    public static ActivationPlan Create(Model model, MemoryMode mode)
    {
        var g = model.Graph;
        List<object> blocks = mode switch
        {
            MemoryMode.Recompute => BlockFinder.Residual(g).Cast<object>()
                .Concat(BlockFinder.Coupling(g).Select(c => (object)new RecomputedCoupling(c))).ToList(),
            MemoryMode.Reversible => BlockFinder.Coupling(g).Cast<object>().ToList(),
            _ => throw new ArgumentException("no plan for store mode", nameof(mode)),
        };
        if (blocks.Count == 0)
            throw new OnnxRevException(mode == MemoryMode.Reversible
                ? "--memory reversible found no additive coupling blocks (y1 = x1 + F(x2); y2 = x2 + G(y1)); convert residual blocks with the 'coupling' pass, or use --memory recompute"
                : "--memory recompute found no residual (h = h + F(h)) or coupling blocks; use --memory store");
        foreach (var n in blocks.SelectMany(Nodes))
            if (IsRandom(n))
                throw new OnnxRevException($"{n.Describe()} draws random numbers inside a {(mode == MemoryMode.Reversible ? "reversible" : "recomputed")} block; the recomputation would draw different ones. Disable it (inference mode) or use --memory store");
        return new ActivationPlan(blocks);
    }

    private static IEnumerable<Node> Nodes(object block) => block switch
    {
        ResidualBlock r => r.Branch.Nodes,
        CouplingBlock c => c.F.Nodes.Concat(c.G.Nodes),
        RecomputedCoupling rc => rc.Block.F.Nodes.Concat(rc.Block.G.Nodes),
        _ => Array.Empty<Node>(),
    };

    private static bool IsRandom(Node n) =>
        n.OpType is "RandomNormal" or "RandomUniform" or "RandomNormalLike" or "RandomUniformLike" or "Bernoulli" or "Multinomial"
        || (n.OpType == "Dropout" && n.Inputs.Count > 2 && n.Inputs[2] is not null);

    /// <inheritdoc/>
    public Value Resolve(Value forward, BackwardContext ctx)
    {
        if (_twins.TryGetValue(forward, out var twin)) return twin;
        if (!_blockOf.TryGetValue(forward, out int block) || _done.Contains(block)) return forward;
        Materialize(block, ctx);
        return _twins.GetValueOrDefault(forward, forward);
    }

    private void Materialize(int i, BackwardContext ctx)
    {
        if (!_done.Add(i)) return;
        switch (_blocks[i])
        {
            case ResidualBlock r:
            {
                var h = AfterBackwardReaches(r.Input, ctx);
                Clone(r.Branch, h, ctx);
                break;
            }
            case RecomputedCoupling rc:
            {
                // Stored: x2 (F's input) and y1 (G's input); F and G are recomputed from them.
                Clone(rc.Block.G, AfterBackwardReaches(rc.Block.Y1, ctx), ctx);
                Clone(rc.Block.F, AfterBackwardReaches(rc.Block.X2, ctx), ctx);
                break;
            }
            case CouplingBlock c:
            {
                Value y1 = Input(c.Y1, ctx), y2 = Input(c.Y2, ctx);
                // y1 rebuilt by the next block depends only on the stack's tied outputs, not on this block's gradient:
                // untied, ORT may run every block's reconstruction before any gradient (all rebuilt activations alive
                // at once, O(depth)). Everything this block recomputes reads y1, so tying y1 alone orders it.
                if (!_tied.Contains(y1)) y1 = AfterBackwardReaches(y1, ctx);
                var gOut = Clone(c.G, y1, ctx);
                // Scaled (MEFT) blocks: y2 − G(y1) is β·x2 (the Mul's twin), x2 = that / β; likewise x1 = (y1 − F(x2)) / λ.
                var x2 = Unscale(ctx.Builder.Op("Sub", new[] { y2, gOut }, hint: c.X2.Name + (c.ScaleX2 is null ? "_rebuilt" : "_scaled_rebuilt")), c.ScaleX2, c.Beta, c.X2, ctx);
                var fOut = Clone(c.F, x2, ctx);
                var x1 = Unscale(ctx.Builder.Op("Sub", new[] { y1, fOut }, hint: c.X1.Name + (c.ScaleX1 is null ? "_rebuilt" : "_scaled_rebuilt")), c.ScaleX1, c.Lambda, c.X1, ctx);
                _twins[c.Y1] = y1;
                _twins[c.Y2] = y2;
                _twins[c.X1] = x1;
                _twins[c.X2] = x2;
                break;
            }
        }
    }

    /// <summary>
    /// <paramref name="difference"/> is x (unscaled block: aliased to it) or s·x (the Mul's twin); returns the rebuilt x.
    /// </summary>
    private Value Unscale(Value difference, Node? mul, Value? scale, Value x, BackwardContext ctx)
    {
        if (mul is null || scale is null)
        {
            ctx.Alias(difference, x);
            return difference;
        }
        _twins[mul.Outputs[0]] = difference;
        ctx.Alias(difference, mul.Outputs[0]);
        var rebuilt = ctx.Builder.Op("Div", new[] { difference, scale }, hint: x.Name + "_rebuilt");
        ctx.Alias(rebuilt, x);
        return rebuilt;
    }

    /// <summary>A reversible block's output as the backward sees it: rebuilt by the next block, or the stored value tied to the backward.</summary>
    private Value Input(Value y, BackwardContext ctx)
    {
        if (_twins.TryGetValue(y, out var known)) return known;
        // If the next block consumes y as its x1/x2, materializing it rebuilds y.
        int? next = null;
        for (int k = 0; k < _blocks.Count; k++)
            if (_blocks[k] is CouplingBlock nb && (ReferenceEquals(nb.X1, y) || ReferenceEquals(nb.X2, y))) next = k;
        if (next is int n && !_done.Contains(n))
        {
            Materialize(n, ctx);
            if (_twins.TryGetValue(y, out var rebuilt)) return rebuilt;
        }
        return AfterBackwardReaches(y, ctx);
    }

    /// <summary>
    /// <paramref name="v"/> + 0·(Σ current gradient + Σ each parameter-gradient contribution emitted since the last tie):
    /// the same value, computable only once the backward reached the block and finished the weight gradients of the
    /// blocks after it (whose recomputed activations can then be freed before this block recomputes its own).
    /// </summary>
    private Value AfterBackwardReaches(Value v, BackwardContext ctx)
    {
        var grad = ctx.CurrentGradient ?? throw new InvalidOperationException($"no gradient flows yet where '{v.Name}' is needed");
        var sums = ctx.DrainParameterGradients().Prepend(grad)
            .Select(g => ctx.Ops.ReduceSum(g, Array.Empty<long>(), keepDims: false)).ToList();
        var total = sums.Count == 1 ? sums[0] : ctx.Builder.Op("Sum", sums, hint: "backward_reached");
        var zero = ctx.Builder.Op("Mul", new[] { total, ctx.Scalar(0, v) }, hint: "after_backward");
        var tied = ctx.Builder.Op("Add", new[] { v, zero }, hint: v.Name + "_tied");
        ctx.Alias(tied, v);
        _tied.Add(tied);
        return tied;
    }

    /// <summary>Emits a copy of a branch reading <paramref name="leaf"/>; records every interior twin; returns the branch output's twin.</summary>
    private Value Clone(Branch branch, Value leaf, BackwardContext ctx)
    {
        var map = new Dictionary<Value, Value> { [branch.Leaf] = leaf };
        foreach (var n in branch.Nodes)
        {
            var inputs = n.Inputs.Select(v => v is null ? null : map.GetValueOrDefault(v, v)).ToList();
            var outs = ctx.Builder.Ops(n.OpType, inputs, n.Outputs.Count, n.Attributes, n.Domain, hint: (n.Name.Length > 0 ? n.Name.TrimStart('/').Replace('/', '.') : n.OpType) + "_recomputed");
            for (int k = 0; k < outs.Length; k++)
            {
                map[n.Outputs[k]] = outs[k];
                _twins[n.Outputs[k]] = outs[k];
                ctx.Alias(outs[k], n.Outputs[k]);
            }
        }
        return map[branch.Output];
    }
}

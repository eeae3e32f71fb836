using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff.Memory;

/// <summary>A branch: the nodes computing <see cref="Output"/> from one value <see cref="Leaf"/> (plus constants and parameters).</summary>
public sealed record Branch(Value Leaf, Value Output, IReadOnlyList<Node> Nodes);

/// <summary>A residual block <c>out = in + branch(in)</c>.</summary>
public sealed record ResidualBlock(Value Input, Node Add, Branch Branch)
{
    /// <summary>The block's output.</summary>
    public Value Output => Add.Outputs[0];
}

/// <summary>
/// An additive coupling block <c>y1 = x1 + F(x2); y2 = x2 + G(y1)</c> (RevNet), or its scaled form
/// <c>y1 = λ·x1 + F(x2); y2 = β·x2 + G(y1)</c> (MEFT) where <see cref="ScaleX1"/> / <see cref="ScaleX2"/> are the
/// Mul nodes by the constants λ and β (null when unscaled).
/// </summary>
public sealed record CouplingBlock(Value X1, Value X2, Node AddF, Node AddG, Branch F, Branch G, Node? ScaleX1 = null, Node? ScaleX2 = null)
{
    /// <summary>The constant λ multiplies x1 by (null when unscaled).</summary>
    public Value? Lambda => ScaleX1 is null ? null : BlockFinder.ScaleOperand(ScaleX1, X1);

    /// <summary>The constant β multiplies x2 by (null when unscaled).</summary>
    public Value? Beta => ScaleX2 is null ? null : BlockFinder.ScaleOperand(ScaleX2, X2);

    /// <summary>First output.</summary>
    public Value Y1 => AddF.Outputs[0];

    /// <summary>Second output.</summary>
    public Value Y2 => AddG.Outputs[0];
}

/// <summary>
/// Finds residual and coupling blocks in a graph: Add nodes one of whose operands is computed from a
/// single value by nodes used nowhere else (a branch). Matching only reads the graph.
/// </summary>
public static class BlockFinder
{
    /// <summary>
    /// The branch computing <paramref name="output"/> from <paramref name="leaf"/> (plus constants and
    /// parameters), or null when <paramref name="output"/> depends on anything else or an interior value
    /// is read outside the branch. Only reads the graph.
    /// </summary>
    public static Branch? BranchOf(Graph g, Value output, Value leaf)
    {
        var statics = new Dictionary<Value, bool>();
        if (ReferenceEquals(output, leaf) || output.Producer is null || !ReferenceEquals(output.Producer.Graph, g)) return null;
        var nodes = new HashSet<Node>();
        var stack = new Stack<Node>();
        stack.Push(output.Producer);
        bool reachesLeaf = false;
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (!nodes.Add(n)) continue;
            if (n.Subgraphs.Any() || nodes.Count > 10_000) return null;
            foreach (var v in n.Inputs)
            {
                if (v is null || IsStatic(v, statics)) continue;
                if (ReferenceEquals(v, leaf)) { reachesLeaf = true; continue; }
                if (v.Producer is { } p && ReferenceEquals(p.Graph, g)) { stack.Push(p); continue; }
                return null; // a graph input, an overridable initializer or an outer value other than the leaf
            }
        }
        if (!reachesLeaf) return null;
        foreach (var n in nodes)
            foreach (var o in n.Outputs)
                if (!ReferenceEquals(o, output) && (g.Outputs.Contains(o) || o.Uses.Any(u => !nodes.Contains(u.Node)))) return null;
        return new Branch(leaf, output, g.Nodes.Where(nodes.Contains).ToList());
    }

    /// <summary>
    /// Values <paramref name="output"/> could be a branch of, nearest first: walking back from it, every point
    /// where everything still needed has narrowed to one value.
    /// </summary>
    public static IEnumerable<Value> LeafCandidates(Graph g, Value output, int maxNodes = 2000)
    {
        var index = new Dictionary<Node, int>();
        for (int i = 0; i < g.Nodes.Count; i++) index[g.Nodes[i]] = i;
        var pending = new HashSet<Value> { output };
        var statics = new Dictionary<Value, bool>();
        int steps = 0;
        while (pending.Count > 0 && steps++ < maxNodes)
        {
            var latest = pending.Where(v => v.Producer is { } p && index.ContainsKey(p)).OrderByDescending(v => index[v.Producer!]).FirstOrDefault();
            if (latest is null) yield break;
            pending.Remove(latest);
            foreach (var v in latest.Producer!.Inputs)
                if (v is not null && !IsStatic(v, statics)) pending.Add(v);
            if (pending.Count == 1) yield return pending.First();
        }
    }

    /// <summary>
    /// True for values that do not depend on any graph input: initializers, Constant nodes, and nodes
    /// computed only from those (such as the Identity aliases PyTorch writes for merged parameters).
    /// </summary>
    public static bool IsStatic(Value v, Dictionary<Value, bool> memo)
    {
        if (memo.TryGetValue(v, out bool known)) return known;
        bool result = v.IsConstant
            || (v.Producer is { } p && !p.Subgraphs.Any() && !p.OpType.StartsWith("Random", StringComparison.Ordinal)
                && p.Inputs.All(i => i is null || IsStatic(i, memo)));
        memo[v] = result;
        return result;
    }

    /// <summary>Residual blocks <c>out = in + branch(in)</c>, in graph order.</summary>
    public static IReadOnlyList<ResidualBlock> Residual(Graph g)
    {
        var result = new List<ResidualBlock>();
        foreach (var add in g.Nodes.Where(n => n.IsStandardDomain && n.OpType == "Add" && n.Inputs.Count == 2))
        {
            for (int side = 0; side < 2; side++)
            {
                var input = add.Inputs[side];
                var other = add.Inputs[1 - side];
                if (input is null || other is null) continue;
                var branch = BranchOf(g, other, input);
                if (branch is null) continue;
                result.Add(new ResidualBlock(input, add, branch));
                break;
            }
        }
        return result;
    }

    /// <summary>
    /// Coupling blocks <c>y1 = x1 + F(x2); y2 = x2 + G(y1)</c>, in graph order; also the scaled form
    /// <c>y1 = λ·x1 + F(x2); y2 = β·x2 + G(y1)</c> (λ, β constants; either Mul operand order; each Mul read only by its Add).
    /// Models without such Muls are matched as before.
    /// </summary>
    public static IReadOnlyList<CouplingBlock> Coupling(Graph g)
    {
        var result = new List<CouplingBlock>();
        var residuals = g.Nodes.Where(n => n.IsStandardDomain && n.OpType == "Add" && n.Inputs.Count == 2).ToList();
        var taken = new HashSet<Node>();
        var statics = new Dictionary<Value, bool>();
        foreach (var addF in residuals)
        {
            // y2 = x2 + G(y1) followed by the next block's y1' = y1 + F'(y2) also reads as a coupling: blocks
            // are taken in graph order and may not share an Add.
            if (taken.Contains(addF)) continue;
            for (int side = 0; side < 2; side++)
            for (int scaled = 1; scaled >= 0; scaled--)
            {
                // An operand λ·x1 (a Mul by a constant read only here) is read as the scaled form first, so the block's
                // x1 is the Mul's input (what the previous block produced); without such a Mul, as before.
                var x1 = addF.Inputs[side];
                var fOut = addF.Inputs[1 - side];
                if (x1 is null || fOut is null) continue;
                Node? mulF = null;
                if (scaled == 1)
                {
                    mulF = ScaleNode(g, x1, statics, out var scaledInput);
                    if (mulF is null) continue;
                    x1 = scaledInput!;
                }
                var y1 = addF.Outputs[0];
                foreach (var x2 in LeafCandidates(g, fOut))
                {
                    if (ReferenceEquals(x2, x1)) break;
                    // y2 = x2 + G(y1) (an Add reading x2 directly) or β·x2 + G(y1); G's output a branch of y1.
                    foreach (var (addG, gOut, mulG) in SecondAdds(g, x2, statics))
                    {
                        var gb = BranchOf(g, gOut, y1);
                        var f = gb is null ? null : BranchOf(g, fOut, x2);
                        if (gb is null || f is null || taken.Contains(addG)) continue;
                        result.Add(new CouplingBlock(x1, x2, addF, addG, f, gb, mulF, mulG));
                        taken.Add(addF);
                        taken.Add(addG);
                        goto next;
                    }
                }
            }
        next:;
        }
        return result;
    }

    /// <summary>Adds that could compute y2 from x2: those reading x2 directly first, then those reading β·x2 (a Mul by a constant read only by that Add).</summary>
    private static IEnumerable<(Node AddG, Value GOut, Node? MulG)> SecondAdds(Graph g, Value x2, Dictionary<Value, bool> statics)
    {
        foreach (var use in x2.Uses.ToList())
        {
            var addG = use.Node;
            if (!IsAdd(addG) || use.InputIndex > 1) continue;
            if (addG.Inputs[1 - use.InputIndex] is { } gOut) yield return (addG, gOut, null);
        }
        foreach (var use in x2.Uses.ToList())
        {
            var mul = use.Node;
            if (!mul.IsStandardDomain || mul.OpType != "Mul" || use.InputIndex > 1) continue;
            var scaledX2 = mul.Outputs[0];
            if (ScaleNode(g, scaledX2, statics, out var input) is null || !ReferenceEquals(input, x2)) continue;
            var u = scaledX2.Uses[0];
            if (!IsAdd(u.Node) || u.InputIndex > 1) continue;
            if (u.Node.Inputs[1 - u.InputIndex] is { } gOut) yield return (u.Node, gOut, mul);
        }
    }

    private static bool IsAdd(Node n) => n.IsStandardDomain && n.OpType == "Add" && n.Inputs.Count == 2;

    /// <summary>
    /// The Mul computing <paramref name="scaled"/> = c·x (either operand order) with c a constant and x not,
    /// when <paramref name="scaled"/> is read by exactly one node and is no graph output; null otherwise.
    /// </summary>
    public static Node? ScaleNode(Graph g, Value scaled, Dictionary<Value, bool> statics, out Value? input)
    {
        input = null;
        if (scaled.Producer is not { } mul || !ReferenceEquals(mul.Graph, g) || !mul.IsStandardDomain || mul.OpType != "Mul" || mul.Inputs.Count != 2) return null;
        if (scaled.Uses.Count != 1 || g.Outputs.Contains(scaled)) return null;
        if (mul.Inputs[0] is not { } a || mul.Inputs[1] is not { } b) return null;
        bool sa = IsStatic(a, statics), sb = IsStatic(b, statics);
        if (sa == sb) return null;
        var c = sa ? a : b;
        if (c.Initializer is { } t && t.DataType == (int)OnnxRev.Schema.TensorProto.Types.DataType.Float && t.ToFloatArray().Any(v => v == 0)) return null; // not invertible
        input = sa ? b : a;
        return mul;
    }

    /// <summary>The constant operand of a scale Mul whose other operand is <paramref name="x"/>.</summary>
    public static Value ScaleOperand(Node mul, Value x) => ReferenceEquals(mul.Inputs[0], x) ? mul.Inputs[1]! : mul.Inputs[0]!;
}

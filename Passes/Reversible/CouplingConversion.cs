using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Passes.Cleanup.Shapes;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Passes.Reversible;

/// <summary>How <see cref="CouplingConversion"/> rewrites a residual chain.</summary>
public enum CouplingVariant
{
    /// <summary>Blocks (2j, 2j+1) become one additive coupling block (F = F_2j, G = F_2j+1) on duplicated streams; changes the function.</summary>
    Pairs,

    /// <summary>MEFT-style: y1 = λ·x1 + L_i(x2), y2 = β·x2 + A_i(y1) (A_i a zero-initialized adapter), streams swapped; the pretrained function up to O(λ).</summary>
    Meft,
}

/// <summary>Options of the coupling conversion.</summary>
/// <param name="Variant">Pairs (default) or Meft.</param>
/// <param name="Lambda">MEFT λ (scale of x1).</param>
/// <param name="Beta">MEFT β (scale of x2; 1 adds no Mul).</param>
/// <param name="Rank">MEFT adapter width r (width → r → width).</param>
/// <param name="Seed">Seed of the adapters' down projections (uniform ±1/√width; up projections are zero).</param>
public sealed record CouplingOptions(CouplingVariant Variant = CouplingVariant.Pairs, float Lambda = 0.1f, float Beta = 1f, int Rank = 8, int Seed = 0);

/// <summary>One converted chain: its input and output value names, how many residual blocks it had and how many coupling blocks it became.</summary>
public sealed record ConvertedChain(string Input, string Output, int ResidualBlocks, int CouplingBlocks);

/// <summary>
/// Turns chains of residual blocks on one stream (<c>h = h + F_i(h)</c>, block i's output read only by block i+1)
/// into two-stream additive coupling, which <c>--memory reversible</c> trains without storing activations.
/// <code>
/// pairs: x1 = x2 = h;  per pair: y1 = x1 + F_2j(x2);  y2 = x2 + F_2j+1(y1);  (x1, x2) ← (y1, y2)
///        h_out = (x1 + x2)·0.5;  an odd last block stays residual on h_out.   A different function.
/// meft:  x1 = x2 = h;  per layer L_i(h) = h + F_i(h):  y1 = λ·x1 + L_i(x2);  y2 = β·x2 + A_i(y1);  (x1, x2) ← (y2, y1)
///        output = x2 after the last layer = h_L + O(λ) at initialization (A_i ≡ 0: up projection zero).
///        The last layer has no adapter (its y2 would be read by nothing): a chain of n layers gives n − 1 coupling blocks.
/// </code>
/// Only chains of at least two blocks are converted. x1 is an Identity of h so the two streams are distinct values.
/// </summary>
public sealed class CouplingConversion : IPass
{
    private readonly CouplingOptions _options;
    private readonly List<ConvertedChain> _converted = new();

    /// <summary>Creates the pass (defaults: pairs; meft with λ = 0.1, β = 1, r = 8).</summary>
    public CouplingConversion(CouplingOptions? options = null)
    {
        _options = options ?? new CouplingOptions();
        if (_options.Variant == CouplingVariant.Meft && (_options.Lambda == 0 || _options.Beta == 0))
            throw new OnnxRevException("coupling meft: λ and β must be nonzero (the block is inverted by dividing by them)");
        if (_options.Rank <= 0) throw new OnnxRevException($"coupling meft: adapter rank must be positive, not {_options.Rank}");
    }

    /// <inheritdoc/>
    public string Name => "coupling";

    /// <summary>The chains the last <see cref="Run"/> converted.</summary>
    public IReadOnlyList<ConvertedChain> Converted => _converted;

    /// <summary>Chains of residual blocks in graph order: block i+1 reads block i's output, which nothing else reads.</summary>
    public static IReadOnlyList<IReadOnlyList<ResidualBlock>> Chains(Graph g)
    {
        var blocks = BlockFinder.Residual(g);
        var byInput = new Dictionary<Value, ResidualBlock>();
        foreach (var b in blocks) byInput.TryAdd(b.Input, b);
        var next = new Dictionary<ResidualBlock, ResidualBlock>();
        var hasPrev = new HashSet<ResidualBlock>();
        foreach (var b in blocks)
        {
            if (!byInput.TryGetValue(b.Output, out var n) || g.Outputs.Contains(b.Output)) continue;
            var inside = n.Branch.Nodes.Append(n.Add).ToHashSet();
            if (b.Output.Uses.Any(u => !inside.Contains(u.Node))) continue;
            next[b] = n;
            hasPrev.Add(n);
        }
        var chains = new List<IReadOnlyList<ResidualBlock>>();
        foreach (var b in blocks.Where(b => !hasPrev.Contains(b)))
        {
            var chain = new List<ResidualBlock> { b };
            for (var c = b; next.TryGetValue(c, out var n); c = n) chain.Add(n);
            chains.Add(chain);
        }
        return chains;
    }

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        _converted.Clear();
        var g = model.Graph;
        var chains = Chains(g).Where(c => c.Count >= 2).ToList();
        if (chains.Count == 0) return new PassResult(model, false);
        ShapeInfo? shapes = null;
        foreach (var chain in chains)
        {
            shapes ??= ShapeInference.Infer(model);
            bool knownType = shapes.TryGetType(chain[0].Input, out int elem, out var dims);
            if (knownType && elem != 0 && elem != 1) continue; // float32 streams only (the scale constants are float32)
            if (_options.Variant == CouplingVariant.Pairs) _converted.Add(Pairs(g, chain));
            else
            {
                long? width = dims is { Length: > 0 } && dims[^1].IsKnown ? dims[^1].Value : null;
                if (width is null) throw new OnnxRevException($"coupling meft: the width (last dimension) of '{chain[0].Input.Name}' is unknown, so the adapters cannot be sized");
                _converted.Add(Meft(g, chain, width.Value));
            }
        }
        return new PassResult(model, _converted.Count > 0);
    }

    private ConvertedChain Pairs(Graph g, IReadOnlyList<ResidualBlock> chain)
    {
        var h = chain[0].Input;
        var x1 = new GraphBuilder(g, First(g, chain[0])).Op("Identity", new[] { h }, hint: h.Name + "_stream1");
        Value s1 = x1, s2 = h;
        int pairs = chain.Count / 2;
        for (int j = 0; j < pairs; j++)
        {
            ResidualBlock f = chain[2 * j], gb = chain[2 * j + 1];
            // F reads s2 already (h, or the previous pair's y2); its add takes s1 instead of the stream.
            Retarget(f, s2);
            f.Add.SetInput(AddStreamIndex(f), s1);
            var y1 = f.Output;
            // G reads y1 (the previous block's output) already; its add takes s2.
            gb.Add.SetInput(AddStreamIndex(gb), s2);
            (s1, s2) = (y1, gb.Output);
        }
        var lastAdd = chain[2 * pairs - 1].Add;
        var outside = chain.Count % 2 == 0 ? s2.Uses.ToList() : new List<Usage>();
        var b = new GraphBuilder(g, After(g, lastAdd));
        var sum = b.Op("Add", new[] { s1, s2 }, hint: "coupling_merge_sum");
        var half = b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { 0.5f }), "coupling_half");
        var merged = b.Op("Mul", new[] { sum, half }, hint: "coupling_merge");
        Value output;
        if (chain.Count % 2 == 1)
        {
            var odd = chain[^1];
            Retarget(odd, merged);
            output = odd.Output;
        }
        else
        {
            foreach (var u in outside) u.Node.SetInput(u.InputIndex, merged);
            output = ReplaceGraphOutput(g, s2, merged);
        }
        return new ConvertedChain(h.Name, output.Name, chain.Count, pairs);
    }

    private ConvertedChain Meft(Graph g, IReadOnlyList<ResidualBlock> chain, long width)
    {
        var model = g.Model!;
        var rng = new Random(_options.Seed);
        var h = chain[0].Input;
        var x1 = new GraphBuilder(g, First(g, chain[0])).Op("Identity", new[] { h }, hint: h.Name + "_stream1");
        Value s1 = x1, s2 = h;
        Value? lambda = null, beta = null;
        int r = (int)Math.Min(_options.Rank, width);
        Value output = h;
        for (int i = 0; i < chain.Count; i++)
        {
            var block = chain[i];
            Retarget(block, s2);
            var layerOut = block.Output;
            var outside = layerOut.Uses.ToList();
            var b = new GraphBuilder(g, After(g, block.Add));
            lambda ??= b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { _options.Lambda }), "meft_lambda");
            var y1 = b.Op("Add", new[] { b.Op("Mul", new[] { s1, lambda }, hint: $"meft.{i}.lambda_x1"), layerOut }, hint: $"meft.{i}.y1");
            if (i == chain.Count - 1)
            {
                foreach (var u in outside) u.Node.SetInput(u.InputIndex, y1);
                output = ReplaceGraphOutput(g, layerOut, y1);
                break;
            }
            // The next layer reads y1 in place of this layer's output: Retarget on the next iteration.
            var down = Param(model, g, $"meft.{i}.adapter.down.weight", new[] { (long)r, width }, rng, 1 / Math.Sqrt(width));
            var downBias = Param(model, g, $"meft.{i}.adapter.down.bias", new[] { (long)r }, null, 0);
            var up = Param(model, g, $"meft.{i}.adapter.up.weight", new[] { width, (long)r }, null, 0);
            var upBias = Param(model, g, $"meft.{i}.adapter.up.bias", new[] { width }, null, 0);
            var t = b.Op("Gemm", new[] { y1, down, downBias }, new[] { Attr.FromInt("transB", 1) }, hint: $"meft.{i}.adapter.down");
            var a = b.Op("Gemm", new[] { t, up, upBias }, new[] { Attr.FromInt("transB", 1) }, hint: $"meft.{i}.adapter.up");
            Value scaled2 = s2;
            if (_options.Beta != 1)
            {
                beta ??= b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { _options.Beta }), "meft_beta");
                scaled2 = b.Op("Mul", new[] { s2, beta }, hint: $"meft.{i}.beta_x2");
            }
            var y2 = b.Op("Add", new[] { scaled2, a }, hint: $"meft.{i}.y2");
            (s1, s2) = (y2, y1);
        }
        return new ConvertedChain(h.Name, output.Name, chain.Count, chain.Count - 1);
    }

    private static Value Param(Model model, Graph g, string hint, long[] dims, Random? rng, double bound)
    {
        var data = new float[dims.Aggregate(1L, (p, q) => p * q)];
        if (rng is not null) for (int k = 0; k < data.Length; k++) data[k] = (float)((rng.NextDouble() * 2 - 1) * bound);
        string name = model.Names.Fresh(hint);
        return g.AddInitializer(new Value(name), Tensor.FromFloats(name, dims, data));
    }

    /// <summary>Makes a residual block's branch and add read <paramref name="input"/> wherever they read its input.</summary>
    private static void Retarget(ResidualBlock block, Value input)
    {
        if (ReferenceEquals(block.Input, input)) return;
        var inside = block.Branch.Nodes.Append(block.Add).ToHashSet();
        foreach (var u in block.Input.Uses.ToList())
            if (inside.Contains(u.Node)) u.Node.SetInput(u.InputIndex, input);
    }

    /// <summary>Which operand of the block's add is the stream (the one that is not the branch output).</summary>
    private static int AddStreamIndex(ResidualBlock block) => ReferenceEquals(block.Add.Inputs[0], block.Branch.Output) ? 1 : 0;

    /// <summary>Where <paramref name="old"/> is a graph output, <paramref name="replacement"/> takes its place and its name; returns the chain's output value.</summary>
    private static Value ReplaceGraphOutput(Graph g, Value old, Value replacement)
    {
        if (!g.Outputs.Contains(old)) return replacement;
        string name = old.Name;
        old.Name = g.Model!.Names.Fresh(name + "_coupled");
        replacement.Name = name;
        replacement.Info = old.Info;
        for (int i = 0; i < g.Outputs.Count; i++) if (ReferenceEquals(g.Outputs[i], old)) g.Outputs[i] = replacement;
        return replacement;
    }

    private static Node First(Graph g, ResidualBlock block)
    {
        var set = block.Branch.Nodes.Append(block.Add).ToHashSet();
        return g.Nodes.First(set.Contains);
    }

    private static Node? After(Graph g, Node node)
    {
        int i = -1;
        for (int k = 0; k < g.Nodes.Count; k++) if (ReferenceEquals(g.Nodes[k], node)) { i = k; break; }
        return i + 1 < g.Nodes.Count ? g.Nodes[i + 1] : null;
    }
}

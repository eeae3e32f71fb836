using OnnxRev.Ir;

namespace OnnxRev.Passes.Compression;

/// <summary>Which norm ranks a neuron/channel (of its outgoing weights).</summary>
public enum ChannelNorm
{
    /// <summary>Sum of |w|.</summary>
    L1,
    /// <summary>√Σw².</summary>
    L2,
}

/// <summary>
/// Structured pruning that shrinks the model: for each Gemm/MatMul/Conv (group 1) layer, the <see cref="Ratio"/> share of
/// its output neurons/channels with the smallest weight norm is removed — rows/columns of its weight and bias — and the
/// new width is carried through every consumer: elementwise activations, Add/Sub/Mul/Div with per-channel constants
/// (sliced), BatchNormalization (its four vectors sliced), depthwise Conv (filters, bias and group count cut), pooling, Dropout, Flatten after a Conv (the next layer loses
/// the channel's block of inputs), SiLU-style products of the same stream, up to the next Gemm/MatMul/Conv, whose input
/// rows/channels go. A layer whose outputs reach anything else — a residual Add with another stream, Concat, Reshape,
/// a normalization over the channels, a graph output — is left whole, so residual streams stay intact.
/// Shapes recorded on the changed values are updated. Ratio 0 changes nothing.
/// </summary>
public sealed class ChannelPruning(double ratio, ChannelNorm norm = ChannelNorm.L2) : IPass
{
    /// <inheritdoc/>
    public string Name => "prune-channels";

    /// <summary>The share of each prunable layer's outputs removed.</summary>
    public double Ratio { get; } = ratio is >= 0 and < 1 ? ratio : throw new OnnxRevException($"--channel-ratio must be in [0, 1), got {ratio}");

    /// <summary>Layer → (channels before, channels after) for the last run.</summary>
    public IReadOnlyDictionary<string, (long Before, long After)> Pruned => _pruned;

    private readonly Dictionary<string, (long, long)> _pruned = new(StringComparer.Ordinal);

    /// <summary>Layer → why it was left whole, for the last run.</summary>
    public IReadOnlyDictionary<string, string> Skipped => _skipped;

    private readonly Dictionary<string, string> _skipped = new(StringComparer.Ordinal);

    private static readonly HashSet<string> Unary = new(StringComparer.Ordinal)
    {
        "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Selu", "Softplus", "Softsign", "Gelu", "Erf", "HardSigmoid", "HardSwish", "Mish",
        "Identity", "Dropout", "Neg", "Abs", "Exp", "ThresholdedRelu", "Celu", "Sin", "Cos", "Sqrt", "Reciprocal",
    };

    private static readonly HashSet<string> Pools = new(StringComparer.Ordinal) { "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool" };

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        _pruned.Clear();
        _skipped.Clear();
        if (Ratio == 0) return new PassResult(model, false);
        bool modified = false;
        foreach (var site in WeightSite.Find(model))
        {
            if (site.Uses.Count != 1 || site.Value.Graph is null) continue;
            var layer = site.Uses[0].Node;
            if (layer.OpType == "Conv" && layer.Attributes.GetInt("group", 1) != 1) continue;
            if (layer.OpType == "Gemm" && layer.Attributes.GetInt("transA", 0) != 0) continue;
            var plan = Plan(model, site, layer, out string reason);
            if (plan is null) { _skipped[layer.Name.Length > 0 ? layer.Name : site.Name] = reason; continue; }
            long channels = site.Dims[site.OutAxis];
            int keepCount = (int)Math.Max(1, channels - Math.Round(Ratio * channels));
            if (keepCount == channels) continue;
            var keep = Importance(site).Select((v, i) => (v, i)).OrderByDescending(x => x.v).ThenBy(x => x.i).Take(keepCount).Select(x => x.i).Order().ToArray();
            foreach (var edit in plan) edit(keep, channels);
            _pruned[layer.Name.Length > 0 ? layer.Name : site.Name] = (channels, keepCount);
            modified = true;
        }
        return new PassResult(model, modified);
    }

    private double[] Importance(WeightSite site)
    {
        var dims = site.Dims;
        var data = site.Read();
        long channels = dims[site.OutAxis];
        long inner = 1;
        for (int a = site.OutAxis + 1; a < dims.Length; a++) inner *= dims[a];
        var score = new double[channels];
        for (long i = 0; i < data.Length; i++)
        {
            long c = i / inner % channels;
            score[c] += norm == ChannelNorm.L1 ? Math.Abs(data[i]) : (double)data[i] * data[i];
        }
        return score;
    }

    /// <summary>An edit to apply once the kept channels are known: (kept indices, channels before).</summary>
    private delegate void Edit(int[] keep, long channels);

    /// <summary>How a value carries the layer's channels: features per channel (−1: found at the next layer), axis counted from the end, rank (−1 unknown).</summary>
    private readonly record struct Stream(long Block, int FromEnd, int Rank);

    /// <summary>The edits removing channels of <paramref name="layer"/>'s output, or null when they cannot all be carried through.</summary>
    private static List<Edit>? Plan(Model model, WeightSite site, Node layer, out string reason)
    {
        reason = "";
        var edits = new List<Edit>();
        var y = layer.Outputs[0];
        // Output channel axis of the layer, counted from the end so broadcasting constants line up.
        var start = layer.OpType == "Conv" ? new Stream(1, site.Dims.Length - 2, site.Dims.Length) : new Stream(1, 0, y.Shape?.Length ?? (layer.OpType == "Gemm" ? 2 : -1));
        long channels = site.Dims[site.OutAxis];
        edits.Add((keep, c) => SliceWeight(site, site.OutAxis, keep, 1));
        if (layer.OpType is "Gemm" or "Conv" && layer.Inputs.Count > 2 && layer.Inputs[2] is not null && !SliceConstant(edits, layer, 2, layer.OpType == "Conv" ? 0 : start.FromEnd, 1)) { reason = "a constant or layout along the way cannot be cut"; return null; }
        var region = new Dictionary<Value, Stream> { [y] = start };
        var pendingBinary = new List<Node>();
        var queue = new Queue<Value>();
        queue.Enqueue(y);
        var sites = WeightSite.Find(model);
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            var st = region[v];
            if (v.IsGraphOutput) { reason = $"'{v.Name}' is a graph output"; return null; }
            edits.Add((keep, c) => ShrinkShape(v, st.FromEnd, st.Block < 0 ? -1 : keep.Length * st.Block, st.Block < 0 ? -1 : c * st.Block));
            foreach (var use in v.Uses)
            {
                var n = use.Node;
                if (!n.IsStandardDomain || n.Graph != v.Graph) { reason = "a constant or layout along the way cannot be cut"; return null; }
                string op = n.OpType;
                bool channelFirst = st.Rank >= 3 && st.FromEnd == st.Rank - 2 && st.Block == 1;
                Value? carried = null;
                var next = st;
                if (Unary.Contains(op) && use.InputIndex == 0)
                {
                    if (op == "Dropout" && n.Outputs.Count > 1 && (n.Outputs[1].Uses.Count > 0 || n.Outputs[1].IsGraphOutput)) { reason = "a constant or layout along the way cannot be cut"; return null; }
                    carried = n.Outputs[0];
                }
                else if (op == "Clip" && use.InputIndex == 0 && n.Inputs.Skip(1).All(i => i is null || i.IsConstant || i.Producer?.OpType == "Constant")) carried = n.Outputs[0];
                else if (op is "Add" or "Sub" or "Mul" or "Div" && n.Inputs.Count == 2)
                {
                    var other = n.Inputs[1 - use.InputIndex]!;
                    if (ConstantTensor(other) is not null)
                    {
                        int constRank = ConstantTensor(other)?.Dims.Count ?? -1;
                        if (st.Block < 0 && constRank > st.FromEnd || !SliceConstant(edits, n, 1 - use.InputIndex, st.FromEnd, st.Block)) { reason = "a constant or layout along the way cannot be cut"; return null; }
                        if (st.Rank >= 0 && constRank > st.Rank) next = st with { Rank = constRank };
                    }
                    else if (other != v) pendingBinary.Add(n);
                    carried = n.Outputs[0];
                }
                else if (op == "BatchNormalization" && use.InputIndex == 0 && channelFirst)
                {
                    if (n.Outputs.Skip(1).Any(o => o.Uses.Count > 0 || o.IsGraphOutput)) { reason = "a constant or layout along the way cannot be cut"; return null; }
                    for (int i = 1; i < 5; i++)
                        if (n.Inputs.Count <= i || n.Inputs[i] is not { } p || ConstantTensor(p) is null || !SliceConstant(edits, n, i, 0, 1)) { reason = "a constant or layout along the way cannot be cut"; return null; }
                    carried = n.Outputs[0];
                }
                else if (Pools.Contains(op) && use.InputIndex == 0 && channelFirst)
                {
                    if (n.Outputs.Skip(1).Any(o => o.Uses.Count > 0 || o.IsGraphOutput)) { reason = "a constant or layout along the way cannot be cut"; return null; }
                    carried = n.Outputs[0];
                }
                else if (op == "Flatten" && channelFirst && n.Attributes.GetInt("axis", 1) == 1)
                {
                    carried = n.Outputs[0];
                    next = new Stream(-1, 0, 2);
                }
                else if (op is "Gemm" or "MatMul" && use.InputIndex == 0 && st.FromEnd == 0
                    && (op == "MatMul" || n.Attributes.GetInt("transA", 0) == 0)
                    && n.Inputs[1] is { } w && sites.FirstOrDefault(s => s.Value == w) is { } consumer && consumer.Uses.Count == 1)
                {
                    long inputs = consumer.Dims[consumer.InAxis];
                    long block = st.Block >= 0 ? st.Block : inputs % channels == 0 ? inputs / channels : -1;
                    if (block < 1 || inputs != channels * block) { reason = "a constant or layout along the way cannot be cut"; return null; }
                    edits.Add((keep, c) => SliceWeight(consumer, consumer.InAxis, keep, block));
                    continue;
                }
                else if (op == "Conv" && use.InputIndex == 0 && channelFirst && n.Attributes.GetInt("group", 1) == channels && channels > 1
                    && n.Inputs[1] is { } dw && sites.FirstOrDefault(s => s.Value == dw) is { } depthwise && depthwise.Uses.Count == 1
                    && depthwise.Dims[0] == channels && depthwise.Dims[1] == 1)
                {
                    // Depthwise: channel c in → channel c out; its filters, bias and group count shrink with the stream.
                    edits.Add((keep, c) => SliceWeight(depthwise, 0, keep, 1));
                    if (n.Inputs.Count > 2 && n.Inputs[2] is not null && !SliceConstant(edits, n, 2, 0, 1)) { reason = "a depthwise bias cannot be cut"; return null; }
                    edits.Add((keep, c) => n.Attributes.Set(Ir.Attribute.FromInt("group", keep.Length)));
                    carried = n.Outputs[0];
                }
                else if (op == "Conv" && use.InputIndex == 0 && channelFirst && n.Attributes.GetInt("group", 1) == 1
                    && n.Inputs[1] is { } cw && sites.FirstOrDefault(s => s.Value == cw) is { } conv && conv.Uses.Count == 1 && conv.Dims[conv.InAxis] == channels)
                {
                    edits.Add((keep, c) => SliceWeight(conv, conv.InAxis, keep, 1));
                    continue;
                }
                else { reason = $"{n.OpType} '{n.Name}' reads its output (input {use.InputIndex})"; return null; }
                if (region.TryGetValue(carried, out var existing)) { if (existing != next) { reason = "a constant or layout along the way cannot be cut"; return null; } continue; }
                region[carried] = next;
                queue.Enqueue(carried);
            }
        }
        // Products of two streams (SiLU: x·σ(x)) are fine when both come from this layer with the same layout.
        foreach (var n in pendingBinary)
            if (n.Inputs.Any(i => i is not null && ConstantTensor(i) is null && !region.ContainsKey(i))) { reason = $"{n.OpType} '{n.Name}' joins it with another stream (residual)"; return null; }
        return edits;
    }


    /// <summary>Adds the edit slicing a constant along the channel axis (counted from its end), when it has one; false when it cannot be.</summary>
    private static Tensor? ConstantTensor(Value v)
    {
        v = WeightSite.Origin(v, singleUse: false);
        if (v.IsGraphInput) return null;
        return v.Initializer ?? (v.Producer is { OpType: "Constant" } p ? Cleanup.ConstantsToInitializers.ToTensor(p) : null);
    }

    /// <summary>
    /// Adds the edit slicing input <paramref name="index"/> of <paramref name="node"/> (a constant) along the channel axis
    /// (counted from its end) when it has one; a constant other nodes also read gets a sliced copy of its own.
    /// False when it is not a float constant.
    /// </summary>
    private static bool SliceConstant(List<Edit> edits, Node node, int index, int fromEnd, long block)
    {
        var constant = node.Inputs[index]!;
        var t = ConstantTensor(constant);
        if (t is null || t.DataType != (int)Schema.TensorProto.Types.DataType.Float) return false;
        int rank = t.Dims.Count;
        int axis = rank - 1 - fromEnd;
        if (axis < 0 || t.Dims[axis] == 1) return true;     // broadcast along the channels: nothing to cut
        var source = WeightSite.Origin(constant);
        bool shared = constant.Uses.Count != 1 || source.Uses.Count != 1 || (source.Initializer is null && source.Producer?.OpType != "Constant");
        edits.Add((keep, c) =>
        {
            var current = ConstantTensor(node.Inputs[index]!)!;
            if (current.Dims[axis] != c * block) throw new InvalidOperationException($"'{constant.Name}' has {current.Dims[axis]} entries on the channel axis, not {c * block}");
            var dims = current.Dims.ToArray();
            var sliced = Gather(current.ToFloatArray(), dims, axis, keep, block);
            var newDims = NewDims(dims, axis, keep.Length * block);
            if (shared)
            {
                var g = node.Graph!;
                var copy = g.AddInitializer(new Value(g.Model!.Names.Fresh(constant.Name + ".pruned")), Tensor.FromFloats("", newDims, sliced));
                node.SetInput(index, copy);
                return;
            }
            WeightSite.WriteConstant(source, Tensor.FromFloats(source.Name, newDims, sliced));
            for (var v = constant; v != source && v.Producer is { } link; v = link.Inputs[0]!) v.Type = null;   // Identity links: shape no longer known
        });
        return true;
    }

    private static void SliceWeight(WeightSite site, int axis, int[] keep, long block)
    {
        var dims = site.Dims;
        site.Write(Gather(site.Read(), dims, axis, keep, block), NewDims(dims, axis, keep.Length * block));
    }

    private static long[] NewDims(long[] dims, int axis, long size)
    {
        var d = (long[])dims.Clone();
        d[axis] = size;
        return d;
    }

    /// <summary>The elements whose index along <paramref name="axis"/> lies in a kept channel's block.</summary>
    private static float[] Gather(float[] data, long[] dims, int axis, int[] keep, long block)
    {
        long inner = 1;
        for (int a = axis + 1; a < dims.Length; a++) inner *= dims[a];
        long length = dims[axis];
        long outer = data.Length / (length * inner);
        var result = new float[outer * keep.Length * block * inner];
        long k = 0;
        for (long o = 0; o < outer; o++)
            foreach (int c in keep)
                for (long j = 0; j < block; j++)
                {
                    long row = (o * length + c * block + j) * inner;
                    Array.Copy(data, row, result, k, inner);
                    k += inner;
                }
        return result;
    }

    private static void ShrinkShape(Value v, int fromEnd, long size, long before)
    {
        var dims = v.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count <= fromEnd) return;
        var d = dims[dims.Count - 1 - fromEnd];
        if (size >= 0 && d.HasDimValue && d.DimValue == before) d.DimValue = size;
        else if (d.HasDimValue) d.ClearDimValue();
    }
}

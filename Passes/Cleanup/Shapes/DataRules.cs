using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>
/// Propagation of the element values of small integer tensors (shape tensors), run after a node's
/// shape rule. Elements are <see cref="Dim"/>s, so a symbolic batch size travels through
/// Shape → Gather → Unsqueeze → Concat while static sizes are computed.
/// </summary>
internal static class DataRules
{
    private static readonly Dictionary<string, InferenceRule> Rules = Build();

    /// <summary>The data rule for <paramref name="opType"/>, when there is one.</summary>
    public static bool TryGet(string opType, out InferenceRule rule) => Rules.TryGetValue(opType, out rule!);

    /// <summary>Operators with a data rule.</summary>
    public static IEnumerable<string> Supported => Rules.Keys;

    private static Dictionary<string, InferenceRule> Build()
    {
        var r = new Dictionary<string, InferenceRule>(StringComparer.Ordinal)
        {
            ["Constant"] = c => { if (ConstantsToInitializers.ToTensor(c.Node) is { } t && TensorData.Read(t, c.MaxDataElements) is { } d) c.SetData(0, d); },
            ["Shape"] = Shape,
            ["Size"] = c => { if (c.Shape(0) is { } x) c.SetData(0, new[] { x.Aggregate(Dim.Of(1), (p, d) => p * d) }); },
            ["Cast"] = Cast,
            ["Gather"] = Gather,
            ["Concat"] = Concat,
            ["Slice"] = Slice,
            ["ConstantOfShape"] = ConstantOfShape,
            ["Range"] = Range,
            ["Expand"] = Expand,
            ["GatherElements"] = GatherElements,
            ["Where"] = c => Elementwise(c, a => a[0].IsKnown ? (a[0].Value != 0 ? a[1] : a[2]) : a[1].SameAs(a[2]) ? a[1] : Dim.Unknown),
            ["Neg"] = c => Elementwise(c, a => Dim.Of(0) - a[0]),
            ["Abs"] = c => Elementwise(c, a => a[0].IsKnown ? Dim.Of(Math.Abs(a[0].Value)) : Dim.Unknown),
            ["Not"] = c => Elementwise(c, a => a[0].IsKnown ? Dim.Of(a[0].Value == 0 ? 1 : 0) : Dim.Unknown),
            ["Add"] = c => Elementwise(c, a => a[0] + a[1]),
            ["Sub"] = c => Elementwise(c, a => a[0] - a[1]),
            ["Mul"] = c => Elementwise(c, a => a[0] * a[1]),
            ["Div"] = c => Elementwise(c, a => a[0] / a[1]),
            ["Mod"] = c => Elementwise(c, a => Known(a, v => v[1] == 0 ? null : c.Int("fmod", 0) != 0 ? v[0] % v[1] : FloorMod(v[0], v[1]))),
            ["Max"] = c => Elementwise(c, a => a.All(d => d.SameAs(a[0])) ? a[0] : Known(a, v => v.Max())),
            ["Min"] = c => Elementwise(c, a => a.All(d => d.SameAs(a[0])) ? a[0] : Known(a, v => v.Min())),
            ["Equal"] = c => Elementwise(c, a => a[0].SameAs(a[1]) ? Dim.Of(1) : Known(a, v => v[0] == v[1] ? 1 : 0)),
            ["Less"] = c => Elementwise(c, a => Known(a, v => v[0] < v[1] ? 1 : 0)),
            ["LessOrEqual"] = c => Elementwise(c, a => Known(a, v => v[0] <= v[1] ? 1 : 0)),
            ["Greater"] = c => Elementwise(c, a => Known(a, v => v[0] > v[1] ? 1 : 0)),
            ["GreaterOrEqual"] = c => Elementwise(c, a => Known(a, v => v[0] >= v[1] ? 1 : 0)),
            ["And"] = c => Elementwise(c, a => Known(a, v => v[0] != 0 && v[1] != 0 ? 1 : 0)),
            ["Or"] = c => Elementwise(c, a => Known(a, v => v[0] != 0 || v[1] != 0 ? 1 : 0)),
            ["Xor"] = c => Elementwise(c, a => Known(a, v => (v[0] != 0) ^ (v[1] != 0) ? 1 : 0)),
        };
        // Operators that keep the elements in row-major order.
        foreach (var op in new[] { "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten" })
            r[op] = c => { if (c.Data(0) is { } d) c.SetData(0, d); };
        return r;
    }

    private static long FloorMod(long a, long b) => ((a % b) + b) % b;

    /// <summary>f over the known values of <paramref name="args"/>; unknown when any is not known or f gives null.</summary>
    private static Dim Known(Dim[] args, Func<long[], long?> f) =>
        Dim.Values(args) is { } v && f(v) is { } r ? Dim.Of(r) : Dim.Unknown;

    private static void Elementwise(NodeContext c, Func<Dim[], Dim> op)
    {
        var inputs = new List<(Dim[], Dim[])>();
        for (int i = 0; i < c.InputCount; i++)
        {
            if (c.Shape(i) is not { } s || c.Data(i) is not { } d) return;
            inputs.Add((s, d));
        }
        var result = Broadcast.Data(inputs, op, c.MaxDataElements, out var shape);
        if (result is not null) c.SetData(0, result, Dim.FromValues(shape));
    }

    private static void Shape(NodeContext c)
    {
        if (c.Shape(0) is not { } x) return;
        var (first, count) = SourceShapes.ShapeRange(c, x.Length);
        c.SetData(0, x[first..(first + count)]);
    }

    private static void Cast(NodeContext c)
    {
        if (c.Data(0) is not { } d) return;
        long to = c.Int("to", 0);
        if (to == (int)DT.Bool) d = d.Select(v => v.IsKnown ? Dim.Of(v.Value != 0 ? 1 : 0) : Dim.Unknown).ToArray();
        else if (to == (int)DT.Int32 && d.Any(v => v.IsKnown && (v.Value < int.MinValue || v.Value > int.MaxValue))) return;
        c.SetData(0, d);
    }

    private static void Gather(NodeContext c)
    {
        if (c.Data(0) is not { } data || c.Shape(0) is not { Length: 1 } || c.Ints(1) is not { } indices || c.Int("axis", 0) is not (0 or -1)) return;
        var picked = new Dim[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            long k = indices[i] < 0 ? indices[i] + data.Length : indices[i];
            if (k < 0 || k >= data.Length) return;
            picked[i] = data[k];
        }
        c.SetData(0, picked);
    }

    private static void Concat(NodeContext c)
    {
        var joined = new List<Dim>();
        for (int i = 0; i < c.InputCount; i++)
        {
            if (!c.Has(i)) continue;
            if (c.Shape(i) is not { Length: 1 } s || !s[0].IsKnown) return;
            // An input whose values are not tracked still contributes its length: partially known data.
            joined.AddRange(c.Data(i) ?? new Dim[s[0].Value]);
        }
        c.SetData(0, joined.ToArray());
    }

    private static void Slice(NodeContext c)
    {
        if (c.Data(0) is not { } data || c.Shape(0) is not { Length: 1 }) return;
        if (IndexingShapes.SliceParameters(c, 1) is not { } p) return;
        var (first, count) = SliceRange.Of(data.Length, p.Starts[0], p.Ends[0], p.Steps[0]);
        var taken = new Dim[count];
        for (long i = 0; i < count; i++) taken[i] = data[first + i * p.Steps[0]];
        c.SetData(0, taken);
    }

    private static void ConstantOfShape(NodeContext c)
    {
        if (c.Ints(0) is not { } shape || shape.Any(d => d < 0)) return;
        var proto = c.Node.Attributes.Find("value")?.TensorValue;
        if (proto is null || TensorData.Read(new Tensor(proto), 1) is not [var fill]) return;
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count > c.MaxDataElements) return;
        c.SetData(0, Enumerable.Repeat(fill, (int)count).ToArray(), Dim.FromValues(shape));
    }

    private static void Range(NodeContext c)
    {
        if (c.Ints(0) is not [var start] || c.Ints(1) is not [var limit] || c.Ints(2) is not [var delta] || delta == 0) return;
        long n = Math.Max(0, (long)Math.Ceiling((limit - start) / (double)delta));
        if (n > c.MaxDataElements) return;
        c.SetData(0, Enumerable.Range(0, (int)n).Select(i => Dim.Of(start + i * delta)).ToArray());
    }

    private static void GatherElements(NodeContext c)
    {
        if (c.Data(0) is not { } data || c.Shape(0) is not { } ds || Dim.Values(ds) is not { } dataShape) return;
        if (c.Ints(1) is not { } indices || c.Shape(1) is not { } isx || Dim.Values(isx) is not { } indexShape || indexShape.Length != dataShape.Length) return;
        int axis = NodeContext.Axis(c.Int("axis", 0), dataShape.Length);
        if (axis < 0) return;
        var result = new Dim[indices.Length];
        var index = new long[indexShape.Length];
        for (int flat = 0; flat < indices.Length; flat++)
        {
            long rem = flat;
            for (int d = indexShape.Length - 1; d >= 0; d--) { index[d] = rem % indexShape[d]; rem /= indexShape[d]; }
            long k = indices[flat] < 0 ? indices[flat] + dataShape[axis] : indices[flat];
            if (k < 0 || k >= dataShape[axis]) return;
            long source = 0;
            for (int d = 0; d < dataShape.Length; d++) source = source * dataShape[d] + (d == axis ? k : index[d]);
            result[flat] = data[source];
        }
        c.SetData(0, result);
    }

    private static void Expand(NodeContext c)
    {
        if (c.Shape(0) is not { } xs || c.Data(0) is not { } x || c.Ints(1) is not { } target || target.Any(d => d < 0)) return;
        long count = target.Aggregate(1L, (a, b) => a * b);
        if (count > c.MaxDataElements) return;
        var inputs = new List<(Dim[], Dim[])> { (xs, x), (Dim.FromValues(target), new Dim[count]) };
        var result = Broadcast.Data(inputs, a => a[0], c.MaxDataElements, out var shape);
        if (result is not null) c.SetData(0, result, Dim.FromValues(shape));
    }
}

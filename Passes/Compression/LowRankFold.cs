using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Passes.Cleanup;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// <c>low-rank-fold</c>: the inverse of <see cref="LowRankFactorization"/> where it does not pay. Two consecutive
/// linear ops with constant weights — MatMul/Gemm then MatMul/Gemm, or 1×1 Conv then 1×1 Conv (stride 1, no
/// padding on the second) — whose middle width r saves nothing (r·(m + n) ≥ m·n) become one op with the product
/// weight (computed in double; a first Conv's bias is carried through: b = W₂·b₁ + b₂). LoRA adapters in the
/// form <see cref="LoraAdapters.Insert"/> writes (y = x·W + s·((x·A)·B)) are merged into W with
/// <see cref="LoraAdapters.Merge"/>. With <c>--fold-all</c> every such pair is folded, whatever its width.
/// </summary>
public sealed class LowRankFold : IPass
{
    private readonly bool _all;

    /// <summary>Creates the pass; <paramref name="all"/> folds pairs even where the middle width saves parameters.</summary>
    public LowRankFold(bool all = false) => _all = all;

    /// <inheritdoc/>
    public string Name => "low-rank-fold";

    /// <summary>How many pairs and adapters the last run folded.</summary>
    public int Folded { get; private set; }

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        Folded = 0;
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var graph in model.Graph.AllGraphs().ToList())
                foreach (var node in graph.Nodes.ToList())
                {
                    if (node.Graph is null) continue;
                    if (TryLora(model, node) || TryLinear(model, node) || TryConv(model, node)) { Folded++; changed = true; }
                }
        }
        if (Folded > 0) new DeadCodeElimination().Run(model);
        return new PassResult(model, Folded > 0);
    }

    /// <summary>Second(First(x, W1), W2) with MatMul/Gemm: x·M with M = α₁·W1'·W2'.</summary>
    private bool TryLinear(Model model, Node second)
    {
        if (!IsLinear(second, out var w2, out var t2, out float a2, out _) || second.Inputs[0] is not { } h || !SingleUse(h, second)) return false;
        var first = h.Producer;
        if (first is null || !IsLinear(first, out var w1, out var t1, out float a1, out bool transA) || HasNonZeroC(first)) return false;
        var (m1, k1, n1) = Effective(w1!, t1);
        var (m2, k2, n2) = Effective(w2!, t2);
        if (n1 != k2) return false;
        if (!_all && (long)n1 * (k1 + n2) < (long)k1 * n2) return false;
        var merged = Multiply(m1, k1, n1, m2, n2, a1);
        var b = new GraphBuilder(second.Graph!, second);
        var weight = b.Initializer(Tensor.FromFloats("", new long[] { k1, n2 }, merged), w1!.Name + ".folded");
        var c = second.OpType == "Gemm" && second.Inputs.Count > 2 ? second.Inputs[2] : null;
        bool gemm = first.OpType == "Gemm" || second.OpType == "Gemm";
        Replace(model, second, bb =>
        {
            if (!gemm) return bb.Op("MatMul", new[] { first.Inputs[0], weight });
            var inputs = new List<Value?> { first.Inputs[0], weight };
            if (c is not null) inputs.Add(c);
            else if ((model.OpsetVersion("") ?? 13) < 11) inputs.Add(bb.Initializer(Tensor.FromFloats("", new long[] { 1 }, new[] { 0f }), "fold_zero"));
            var attrs = new List<Attr> { Attr.FromInt("transA", transA ? 1 : 0), Attr.FromFloat("alpha", a2) };
            if (c is not null) attrs.Add(Attr.FromFloat("beta", second.Attributes.GetFloat("beta", 1f)));
            return bb.Op("Gemm", inputs, attrs);
        }, first);
        return true;
    }

    /// <summary>Conv 1×1 (any window attributes) then Conv 1×1 (stride 1, no padding): one 1×1 Conv.</summary>
    private bool TryConv(Model model, Node second)
    {
        if (!IsConv1x1(second, out var w2) || second.Inputs[0] is not { } h || !SingleUse(h, second)) return false;
        if ((second.Attributes.GetInts("strides") ?? Array.Empty<long>()).Any(s => s != 1) || (second.Attributes.GetInts("pads") ?? Array.Empty<long>()).Any(p => p != 0)) return false;
        if (second.Attributes.GetString("auto_pad", "NOTSET") is not ("NOTSET" or "VALID")) return false;
        var first = h.Producer;
        if (first is null || !IsConv1x1(first, out var w1)) return false;
        long o = w2!.Dims[0], r = w2.Dims[1], i = w1!.Dims[1];
        if (w1.Dims[0] != r) return false;
        if (!_all && r * (o + i) < o * i) return false;
        var a = w1.ToFloatArray();
        var bm = w2.ToFloatArray();
        var merged = Multiply(bm, (int)o, (int)r, a, (int)i, 1f);
        float[]? bias = null;
        var b1 = first.Inputs.Count > 2 ? first.Inputs[2] : null;
        var b2 = second.Inputs.Count > 2 ? second.Inputs[2] : null;
        if (b1 is not null && Constant(b1) is null || b2 is not null && Constant(b2) is null) return false;
        if (b1 is not null || b2 is not null)
        {
            bias = b2 is not null ? Constant(b2)!.ToFloatArray() : new float[o];
            if (b1 is not null)
            {
                var f1 = Constant(b1)!.ToFloatArray();
                for (int p = 0; p < o; p++)
                {
                    double s = bias[p];
                    for (int q = 0; q < r; q++) s += (double)bm[p * r + q] * f1[q];
                    bias[p] = (float)s;
                }
            }
        }
        var g = second.Graph!;
        var bb0 = new GraphBuilder(g, second);
        var weight = bb0.Initializer(Tensor.FromFloats("", new long[] { o, i, 1, 1 }, merged), first.Inputs[1]!.Name + ".folded");
        // Without a first bias the second's bias stays as it is (no copy of a value exporters often share).
        var biasValue = b1 is null ? b2 : bb0.Initializer(Tensor.FromFloats("", new long[] { o }, bias!), first.Inputs[1]!.Name + ".folded_bias");
        Replace(model, second, bb =>
            bb.Op("Conv", new[] { first.Inputs[0], weight, biasValue }, first.Attributes.Where(x => x.Name is "strides" or "pads" or "dilations" or "auto_pad")), first);
        return true;
    }

    /// <summary>Add(MatMul/Gemm(x, W), Mul(Second(First(x, A), B), s)): the LoRA form; W becomes W + s·A·B.</summary>
    private bool TryLora(Model model, Node add)
    {
        if (!add.IsStandardDomain || add.OpType != "Add" || add.Inputs.Count != 2) return false;
        for (int side = 0; side < 2; side++)
        {
            var baseOut = add.Inputs[side];
            var mulOut = add.Inputs[1 - side];
            if (baseOut?.Producer is not { } main || mulOut?.Producer is not { OpType: "Mul" } mul || !SingleUse(baseOut, add) || !SingleUse(mulOut, add)) continue;
            if (!IsLinear(main, out var w, out bool tw, out float alpha, out bool transA) || transA || alpha != 1f || main.Inputs[0] is not { } x) continue;
            int si = mul.Inputs[0]?.Producer is null ? 0 : 1;
            var scaleT = mul.Inputs[si] is { } sv ? Constant(sv) : null;
            var up = mul.Inputs[1 - si];
            if (scaleT is null || scaleT.ElementCount != 1 || scaleT.DataType != (int)DT.Float || up?.Producer is not { } upNode || !SingleUse(up, mul)) continue;
            if (!IsLinear(upNode, out var bt, out bool tb, out float ab, out bool ta2) || ab != 1f || ta2 || HasNonZeroC(upNode) || tb != tw) continue;
            if (upNode.Inputs[0]?.Producer is not { } downNode || !SingleUse(upNode.Inputs[0]!, upNode)) continue;
            if (!IsLinear(downNode, out var at, out bool tA, out float aa, out bool ta1) || aa != 1f || ta1 || HasNonZeroC(downNode) || tA != tw || !ReferenceEquals(downNode.Inputs[0], x)) continue;
            if (w is null || !LoraAdapters.IsMergeable(w) || main.Inputs[1] is not { } wv || wv.Uses.Count != 1) continue;
            var adapter = new LoraAdapter(wv.Name, downNode.Inputs[1]!.Name, upNode.Inputs[1]!.Name, scaleT.ToFloatArray()[0], MatMulLayout: !tw);
            var merged = LoraAdapters.Merge(adapter, w.ToFloatArray(), w.Dims, at!.ToFloatArray(), bt!.ToFloatArray());
            var b = new GraphBuilder(add.Graph!, add);
            var newW = b.Initializer(Tensor.FromFloats("", w.Dims, merged), wv.Name + ".merged");
            main.SetInput(1, newW);
            var y = add.Outputs[0];
            string name = y.Name;
            var sum = main.Outputs[0];
            y.ReplaceAllUsesWith(sum, includeGraphOutputs: true);
            add.Graph!.Remove(add);
            y.Name = model.Names.Fresh(name + "_lora");
            sum.Name = name;
            sum.Info = y.Info;
            return true;
        }
        return false;
    }

    private static bool IsLinear(Node n, out Tensor? w, out bool transB, out float alpha, out bool transA)
    {
        w = null; transB = false; alpha = 1f; transA = false;
        if (!n.IsStandardDomain || n.Inputs.Count < 2 || n.Inputs[1] is not { } wv) return false;
        if (n.OpType == "MatMul") { w = Constant(wv); return w is { DataType: (int)DT.Float } && w.Dims.Count == 2; }
        if (n.OpType != "Gemm") return false;
        transB = n.Attributes.GetInt("transB", 0) != 0;
        transA = n.Attributes.GetInt("transA", 0) != 0;
        alpha = n.Attributes.GetFloat("alpha", 1f);
        w = Constant(wv);
        return w is { DataType: (int)DT.Float } && w.Dims.Count == 2;
    }

    private static bool IsConv1x1(Node n, out Tensor? w)
    {
        w = null;
        if (!n.IsStandardDomain || n.OpType != "Conv" || n.Inputs.Count < 2 || n.Attributes.GetInt("group", 1) != 1 || n.Inputs[1] is not { } wv) return false;
        w = Constant(wv);
        return w is { DataType: (int)DT.Float } && w.Dims.Count == 4 && w.Dims[2] == 1 && w.Dims[3] == 1;
    }

    private static bool HasNonZeroC(Node n) =>
        n.OpType == "Gemm" && n.Inputs.Count > 2 && n.Inputs[2] is { } c && (Constant(c) is not { DataType: (int)DT.Float } t || t.ToFloatArray().Any(v => v != 0));

    /// <summary>The weight as a [K, N] matrix in x·M layout.</summary>
    private static (float[] Data, int K, int N) Effective(Tensor w, bool transposed)
    {
        var d = w.ToFloatArray();
        int r = (int)w.Dims[0], c = (int)w.Dims[1];
        if (!transposed) return (d, r, c);
        var t = new float[d.Length];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++) t[j * r + i] = d[i * c + j];
        return (t, c, r);
    }

    /// <summary>scale·(A [k×m] · B [m×n]) in double.</summary>
    private static float[] Multiply(float[] a, int k, int m, float[] b, int n, float scale)
    {
        var result = new float[(long)k * n];
        var row = new double[n];
        for (int i = 0; i < k; i++)
        {
            Array.Clear(row);
            for (int p = 0; p < m; p++)
            {
                double f = a[i * m + p];
                if (f == 0) continue;
                for (int j = 0; j < n; j++) row[j] += f * b[p * n + j];
            }
            for (int j = 0; j < n; j++) result[i * n + j] = (float)(scale * row[j]);
        }
        return result;
    }

    /// <summary>The constant behind a value (through Identity nodes, which exporters put in front of shared biases), or null.</summary>
    private static Tensor? Constant(Value v)
    {
        while (v.Producer is { OpType: "Identity" } id && id.IsStandardDomain && id.Inputs[0] is { } src) v = src;
        if (v.IsConstant && v.Initializer is { } t) return t;
        if (v.Producer is { OpType: "Constant" } p && p.IsStandardDomain) return ConstantsToInitializers.ToTensor(p);
        return null;
    }

    private static bool SingleUse(Value v, Node user) => v.Uses.Count == 1 && ReferenceEquals(v.Uses[0].Node, user) && !v.IsGraphOutput;

    /// <summary>Replaces <paramref name="last"/> (and the now-unused <paramref name="first"/>) by what <paramref name="build"/> emits, keeping the output name.</summary>
    private static void Replace(Model model, Node last, Func<GraphBuilder, Value> build, Node first)
    {
        var graph = last.Graph!;
        var b = new GraphBuilder(graph, last);
        var z = build(b);
        var y = last.Outputs[0];
        y.ReplaceAllUsesWith(z, includeGraphOutputs: true);
        graph.Remove(last);
        if (first.Outputs.All(o => o.Uses.Count == 0 && !o.IsGraphOutput)) first.Graph!.Remove(first);
        string name = y.Name;
        y.Name = model.Names.Fresh(name + "_unfolded");
        z.Name = name;
        z.Info = y.Info;
    }
}

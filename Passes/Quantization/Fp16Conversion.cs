using Google.Protobuf;
using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Passes.Cleanup.Shapes;
using OnnxRev.Schema;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Quantization;

/// <summary>Which float16 kernels the converted model may rely on.</summary>
public enum Fp16Target
{
    /// <summary>ONNX Runtime's CPU provider: only <see cref="Fp16Conversion.CpuHalfOps"/> compute in float16; weights are stored in float16 everywhere.</summary>
    Cpu,

    /// <summary>Providers with float16 kernels for every op (CUDA, DirectML, …): everything but the float32 islands computes in float16.</summary>
    Any,
}

/// <summary>
/// Mixed precision: float32 weights and computation become float16, with float32 islands for numerically
/// sensitive ops and for ops ONNX Runtime's CPU provider has no float16 kernel for. The model's float inputs and
/// outputs stay float32 (Casts at the boundary), and Casts are inserted only where an fp16 value meets an fp32
/// consumer or the reverse (one per value and direction). Float weights used in fp16 become fp16 initializers (a
/// weight used both ways keeps an fp32 copy). Typed attributes follow their node: Cast 'to', ConstantOfShape
/// 'value'; Constant nodes are made initializers first. Nodes with subgraphs, non-standard domains and
/// quantization ops stay float32. Elementwise/layout nodes fed only by fp32 islands stay fp32 (the decomposed
/// LayerNorm chain ReduceMean → Add(ε) → Sqrt stays whole).
/// </summary>
public sealed class Fp16Conversion : IPass
{
    /// <summary>Sensitive ops kept in float32 by default (reductions, normalizations, exponentials, softmax, cumulative sums).</summary>
    public static readonly IReadOnlyList<string> DefaultKeepFloat = new[]
    {
        "LayerNormalization", "Softmax", "LogSoftmax", "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp", "ReduceProd", "Pow", "Sqrt", "Exp", "Log", "CumSum", "GroupNormalization", "InstanceNormalization",
    };

    /// <summary>
    /// Ops ONNX Runtime 1.31's CPU provider (x86-64) runs in float16, measured one op at a time
    /// (Fp16ConversionTests.CpuHalfOpsRunWithoutInsertedCasts). Every other op has no float16 CPU kernel — among
    /// them Add, Sub, Mul, Div, Pow, MatMul, Gemm, Conv, LSTM, BatchNormalization, Relu, Sigmoid, Tanh, Erf, Sqrt,
    /// Exp, Softmax, ReduceMean, ReduceSum, ReduceMax, GlobalAveragePool, MaxPool, AveragePool, Pad, Tile, Where,
    /// Equal (ORT wraps them in Casts of its own, Fp16ConversionTests.OpsWithoutCpuHalfKernelsAreWrappedByOrt) — so
    /// with <see cref="Fp16Target.Cpu"/> they stay float32 here, explicitly, and only their weights are stored in float16.
    /// </summary>
    public static readonly IReadOnlyList<string> CpuHalfOps = new[]
    {
        "Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Transpose", "Concat", "Split", "Slice", "Gather", "Expand",
        "Max", "Min", "Clip", "LayerNormalization",
    };

    /// <summary>Ops whose float outputs are not of the node's float type or whose typed attributes this pass does not rewrite.</summary>
    private static readonly HashSet<string> AlwaysFloat = new()
    {
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QLinearConv", "QLinearMatMul",
        "Range", "EyeLike", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli",
    };

    /// <summary>Elementwise and data-movement ops that stay float32 when every non-constant float input comes from a float32 island.</summary>
    private static readonly HashSet<string> FollowIsland = new()
    {
        "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Reciprocal", "Identity", "Max", "Min", "Clip", "Reshape", "Squeeze", "Unsqueeze", "Transpose",
        "Flatten", "Expand", "Concat", "Split", "Slice", "Gather", "Tile", "Pad", "Where",
    };

    /// <summary>Inputs that are float32 whatever the node's type (Resize roi/scales, Upsample scales).</summary>
    private static readonly Dictionary<string, int[]> Float32Inputs = new()
    {
        ["Resize"] = new[] { 1, 2 },
        ["Upsample"] = new[] { 1 },
    };

    /// <summary>Constants with at least this many elements (weights) are stored in float16 even where an fp32 node reads them (through a Cast).</summary>
    public const int StoredHalfMinElements = 16;

    private readonly HashSet<string> _keep;
    private readonly Fp16Target _target;

    /// <summary>Creates the pass; <paramref name="keepFloat"/> (op types or node names) are kept float32 in addition to <see cref="DefaultKeepFloat"/>.</summary>
    public Fp16Conversion(IEnumerable<string>? keepFloat = null, Fp16Target target = Fp16Target.Cpu)
    {
        _keep = new HashSet<string>(DefaultKeepFloat.Concat(keepFloat ?? Array.Empty<string>()), StringComparer.Ordinal);
        _target = target;
    }

    /// <inheritdoc/>
    public string Name => "fp16";

    /// <summary>Nodes computing in float16 after the last <see cref="Run"/>.</summary>
    public int HalfNodes { get; private set; }

    /// <summary>Nodes kept in float32 (with float inputs or outputs) by the last run, by op type.</summary>
    public IReadOnlyDictionary<string, int> FloatNodes { get; private set; } = new Dictionary<string, int>();

    private enum P { None, Float, Half }

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        new ConstantsToInitializers().Run(model);
        var g = model.Graph;
        GraphAlgorithms.SortTopologically(g);
        var shapes = ShapeInference.Infer(model);
        int TypeOf(Value v) => shapes.TryGetType(v, out int t, out _) && t != 0 ? t : v.ElementType;
        bool IsF32(Value? v) => v is not null && TypeOf(v) == (int)DT.Float;

        var precision = new Dictionary<Value, P>();          // float32 values: where they live now
        foreach (var v in g.Inputs) if (IsF32(v)) precision[v] = P.Float;
        var decided = new Dictionary<Node, P>();
        var casts = new Dictionary<(Value, P), Value>();
        var halfConsts = new Dictionary<Value, Value>();
        int half = 0;
        var kept = new Dictionary<string, int>();

        foreach (var node in g.Nodes.ToList())
        {
            bool floatIn = node.Inputs.Any(IsF32), floatOut = node.Outputs.Any(IsF32) || (node.OpType == "Cast" && node.Attributes.GetInt("to", 0) == (int)DT.Float);
            if (!floatIn && !floatOut) continue;
            if (node.IsStandardDomain && node.OpType is "Shape" or "Size") continue;   // any input type: nothing to convert
            var p = Decide(node, decided, IsF32);
            decided[node] = p;
            if (p == P.Float) kept[node.OpType] = kept.GetValueOrDefault(node.OpType) + 1;
            else half++;
            var b = new GraphBuilder(g, node);
            var fixedF32 = Float32Inputs.GetValueOrDefault(node.OpType) ?? Array.Empty<int>();
            bool castNode = node.IsStandardDomain && node.OpType == "Cast";
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                var v = node.Inputs[i];
                if (!IsF32(v) || castNode) continue;
                var want = p == P.Half && !fixedF32.Contains(i) ? P.Half : P.Float;
                node.SetInput(i, Convert(b, v!, want, precision, casts, halfConsts));
            }
            if (p == P.Half) MakeHalf(node, IsF32, precision);
            else foreach (var o in node.Outputs) if (IsF32(o)) precision[o] = P.Float;
        }

        // Uses inside subgraphs of values that became fp16 read an fp32 Cast made before the subgraph's node.
        foreach (var (v, p) in precision.ToList())
        {
            if (p != P.Half) continue;
            foreach (var use in v.Uses.ToList())
            {
                if (ReferenceEquals(use.Node.Graph, g)) continue;
                var anchor = GraphAlgorithms.AncestorIn(g, use.Node)!;
                use.Node.SetInput(use.InputIndex, Convert(new GraphBuilder(g, anchor), v, P.Float, precision, casts, halfConsts));
            }
        }

        // Float outputs of the model stay float32.
        for (int i = 0; i < g.Outputs.Count; i++)
        {
            var o = g.Outputs[i];
            if (precision.GetValueOrDefault(o) != P.Half) continue;
            var b = new GraphBuilder(g);
            var cast = b.Op("Cast", new[] { o }, new[] { Attr.FromInt("to", (int)DT.Float) }, hint: o.Name + "_fp32");
            string name = o.Name;
            o.Name = model.Names.Fresh(name + "_fp16");
            cast.Name = name;
            g.Outputs[i] = cast;
        }
        new DeadCodeElimination().Run(model);
        HalfNodes = half;
        FloatNodes = kept;
        return new PassResult(model, half > 0);
    }

    private P Decide(Node node, Dictionary<Node, P> decided, Func<Value?, bool> isF32)
    {
        if (!node.IsStandardDomain || node.Subgraphs.Any() || AlwaysFloat.Contains(node.OpType) || QuantizationGraph.Kept(node, _keep)) return P.Float;
        if (_target == Fp16Target.Cpu && !CpuHalfOps.Contains(node.OpType)) return P.Float;
        if (FollowIsland.Contains(node.OpType))
        {
            var live = node.Inputs.Where(v => isF32(v) && !v!.IsConstant).ToList();
            if (live.Count > 0 && live.All(v => v!.Producer is { } pr && decided.GetValueOrDefault(pr) == P.Float)) return P.Float;
        }
        return P.Half;
    }

    private static Value Convert(GraphBuilder b, Value v, P want, Dictionary<Value, P> precision, Dictionary<(Value, P), Value> casts, Dictionary<Value, Value> halfConsts)
    {
        if (v.IsConstant)
        {
            var t = v.Initializer!;
            bool store = t.ElementCount >= StoredHalfMinElements && t.ToFloatArray().All(x => !float.IsFinite(x) || Math.Abs(x) <= 65504f);
            if (want == P.Float && !store) return v;
            if (!halfConsts.TryGetValue(v, out var h))
                halfConsts[v] = h = b.Graph.AddInitializer(new Value(b.FreshName(v.Name + "_fp16")), ToHalf(t));
            if (want == P.Half) return h;
            if (!casts.TryGetValue((v, P.Float), out var back))
                casts[(v, P.Float)] = back = b.Op("Cast", new[] { h }, new[] { Attr.FromInt("to", (int)DT.Float) }, hint: v.Name + "_fp32");
            return back;
        }
        var have = precision.GetValueOrDefault(v, P.Float);
        if (have == want) return v;
        if (!casts.TryGetValue((v, want), out var c))
        {
            casts[(v, want)] = c = b.Op("Cast", new[] { v }, new[] { Attr.FromInt("to", want == P.Half ? (int)DT.Float16 : (int)DT.Float) }, hint: v.Name + (want == P.Half ? "_fp16" : "_fp32"));
            precision[c] = want;
        }
        return c;
    }

    private static void MakeHalf(Node node, Func<Value?, bool> isF32, Dictionary<Value, P> precision)
    {
        if (node.OpType == "Cast" && node.Attributes.GetInt("to", 0) == (int)DT.Float) node.Attributes.Set(Attr.FromInt("to", (int)DT.Float16));
        if (node.OpType == "ConstantOfShape")
        {
            var t = node.Attributes.Find("value")?.TensorValue;
            if (t is null || t.DataType == (int)DT.Float)
            {
                float v = t is null ? 0f : new Tensor(t).ToFloatArray()[0];
                var h = Tensor.FromRawBytes("", (int)DT.Float16, new long[] { 1 }, BitConverter.GetBytes((Half)v)).Proto;
                node.Attributes.Set(Attr.FromTensor("value", h));
            }
        }
        foreach (var o in node.Outputs)
        {
            if (!isF32(o)) continue;
            precision[o] = P.Half;
            if (o.Type?.TensorType is { } tt) tt.ElemType = (int)DT.Float16;
        }
    }

    /// <summary>A float16 copy of a float32 tensor (finite values beyond ±65504 saturate to ±65504).</summary>
    public static Tensor ToHalf(Tensor t)
    {
        var f = t.ToFloatArray();
        var raw = new byte[f.Length * 2];
        for (int i = 0; i < f.Length; i++)
        {
            float x = float.IsFinite(f[i]) ? Math.Clamp(f[i], -65504f, 65504f) : f[i];
            BitConverter.TryWriteBytes(raw.AsSpan(2 * i), (Half)x);
        }
        return Tensor.FromRawBytes("", (int)DT.Float16, t.Dims, raw);
    }
}

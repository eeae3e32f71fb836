using Google.Protobuf;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// A float32 weight of a Gemm, MatMul or Conv held as an initializer or by a Constant node (exporters write both),
/// with the axes that matter for pruning: <see cref="OutAxis"/> indexes the layer's output neurons/channels and
/// <see cref="InAxis"/> the inputs it sums over. A weight shared by several nodes appears once, with every use.
/// </summary>
public sealed class WeightSite
{
    private WeightSite(Value value, Value source, Node? constant, IReadOnlyList<Usage> uses, int outAxis, int inAxis)
    {
        Value = value;
        Source = source;
        ConstantNode = constant;
        Uses = uses;
        OutAxis = outAxis;
        InAxis = inAxis;
    }

    /// <summary>The weight value (an initializer, or a Constant node's output).</summary>
    public Value Value { get; }

    /// <summary>
    /// Where the data lives: <see cref="Value"/> itself, or the initializer/Constant output at the start of a chain of
    /// single-use Identity nodes leading to it (PyTorch exports shared weights that way).
    /// </summary>
    public Value Source { get; }

    /// <summary>The Constant node that holds the weight, or null for an initializer.</summary>
    public Node? ConstantNode { get; }

    /// <summary>Every (node, input index) that reads the weight as a Gemm/MatMul/Conv weight.</summary>
    public IReadOnlyList<Usage> Uses { get; }

    /// <summary>The output-neuron axis of the weight.</summary>
    public int OutAxis { get; }

    /// <summary>The reduction (input) axis of the weight.</summary>
    public int InAxis { get; }

    /// <summary>The weight's name.</summary>
    public string Name => Value.Name;

    /// <summary>The weight's current data.</summary>
    public Tensor Tensor => Source.Initializer ?? ConstantsToInitializers.ToTensor(ConstantNode!)!;

    /// <summary>Dimensions of the weight.</summary>
    public long[] Dims => Tensor.Dims.ToArray();

    /// <summary>The elements.</summary>
    public float[] Read() => Tensor.ToFloatArray();

    /// <summary>Replaces the elements (same shape unless <paramref name="dims"/> is given).</summary>
    public void Write(float[] data, long[]? dims = null)
    {
        var newDims = dims ?? Dims;
        WriteConstant(Source, Ir.Tensor.FromFloats(Source.Name, newDims, data));
        // Identity links keep their recorded shapes in step.
        for (var v = Value; v != Source && v.Producer is { } p; v = p.Inputs[0]!)
            if (v.Type?.TensorType is { } tt)
            {
                tt.Shape = new Schema.TensorShapeProto();
                foreach (var d in newDims) tt.Shape.Dim.Add(new Schema.TensorShapeProto.Types.Dimension { DimValue = d });
            }
    }

    /// <summary>Replaces the data of an initializer or of the Constant node producing <paramref name="v"/>.</summary>
    public static void WriteConstant(Value v, Tensor t)
    {
        if (v.Initializer is not null) { v.Graph!.ReplaceInitializer(v, t); return; }
        var node = v.Producer ?? throw new InvalidOperationException($"'{v.Name}' is no constant");
        node.Attributes.Clear();
        node.Attributes.Add(Ir.Attribute.FromTensor("value", t.Proto));
    }

    /// <summary>The initializer or Constant-node output at the start of a chain of (single-use, unless <paramref name="singleUse"/> is false) Identity nodes ending in <paramref name="v"/> (or <paramref name="v"/>).</summary>
    public static Value Origin(Value v, bool singleUse = true)
    {
        while (v.Initializer is null && v.Producer is { OpType: "Identity", IsStandardDomain: true } p && p.Inputs[0] is { } src && (src.Uses.Count == 1 || !singleUse) && !src.IsGraphOutput && !src.IsGraphInput)
            v = src;
        return v;
    }

    /// <summary>
    /// The weights of Gemm (input B), MatMul (a constant rank-2 second input) and Conv (input W, any group) in the
    /// main graph, float32 only, in graph order. A weight that some node reads other than as such a weight is left out.
    /// </summary>
    public static IReadOnlyList<WeightSite> Find(Model model)
    {
        var result = new List<WeightSite>();
        var seen = new HashSet<Value>();
        foreach (var node in model.Graph.Nodes)
        {
            if (!node.IsStandardDomain) continue;
            int index = node.OpType switch { "Gemm" or "MatMul" or "Conv" => 1, _ => -1 };
            if (index < 0 || node.Inputs.Count <= index || node.Inputs[index] is not { } w || !seen.Add(w)) continue;
            var site = Create(w);
            if (site is not null) result.Add(site);
        }
        return result;
    }

    private static WeightSite? Create(Value w)
    {
        Node? constant = null;
        var source = Origin(w);
        Tensor? t = source.Initializer;
        if (w.IsGraphInput || source.IsGraphInput) return null;
        if (t is null)
        {
            if (source.Producer is not { OpType: "Constant" } p || !p.IsStandardDomain || ConstantsToInitializers.ToTensor(p) is not { } ct) return null;
            constant = p;
            t = ct;
        }
        if (t.DataType != (int)DT.Float) return null;
        int rank = t.Dims.Count;
        int outAxis = -1, inAxis = -1;
        foreach (var use in w.Uses)
        {
            var n = use.Node;
            int o, i;
            switch (n.OpType)
            {
                case "Gemm" when use.InputIndex == 1 && rank == 2:
                    bool transB = n.Attributes.GetInt("transB", 0) != 0;
                    (o, i) = transB ? (0, 1) : (1, 0);
                    break;
                case "MatMul" when use.InputIndex == 1 && rank == 2:
                    (o, i) = (1, 0);
                    break;
                case "Conv" when use.InputIndex == 1 && rank >= 3:
                    (o, i) = (0, 1);
                    break;
                default: return null;
            }
            if (outAxis >= 0 && (o != outAxis || i != inAxis)) return null;
            (outAxis, inAxis) = (o, i);
        }
        if (outAxis < 0 || w.IsGraphOutput) return null;
        return new WeightSite(w, source, constant, w.Uses.ToList(), outAxis, inAxis);
    }
}

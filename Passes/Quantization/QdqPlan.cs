using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>One node static quantization rewrites: its activation input, and the tensor after it that gets Q/DQ (if any).</summary>
/// <param name="Node">The MatMul or Conv.</param>
/// <param name="Input">The activation input (quantized by QuantizeLinear → DequantizeLinear).</param>
/// <param name="Output">
/// The tensor whose calibrated range quantizes the node's output: a Conv's output, or the output of the Relu that
/// alone follows it when activations are asymmetric (see <paramref name="Relu"/>); a MatMul's output when it feeds an
/// Add (otherwise ONNX Runtime would fuse MatMul + Add into a float Gemm before it looks at the QDQ nodes); null for
/// other MatMuls, whose float output lets ONNX Runtime use MatMulIntegerToFloat.
/// </param>
/// <param name="Relu">
/// A Relu right after a Conv that the rewrite absorbs: with asymmetric activations the Relu output's range starts at
/// 0, so the zero point is the lowest code and QuantizeLinear clips negative values to 0 exactly as Relu does.
/// </param>
public sealed record QdqItem(Node Node, Value Input, Value? Output, Node? Relu = null);

/// <summary>
/// Which nodes and activation tensors static QDQ quantization touches in a prepared model (opset ≥ 13, weights as
/// initializers, Gemm as MatMul, BatchNormalization folded): MatMul with a constant 2-D float weight and Conv with a
/// constant float weight, except those kept float. Calibration observes exactly <see cref="ActivationTensors"/>.
/// </summary>
public sealed class QdqPlan
{
    private QdqPlan(IReadOnlyList<QdqItem> items)
    {
        Items = items;
        ActivationTensors = items.SelectMany(i => i.Output is null ? new[] { i.Input } : new[] { i.Input, i.Output })
            .Select(v => v.Name).Distinct().ToList();
    }

    /// <summary>The nodes to quantize, in graph order.</summary>
    public IReadOnlyList<QdqItem> Items { get; }

    /// <summary>Names of the float tensors that need a calibrated range.</summary>
    public IReadOnlyList<string> ActivationTensors { get; }

    /// <summary>Every node static quantization could take (keep-float ignored): the candidates for sensitivity analysis.</summary>
    public static IReadOnlyList<Node> Candidates(Model model) =>
        model.Graph.Nodes.Where(n => n.IsStandardDomain && IsQuantizable(n)).ToList();

    /// <summary>The plan for <paramref name="model"/> (already prepared) under <paramref name="options"/>.</summary>
    public static QdqPlan For(Model model, QuantizationOptions options)
    {
        var items = new List<QdqItem>();
        foreach (var n in Candidates(model))
        {
            if (options.KeepsFloat(n)) continue;
            Value? output = null;
            Node? absorbed = null;
            var y = n.Outputs[0];
            if (n.OpType == "Conv")
            {
                output = y;
                if (!options.SymmetricActivations && y.Uses.Count == 1 && !y.IsGraphOutput
                    && y.Uses[0].Node is { OpType: "Relu" } relu && relu.IsStandardDomain)
                    (output, absorbed) = (relu.Outputs[0], relu);
            }
            else if (y.Uses.Any(u => u.Node.OpType == "Add")) output = y;
            items.Add(new QdqItem(n, n.Inputs[0]!, output, absorbed));
        }
        return new QdqPlan(items);
    }

    private static bool IsQuantizable(Node n) => n.OpType switch
    {
        "MatMul" => Rewiring.ConstantFloat(n.Inputs[1]) is { Dims.Count: 2 } && n.Inputs[0] is not null,
        "Conv" => Rewiring.ConstantFloat(n.Inputs[1]) is { Dims.Count: >= 3 } && n.Inputs[0] is not null
                  && (n.Inputs.Count < 3 || n.Inputs[2] is null || Rewiring.ConstantFloat(n.Inputs[2]) is not null),
        _ => false,
    };
}

using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// Raises the standard-domain opset import to <see cref="Target"/> when every operator in the graph means the
/// same at the new version, converting the few whose spelling changed: BatchNormalization drops <c>spatial</c>
/// (only spatial=1 has a newer form), Dropout in inference becomes Identity, attribute-to-input moves for
/// Unsqueeze/Squeeze/ReduceSum axes, Split's split and Clip's min/max. Any other operator whose definition
/// changed between the model's opset and the target (Softmax before 13 on a non-last axis, Pad, Upsample, …)
/// stops the pass with an error naming it. IR versions below 7 are raised to 7, and (IR 3 listed every
/// initializer as a graph input) initializers stop being graph inputs.
/// </summary>
public sealed class OpsetUpgrade : IPass
{
    /// <summary>Operators whose meaning does not change from opset 7 to 13 (only new types or attributes with old defaults).</summary>
    private static readonly HashSet<string> Unchanged = new(StringComparer.Ordinal)
    {
        "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "Cast", "Ceil", "Concat", "Constant", "Conv", "ConvTranspose",
        "Div", "Elu", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "Gemm", "GlobalAveragePool",
        "GlobalMaxPool", "Greater", "HardSigmoid", "Identity", "InstanceNormalization", "LRN", "LeakyRelu", "Less", "Log",
        "MatMul", "Max", "MaxPool", "Mean", "Min", "Mul", "Neg", "Not", "Or", "Pow", "PRelu", "Reciprocal", "ReduceL2",
        "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "Relu", "Reshape", "Selu", "Shape", "Sigmoid", "Sign", "Sin",
        "Cos", "Size", "Slice", "Softplus", "Softsign", "Sqrt", "Sub", "Sum", "Tanh", "Tile", "Transpose", "Where", "Xor",
        "Softmax", "LogSoftmax", "BatchNormalization", "Dropout", "Unsqueeze", "Squeeze", "ReduceSum", "Split", "Clip",
    };

    /// <summary>Creates the pass for a target opset (13 lets QDQ carry per-channel axes).</summary>
    public OpsetUpgrade(int target = 13) => Target = target;

    /// <summary>The opset version the model gets.</summary>
    public int Target { get; }

    /// <inheritdoc/>
    public string Name => "opset-upgrade";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        long from = model.OpsetVersion("") ?? 1;
        if (from >= Target) return new PassResult(model, false);
        if (Target > 13) throw new OnnxRevException($"opset-upgrade: target opset {Target} is not supported (13 at most)");
        if (from < 7) throw new OnnxRevException($"opset-upgrade: the model's opset {from} is older than 7, which this pass does not convert");
        var g = model.Graph;
        if (g.AllGraphs().Count() > 1) throw new OnnxRevException("opset-upgrade: models with subgraphs (If/Loop/Scan) are not converted");
        foreach (var n in g.Nodes.Where(n => n.IsStandardDomain))
        {
            if (!Unchanged.Contains(n.OpType))
                throw new OnnxRevException($"opset-upgrade: {n.Describe()} may change meaning between opset {from} and {Target}; this pass does not convert {n.OpType}");
            if (n.OpType is "Softmax" or "LogSoftmax" && from < 13)
            {
                long axis = n.Attributes.GetInt("axis", 1);
                int? rank = n.Inputs[0]?.Shape?.Length;
                if (rank is null || (axis != rank - 1 && axis != -1))
                    throw new OnnxRevException($"opset-upgrade: {n.Describe()} uses axis {axis} of a rank-{rank?.ToString() ?? "unknown"} input, whose meaning changed at opset 13; only the last axis is converted");
            }
            if (n.OpType == "BatchNormalization" && n.Attributes.GetInt("spatial", 1) != 1)
                throw new OnnxRevException($"opset-upgrade: {n.Describe()} has spatial=0, which opset 9 and later cannot express");
        }
        foreach (var n in g.Nodes.Where(n => n.IsStandardDomain).ToList()) Convert(g, n, from);
        model.SetOpsetVersion("", Target);
        if (model.IrVersion < 7) model.IrVersion = 7;
        foreach (var v in g.Initializers.Where(v => g.Inputs.Contains(v)).ToList()) g.Inputs.Remove(v);
        return new PassResult(model, true);
    }

    private void Convert(Graph g, Node n, long from)
    {
        switch (n.OpType)
        {
            case "BatchNormalization":
                n.Attributes.Remove("spatial");
                n.Attributes.Remove("is_test");
                n.Attributes.Remove("consumed_inputs");
                break;
            case "Dropout" when from < 12:
                if (n.Outputs.Skip(1).Any(o => o.Name.Length > 0 && (o.Uses.Count > 0 || o.IsGraphOutput)))
                    throw new OnnxRevException($"opset-upgrade: {n.Describe()} has its mask output in use");
                var id = new Node("Identity", new[] { n.Inputs[0] }, Array.Empty<Value>(), name: n.Name);
                n.Name = "";
                g.InsertBefore(n, id);
                var y = n.Outputs[0];
                var newY = new Value(g.Model!.Names.Fresh(y.Name + "_identity"));
                id.AddOutput(newY);
                Rewiring.Replace(y, newY);
                g.Remove(n);
                break;
            case "Unsqueeze" or "Squeeze" or "ReduceSum" when from < 13:
                MoveIntsToInput(g, n, "axes", 1);
                break;
            case "Split" when from < 13:
                MoveIntsToInput(g, n, "split", 1);
                break;
            case "Clip" when from < 11:
                var min = n.Attributes.Find("min");
                var max = n.Attributes.Find("max");
                n.Attributes.Remove("min");
                n.Attributes.Remove("max");
                n.TruncateInputs(1);
                n.AddInput(min is null ? null : Rewiring.AddFloats(g, Rewiring.Hint(n) + "_min", Array.Empty<long>(), new[] { min.Float }));
                n.AddInput(max is null ? null : Rewiring.AddFloats(g, Rewiring.Hint(n) + "_max", Array.Empty<long>(), new[] { max.Float }));
                break;
        }
    }

    private static void MoveIntsToInput(Graph g, Node n, string attribute, int index)
    {
        var list = n.Attributes.GetInts(attribute);
        if (list is null) return;
        var values = list.ToArray();
        n.Attributes.Remove(attribute);
        while (n.Inputs.Count < index) n.AddInput(null);
        var v = g.AddInitializer(new Value(g.Model!.Names.Fresh(Rewiring.Hint(n) + "_" + attribute)), Tensor.FromInt64s("", new long[] { values.Length }, values));
        if (n.Inputs.Count == index) n.AddInput(v); else n.SetInput(index, v);
    }
}

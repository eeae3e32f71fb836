using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Shape rules of element-wise operators: unary (same shape), broadcasting n-ary, comparisons, Where, Cast.</summary>
internal static class ElementwiseShapes
{
    private static readonly string[] Unary =
    {
        "Identity", "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil",
        "Round", "Sign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
        "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Selu", "Celu", "Gelu", "ThresholdedRelu", "Softplus", "Softsign",
        "Mish", "Shrink", "Clip", "Softmax", "LogSoftmax", "Hardmax", "InstanceNormalization", "LpNormalization", "LRN",
        "MeanVarianceNormalization", "Trilu", "CumSum", "BitwiseNot", "Not", "BatchNormalization", "ReverseSequence",
    };

    private static readonly string[] Broadcasting =
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean", "BitShift", "And", "Or", "Xor",
        "BitwiseAnd", "BitwiseOr", "BitwiseXor",
    };

    private static readonly string[] Comparisons = { "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual" };

    public static void Register(Dictionary<string, InferenceRule> r)
    {
        foreach (var op in Unary) r[op] = SameAsInput;
        foreach (var op in Broadcasting) r[op] = c => c.SetOutput(0, c.Type(0), BroadcastAll(c));
        foreach (var op in Comparisons) r[op] = c => c.SetOutput(0, (int)DT.Bool, BroadcastAll(c));
        r["IsNaN"] = c => c.SetOutput(0, (int)DT.Bool, c.Shape(0));
        r["IsInf"] = c => c.SetOutput(0, (int)DT.Bool, c.Shape(0));
        r["PRelu"] = c => c.SetOutput(0, c.Type(0), c.Shape(0));
        r["Where"] = c => c.SetOutput(0, c.Type(1) != 0 ? c.Type(1) : c.Type(2), Broadcast.Shapes(c.Shape(0), c.Shape(1), c.Shape(2)));
        r["Cast"] = c => c.SetOutput(0, (int)c.Int("to", 0), c.Shape(0));
        r["CastLike"] = c => c.SetOutput(0, c.Type(1), c.Shape(0));
        r["Dropout"] = Dropout;
        r["LayerNormalization"] = LayerNormalization;
    }

    private static void SameAsInput(NodeContext c)
    {
        c.SetOutput(0, c.Type(0), c.Shape(0));
    }

    private static Dim[]? BroadcastAll(NodeContext c)
    {
        var shapes = new Dim[]?[c.InputCount];
        for (int i = 0; i < shapes.Length; i++) shapes[i] = c.Shape(i);
        return Broadcast.Shapes(shapes);
    }

    private static void Dropout(NodeContext c)
    {
        c.SetOutput(0, c.Type(0), c.Shape(0));
        c.SetOutput(1, (int)DT.Bool, c.Shape(0));
    }

    private static void LayerNormalization(NodeContext c)
    {
        var x = c.Shape(0);
        c.SetOutput(0, c.Type(0), x);
        if (x is null) return;
        int axis = NodeContext.Axis(c.Int("axis", -1), x.Length);
        if (axis < 0) return;
        var stats = x.Select((d, i) => i < axis ? d : Dim.Of(1)).ToArray();
        int stash = (int)c.Int("stash_type", (int)DT.Float);
        c.SetOutput(1, stash, stats);
        c.SetOutput(2, stash, stats);
    }
}

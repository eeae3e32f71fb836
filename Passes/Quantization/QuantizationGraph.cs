using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Quantization;

/// <summary>Graph plumbing the quantization passes share.</summary>
internal static class QuantizationGraph
{
    /// <summary>The float32 data of a constant (initializer or Constant node), or null when the value is not a float32 constant.</summary>
    public static Tensor? ConstantFloat(Value? v)
    {
        if (v is null) return null;
        var t = v.IsConstant ? v.Initializer
            : v.Producer is { OpType: "Constant" } p && p.IsStandardDomain ? ConstantsToInitializers.ToTensor(p) : null;
        return t is not null && t.DataType == (int)DT.Float ? t : null;
    }

    /// <summary>
    /// Puts <paramref name="replacement"/> (built before <paramref name="old"/>) in place of the single output of
    /// <paramref name="old"/>: every use and graph output moves to it, it takes the old name and type, and the old node goes.
    /// </summary>
    public static void Replace(Node old, Value replacement)
    {
        var graph = old.Graph!;
        var y = old.Outputs[0];
        string name = y.Name;
        var info = y.Info;
        y.ReplaceAllUsesWith(replacement, includeGraphOutputs: true);
        graph.Remove(old);
        graph.ValueInfos.Remove(y);
        replacement.Name = name;
        if (info is not null) replacement.Info = info.Clone();
    }

    /// <summary>True when the node's op type or name is in <paramref name="keep"/>.</summary>
    public static bool Kept(Node n, IReadOnlyCollection<string> keep) => keep.Contains(n.OpType) || (n.Name.Length > 0 && keep.Contains(n.Name));

    /// <summary>Imports com.microsoft opset 1 when the model does not yet.</summary>
    public static void ImportMicrosoftDomain(Model model)
    {
        if (model.OpsetVersion("com.microsoft") is null) model.SetOpsetVersion("com.microsoft", 1);
    }
}

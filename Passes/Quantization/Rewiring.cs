using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>Small graph-editing steps shared by the quantization rewrites.</summary>
internal static class Rewiring
{
    /// <summary>
    /// Makes <paramref name="replacement"/> take the place of <paramref name="old"/>: every use and graph-output slot
    /// moves over, and the two swap names so the graph keeps its tensor names (outputs above all).
    /// </summary>
    public static void Replace(Value old, Value replacement)
    {
        old.ReplaceAllUsesWith(replacement, includeGraphOutputs: true);
        (old.Name, replacement.Name) = (replacement.Name, old.Name);
        if (old.Type is not null && replacement.Type is null) replacement.Type = old.Type.Clone();
    }

    /// <summary>The float32 initializer behind <paramref name="v"/> (a constant, not overridable as a graph input), or null.</summary>
    public static Tensor? ConstantFloat(Value? v) =>
        v is { IsConstant: true, Initializer: { DataType: (int)Schema.TensorProto.Types.DataType.Float } t } ? t : null;

    /// <summary>Removes <paramref name="v"/> when it is an initializer nothing reads any more.</summary>
    public static void DropIfUnused(Value? v)
    {
        if (v is { Initializer: not null, Uses.Count: 0, IsGraphOutput: false, IsGraphInput: false } && v.Graph is { } g) g.RemoveInitializer(v);
    }

    /// <summary>A float initializer with a fresh name.</summary>
    public static Value AddFloats(Graph g, string hint, long[] dims, float[] data) =>
        g.AddInitializer(new Value(g.Model!.Names.Fresh(hint)), Tensor.FromFloats("", dims, data));

    /// <summary>An initializer of <paramref name="t"/> with a fresh name.</summary>
    public static Value Add(Graph g, string hint, Tensor t) => g.AddInitializer(new Value(g.Model!.Names.Fresh(hint)), t);

    /// <summary>A hint for new names derived from a node.</summary>
    public static string Hint(Node n) => n.Name.Length > 0 ? n.Name : n.Outputs[0].Name;
}

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Infers one node's output types and shapes from what is known about its inputs.</summary>
internal delegate void InferenceRule(NodeContext c);

/// <summary>The type-and-shape rule of each supported standard-domain operator.</summary>
internal static class ShapeRules
{
    private static readonly Dictionary<string, InferenceRule> Rules = Build();

    /// <summary>The rule for <paramref name="opType"/>, when there is one.</summary>
    public static bool TryGet(string opType, out InferenceRule rule) => Rules.TryGetValue(opType, out rule!);

    /// <summary>Operators with a shape rule.</summary>
    public static IEnumerable<string> Supported => Rules.Keys;

    private static Dictionary<string, InferenceRule> Build()
    {
        var r = new Dictionary<string, InferenceRule>(StringComparer.Ordinal);
        ElementwiseShapes.Register(r);
        SpatialShapes.Register(r);
        LayoutShapes.Register(r);
        ReductionShapes.Register(r);
        IndexingShapes.Register(r);
        SourceShapes.Register(r);
        QuantizationShapes.Register(r);
        return r;
    }
}

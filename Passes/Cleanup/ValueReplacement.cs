using OnnxRev.Ir;

namespace OnnxRev.Passes.Cleanup;

/// <summary>Shared steps of the cleanup passes.</summary>
internal static class ValueReplacement
{
    /// <summary>
    /// Turns the value a node computes into an initializer holding <paramref name="tensor"/>, under
    /// the same name, and redirects every use (graph outputs included) to it. The node itself is
    /// left for the caller to remove.
    /// </summary>
    public static Value ReplaceWithInitializer(Graph graph, Value computed, Tensor tensor)
    {
        string name = computed.Name;
        computed.Name = graph.Model!.Names.Fresh(name + "_folded");
        var constant = new Value(name) { Info = computed.Info };
        graph.AddInitializer(constant, tensor);
        computed.ReplaceAllUsesWith(constant, includeGraphOutputs: true);
        int vi = graph.ValueInfos.IndexOf(computed);
        if (vi >= 0) graph.ValueInfos.RemoveAt(vi);
        return constant;
    }
}

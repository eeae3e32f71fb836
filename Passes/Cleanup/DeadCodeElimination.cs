using OnnxRev.Ir;

namespace OnnxRev.Passes.Cleanup;

/// <summary>
/// Removes nodes whose results nothing reads and initializers nothing reads (graph inputs stay:
/// they are the model's interface; initializers named by training-info bindings stay too), in every
/// graph and subgraph.
/// </summary>
public sealed class DeadCodeElimination : IPass
{
    /// <inheritdoc/>
    public string Name => "dead-code-elimination";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        int removed = GraphAlgorithms.RemoveDeadNodes(model.Graph);
        var bound = new HashSet<string>(model.Header.TrainingInfo.SelectMany(t => t.UpdateBinding.Concat(t.InitializationBinding)).SelectMany(b => new[] { b.Key, b.Value }));
        foreach (var graph in model.Graph.AllGraphs())
        {
            foreach (var v in graph.Initializers.ToList())
            {
                if (v.Uses.Count > 0 || graph.Outputs.Contains(v) || v.IsGraphInput || bound.Contains(v.Name)) continue;
                graph.RemoveInitializer(v);
                removed++;
            }
        }
        return new PassResult(model, removed > 0);
    }
}

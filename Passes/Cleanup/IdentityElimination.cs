using OnnxRev.Ir;

namespace OnnxRev.Passes.Cleanup;

/// <summary>
/// <c>x → Identity → y</c> becomes <c>x</c> wherever y is read. When y is a graph output, the
/// producer of x is renamed to y instead, so output names never change; an Identity whose input
/// is itself a graph input, initializer, outer-scope value or another output is kept (it is the
/// only way to give that value a second name).
/// </summary>
public sealed class IdentityElimination : IPass
{
    /// <inheritdoc/>
    public string Name => "identity-elimination";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        bool modified = false;
        foreach (var graph in model.Graph.AllGraphs().ToList())
        {
            foreach (var node in graph.Nodes.Where(n => n.IsStandardDomain && n.OpType == "Identity").ToList())
            {
                if (node.Inputs.Count != 1 || node.Inputs[0] is not { } x || node.Outputs.Count != 1) continue;
                var y = node.Outputs[0];
                if (!graph.Outputs.Contains(y))
                {
                    y.ReplaceAllUsesWith(x);
                    graph.Remove(node);
                    modified = true;
                    continue;
                }
                bool xRenamable = x.Producer is not null && ReferenceEquals(x.Graph, graph) && !graph.Outputs.Contains(x);
                if (!xRenamable) continue;
                string name = y.Name;
                y.Name = model.Names.Fresh(name + "_identity");
                y.ReplaceAllUsesWith(x, includeGraphOutputs: true);
                x.Name = name;
                if (x.Info is null) x.Info = y.Info;
                graph.ValueInfos.Remove(x); // now a graph output: its declaration is the output's, not a value_info entry
                graph.Remove(node);
                modified = true;
            }
        }
        return new PassResult(model, modified);
    }
}

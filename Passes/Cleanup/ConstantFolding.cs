using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Folding;

namespace OnnxRev.Passes.Cleanup;

/// <summary>
/// A node whose inputs are all constants (initializers that no graph input overrides) is computed
/// once, here, and replaced by initializers holding its outputs, under the same names. Standard
/// ops that <see cref="ConstantEvaluator"/> implements; nodes with subgraphs, random ops and
/// nodes whose results would be much larger than their inputs (Expand, Tile, ConstantOfShape
/// blowing a small shape up into a big tensor) are left alone, so the file never grows.
/// </summary>
public sealed class ConstantFolding : IPass
{
    /// <summary>Largest input the pass will load to fold one node.</summary>
    public const long MaxInputBytes = 64L << 20;

    /// <summary>Results may exceed the inputs by at most this many bytes.</summary>
    public const long MaxGrowthBytes = 1L << 20;

    /// <inheritdoc/>
    public string Name => "constant-folding";

    /// <summary>Nodes that could not be folded and why (last run), for --verbose reports.</summary>
    public List<(string Node, string Reason)> Declined { get; } = new();

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        Declined.Clear();
        int opset = (int)(model.OpsetVersion("") ?? 1);
        bool modified = false;
        foreach (var graph in model.Graph.AllGraphs().ToList())
        {
            foreach (var node in graph.Nodes.ToList())
            {
                if (!IsCandidate(node)) continue;
                long inBytes = node.Inputs.Sum(v => v?.Initializer?.ByteSize ?? 0);
                if (inBytes > MaxInputBytes) { Declined.Add((node.Describe(), "inputs too large to fold")); continue; }
                var inputs = new List<HostTensor?>(node.Inputs.Count);
                string? failure = null;
                foreach (var v in node.Inputs)
                {
                    if (v is null) { inputs.Add(null); continue; }
                    if (!HostTensor.TryFromProto(v.Initializer!.ToInlineProto(), out var t, out var why)) { failure = why; break; }
                    inputs.Add(t);
                }
                if (failure is not null) { Declined.Add((node.Describe(), failure)); continue; }
                if (!ConstantEvaluator.TryEvaluate(node.OpType, node.Domain, opset, inputs, node.Attributes.Select(a => a.Proto).ToList(), node.Outputs.Count, out var outputs, out failure))
                {
                    Declined.Add((node.Describe(), failure));
                    continue;
                }
                var protos = outputs.Select((o, i) => o.ToProto(node.Outputs[i].Name)).ToList();
                long outBytes = protos.Sum(p => new Tensor(p).ByteSize);
                if (outBytes > inBytes + MaxGrowthBytes) { Declined.Add((node.Describe(), $"result of {outBytes} bytes would grow the model")); continue; }
                for (int i = 0; i < protos.Count; i++)
                {
                    var output = node.Outputs[i];
                    if (output.Name.Length == 0) continue;
                    ValueReplacement.ReplaceWithInitializer(graph, output, new Tensor(protos[i]));
                }
                graph.Remove(node);
                modified = true;
            }
        }
        return new PassResult(model, modified);
    }

    private static bool IsCandidate(Node node) =>
        node.IsStandardDomain
        && node.OpType != "Constant"
        && node.Inputs.Any(v => v is not null)
        && node.Inputs.All(v => v is null || (v.IsConstant && v.Initializer is not null))
        && !node.Attributes.Any(a => a.AllGraphs.Count > 0)
        && ConstantEvaluator.Supports(node.OpType, node.Domain);
}

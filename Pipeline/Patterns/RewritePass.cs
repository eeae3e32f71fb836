using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes;

namespace OnnxRev.Patterns;

/// <summary>
/// Applies rewrite rules everywhere they match (subgraphs included) until none matches. Replaced
/// graph outputs keep their names, so the model's interface never changes. Failed matches are
/// recorded with their reasons for debugging.
/// </summary>
public sealed class RewritePass : IPass
{
    private readonly IReadOnlyList<RewriteRule> _rules;
    private readonly int _maxRounds;

    /// <summary>Creates a pass from rules.</summary>
    public RewritePass(string name, IReadOnlyList<RewriteRule> rules, int maxRounds = 50)
    {
        Name = name;
        _rules = rules;
        _maxRounds = maxRounds;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Why rules did not match in the last run: (rule, node, reason).</summary>
    public List<(string Rule, string Node, string Reason)> FailedMatches { get; } = new();

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        FailedMatches.Clear();
        bool modified = false;
        for (int round = 0; round < _maxRounds; round++)
        {
            bool changed = false;
            foreach (var graph in model.Graph.AllGraphs().ToList())
                changed |= RunOnGraph(graph);
            modified |= changed;
            if (!changed) break;
        }
        return new PassResult(model, modified);
    }

    private bool RunOnGraph(Graph graph)
    {
        bool changed = false;
        foreach (var node in graph.Nodes.ToList())
        {
            if (!ReferenceEquals(node.Graph, graph)) continue; // removed by an earlier rewrite
            foreach (var rule in _rules)
            {
                if (rule.Root != node.Key) continue;
                var result = rule.Match(node, out var match);
                if (!result.Success || match is null)
                {
                    FailedMatches.Add((rule.Name, node.Describe(), result.Reason ?? "no reason given"));
                    continue;
                }
                Apply(graph, rule, match);
                changed = true;
                break;
            }
        }
        return changed;
    }

    /// <summary>Runs one rule's rewrite for a match and replaces the root's outputs.</summary>
    public static void Apply(Graph graph, RewriteRule rule, Match match)
    {
        var root = match.Root;
        var builder = new GraphBuilder(graph, root);
        var replacements = rule.Rewrite(match, builder);
        if (replacements.Count != root.Outputs.Count)
            throw new InvalidOperationException($"rule {rule.Name} returned {replacements.Count} values for {root.Outputs.Count} outputs of {root.Describe()}");
        var created = new HashSet<Node>(builder.Created);
        for (int i = 0; i < replacements.Count; i++)
            ReplaceValue(graph, root.Outputs[i], replacements[i], created);
        RemoveUnused(graph, match.Nodes);
    }

    /// <summary>
    /// Redirects every use of <paramref name="old"/> to <paramref name="replacement"/>. When
    /// <paramref name="old"/> is a graph output, the output keeps its name: a replacement made by
    /// this rewrite takes the name over, any other value is copied into it by an Identity node.
    /// </summary>
    public static void ReplaceValue(Graph graph, Value old, Value replacement, IReadOnlySet<Node>? createdNodes = null)
    {
        if (ReferenceEquals(old, replacement)) return;
        old.ReplaceAllUsesWith(replacement);
        if (!graph.Outputs.Contains(old)) return;
        string name = old.Name;
        bool canRename = replacement.Producer is not null && createdNodes is not null && createdNodes.Contains(replacement.Producer)
                         && !graph.Outputs.Contains(replacement);
        Value output;
        if (canRename)
        {
            old.Name = graph.Model!.Names.Fresh(name + "_replaced");
            replacement.Name = name;
            output = replacement;
        }
        else
        {
            old.Name = graph.Model!.Names.Fresh(name + "_replaced");
            output = new Value(name);
            graph.Append(new Node("Identity", new[] { replacement }, new[] { output }, name: graph.Model.Names.Fresh(name + "_identity")));
        }
        output.Info ??= old.Info;
        for (int i = 0; i < graph.Outputs.Count; i++)
            if (ReferenceEquals(graph.Outputs[i], old)) graph.Outputs[i] = output;
    }

    private static void RemoveUnused(Graph graph, IEnumerable<Node> candidates)
    {
        var pending = candidates.Where(n => ReferenceEquals(n.Graph, graph)).ToList();
        bool progress = true;
        while (progress && pending.Count > 0)
        {
            progress = false;
            foreach (var n in pending.ToList())
            {
                if (n.Outputs.Any(o => o.Uses.Count > 0 || graph.Outputs.Contains(o))) continue;
                graph.Remove(n);
                pending.Remove(n);
                progress = true;
            }
        }
    }
}

namespace OnnxRev.Ir;

/// <summary>Whole-graph algorithms: dependency order, cycle detection, dead-code removal.</summary>
public static class GraphAlgorithms
{
    /// <summary>
    /// The nodes of <paramref name="graph"/> that <paramref name="node"/> depends on: producers of its
    /// inputs and of every outer value its subgraphs read.
    /// </summary>
    public static IEnumerable<Node> Predecessors(Graph graph, Node node)
    {
        foreach (var v in node.Inputs)
            if (v?.Producer is { } p && ReferenceEquals(p.Graph, graph)) yield return p;
        foreach (var sub in node.Subgraphs)
            foreach (var v in CapturedValues(sub))
                if (v.Producer is { } p && ReferenceEquals(p.Graph, graph)) yield return p;
    }

    /// <summary>Values read inside <paramref name="sub"/> (at any depth) that are defined outside it.</summary>
    public static IEnumerable<Value> CapturedValues(Graph sub)
    {
        var inside = new HashSet<Graph>(sub.AllGraphs());
        foreach (var g in inside)
        {
            foreach (var n in g.Nodes)
                foreach (var v in n.Inputs)
                    if (v is not null && v.Graph is not null && !inside.Contains(v.Graph)) yield return v;
            foreach (var v in g.Outputs)
                if (v.Graph is not null && !inside.Contains(v.Graph)) yield return v;
        }
    }

    /// <summary>
    /// Puts the nodes of the graph (and of every subgraph) in dependency order, keeping the current
    /// order wherever it is already valid. Throws <see cref="OnnxRevException"/> naming a node on a
    /// cycle when there is one.
    /// </summary>
    public static void SortTopologically(Graph graph)
    {
        graph.ReplaceOrder(TopologicalOrder(graph));
        foreach (var n in graph.Nodes)
            foreach (var sub in n.Subgraphs) SortTopologically(sub);
    }

    /// <summary>True when the graph's nodes (not its subgraphs') are already in dependency order.</summary>
    public static bool IsTopologicallySorted(Graph graph)
    {
        var seen = new HashSet<Node>();
        foreach (var n in graph.Nodes)
        {
            foreach (var p in Predecessors(graph, n))
                if (!seen.Contains(p)) return false;
            seen.Add(n);
        }
        return true;
    }

    private static List<Node> TopologicalOrder(Graph graph)
    {
        var nodes = graph.Nodes;
        var index = new Dictionary<Node, int>(nodes.Count);
        for (int i = 0; i < nodes.Count; i++) index[nodes[i]] = i;
        var pending = new int[nodes.Count];
        var successors = new List<int>[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            foreach (var p in Predecessors(graph, nodes[i]).Distinct())
            {
                int j = index[p];
                (successors[j] ??= new List<int>()).Add(i);
                pending[i]++;
            }
        }
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < nodes.Count; i++) if (pending[i] == 0) ready.Enqueue(i, i);
        var order = new List<Node>(nodes.Count);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(nodes[i]);
            if (successors[i] is null) continue;
            foreach (int s in successors[i])
                if (--pending[s] == 0) ready.Enqueue(s, s);
        }
        if (order.Count != nodes.Count)
        {
            var stuck = nodes.First(n => pending[index[n]] > 0);
            throw new OnnxRevException($"graph '{graph.Name}' has a cycle through {stuck.Describe()}");
        }
        return order;
    }

    /// <summary>The node of <paramref name="graph"/> that is <paramref name="node"/> or holds it in a subgraph, or null.</summary>
    public static Node? AncestorIn(Graph graph, Node node)
    {
        for (Node? n = node; n is not null; n = n.Graph?.ParentNode)
            if (ReferenceEquals(n.Graph, graph)) return n;
        return null;
    }

    /// <summary>
    /// Removes nodes whose outputs nothing reads (no uses, not graph outputs), in this graph and its
    /// subgraphs, repeatedly. Returns how many nodes were removed.
    /// </summary>
    public static int RemoveDeadNodes(Graph graph)
    {
        int removed = 0;
        foreach (var n in graph.Nodes)
            foreach (var sub in n.Subgraphs) removed += RemoveDeadNodes(sub);
        var outputs = new HashSet<Value>(graph.Outputs);
        while (true)
        {
            // One backward sweep finds whole dead chains when the graph is in order; repeat for the rest.
            var dead = new HashSet<Node>();
            for (int i = graph.Nodes.Count - 1; i >= 0; i--)
            {
                var n = graph.Nodes[i];
                if (n.Outputs.All(o => !outputs.Contains(o) && o.Uses.All(u => dead.Contains(AncestorIn(graph, u.Node)!))))
                    dead.Add(n);
            }
            if (dead.Count == 0) break;
            graph.RemoveNodes(dead);
            removed += dead.Count;
        }
        return removed;
    }
}

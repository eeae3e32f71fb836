using OnnxRev.Ir;

namespace OnnxRev.Building;

/// <summary>
/// Emits standard ONNX nodes into a graph at a fixed position (before an anchor node, or at the
/// end), giving every new value and node a fresh model-unique name.
/// </summary>
public sealed class GraphBuilder
{
    private readonly Graph _graph;
    private readonly Node? _anchor;
    private readonly NameAuthority _names;
    private readonly List<Node> _created = new();

    /// <summary>Creates a builder that inserts before <paramref name="insertBefore"/> (or appends when null).</summary>
    public GraphBuilder(Graph graph, Node? insertBefore = null)
    {
        _graph = graph;
        _anchor = insertBefore;
        _names = graph.Model?.Names ?? throw new InvalidOperationException($"graph '{graph.Name}' is not part of a model");
    }

    /// <summary>The graph being built into.</summary>
    public Graph Graph => _graph;

    /// <summary>Nodes created so far, in order.</summary>
    public IReadOnlyList<Node> Created => _created;

    /// <summary>A fresh value name derived from <paramref name="hint"/>.</summary>
    public string FreshName(string hint) => _names.Fresh(hint);

    /// <summary>Adds a node with one output and returns that output.</summary>
    public Value Op(string opType, IEnumerable<Value?> inputs, IEnumerable<Ir.Attribute>? attributes = null, string domain = "", string? hint = null) =>
        Ops(opType, inputs, 1, attributes, domain, hint)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs.</summary>
    public Value[] Ops(string opType, IEnumerable<Value?> inputs, int outputCount, IEnumerable<Ir.Attribute>? attributes = null, string domain = "", string? hint = null)
    {
        string baseName = hint ?? opType.ToLowerInvariant();
        var outputs = Enumerable.Range(0, outputCount).Select(i => new Value(_names.Fresh(outputCount == 1 ? baseName : $"{baseName}_out{i}"))).ToArray();
        var node = new Node(opType, inputs, outputs, domain, _names.Fresh($"{baseName}_node"));
        if (attributes is not null) node.Attributes.AddRange(attributes);
        _graph.InsertBefore(_anchor, node);
        _created.Add(node);
        return outputs;
    }

    /// <summary>Adds an initializer holding <paramref name="tensor"/> under a fresh name.</summary>
    public Value Initializer(Tensor tensor, string hint = "const") => _graph.AddInitializer(new Value(_names.Fresh(hint)), tensor);
}

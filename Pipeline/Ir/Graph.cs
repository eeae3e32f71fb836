using OnnxRev.Schema;

namespace OnnxRev.Ir;

/// <summary>
/// A graph: inputs, initializers, nodes in order, outputs. Subgraphs of If/Loop/Scan are graphs
/// whose <see cref="ParentNode"/> is the node holding them; their nodes may read values of outer
/// graphs. Fields the IR does not model (sparse initializers' protos, quantization annotations,
/// metadata, unknown fields) travel in <see cref="Extras"/>.
/// </summary>
public sealed class Graph
{
    private readonly List<Node> _nodes = new();
    private readonly List<Value> _initializers = new();

    /// <summary>Creates an empty graph.</summary>
    public Graph(string name = "") => Name = name;

    /// <summary>Graph name.</summary>
    public string Name { get; set; }

    /// <summary>The node whose attribute holds this graph, for subgraphs.</summary>
    public Node? ParentNode { get; internal set; }

    /// <summary>The enclosing graph, for subgraphs.</summary>
    public Graph? Parent => ParentNode?.Graph;

    /// <summary>The model this graph belongs to (set on the main graph; subgraphs reach it through their parent).</summary>
    public Model? Model { get => _model ?? Parent?.Model; internal set => _model = value; }
    private Model? _model;

    /// <summary>Graph inputs in order.</summary>
    public ValueList Inputs { get; } = new();

    /// <summary>Graph outputs in order (any value visible in this graph, including inputs and initializers).</summary>
    public ValueList Outputs { get; } = new();

    /// <summary>The output declarations (name, type, doc string) as read, by output name; written back for outputs of that name.</summary>
    public Dictionary<string, ValueInfoProto> OutputDeclarations { get; } = new(StringComparer.Ordinal);

    /// <summary>Values with a value_info record, in file order (inputs and outputs excluded).</summary>
    public List<Value> ValueInfos { get; } = new();

    /// <summary>value_info records naming no value of this graph, kept as read so nothing is lost.</summary>
    public List<ValueInfoProto> OrphanValueInfos { get; } = new();

    /// <summary>name, doc string, metadata, quantization annotations and unknown fields of the original GraphProto.</summary>
    public GraphProto Extras { get; set; } = new();

    /// <summary>Nodes in order (topological once <see cref="GraphAlgorithms.SortTopologically"/> has run, and as written by producers that follow the spec).</summary>
    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>Initializers (dense and sparse) in file order.</summary>
    public IReadOnlyList<Value> Initializers => _initializers;

    internal bool InputsContains(Value v) => Inputs.Contains(v);

    internal bool OutputsContains(Value v) => Outputs.Contains(v);

    /// <summary>Appends a graph input (a value no node produces) and returns it.</summary>
    public Value AddInput(Value value)
    {
        if (value.Producer is not null) throw new InvalidOperationException($"'{value.Name}' is a node output and cannot be a graph input");
        value.Graph = this;
        Inputs.Add(value);
        Model?.Names.Reserve(value.Name);
        return value;
    }

    /// <summary>Adds an initializer value holding <paramref name="tensor"/>; the tensor takes the value's name.</summary>
    public Value AddInitializer(Value value, Tensor tensor)
    {
        if (value.Producer is not null) throw new InvalidOperationException($"'{value.Name}' is a node output and cannot be an initializer");
        tensor.Name = value.Name;
        value.Initializer = tensor;
        value.Graph = this;
        _initializers.Add(value);
        Model?.Names.Reserve(value.Name);
        return value;
    }

    internal void AddSparseInitializer(Value value, SparseTensorProto sparse)
    {
        value.SparseInitializer = sparse;
        value.Graph = this;
        _initializers.Add(value);
    }

    /// <summary>
    /// Turns an initializer into a graph input of the same name, type and shape (its uses stay);
    /// returns the tensor it held. Training graphs do this to parameters so they can be fed each step.
    /// </summary>
    public Tensor PromoteInitializerToInput(Value value)
    {
        var tensor = value.Initializer ?? throw new InvalidOperationException($"'{value.Name}' is not an initializer");
        _initializers.Remove(value);
        value.Initializer = null;
        var shape = new Schema.TensorShapeProto();
        foreach (var d in tensor.Dims) shape.Dim.Add(new Schema.TensorShapeProto.Types.Dimension { DimValue = d });
        value.Type = new Schema.TypeProto { TensorType = new Schema.TypeProto.Types.Tensor { ElemType = tensor.DataType, Shape = shape } };
        if (!Inputs.Contains(value)) Inputs.Add(value);
        return tensor;
    }

    /// <summary>Replaces the data of an initializer (same name; type and shape may change).</summary>
    public void ReplaceInitializer(Value value, Tensor tensor)
    {
        if (value.Initializer is null || !_initializers.Contains(value)) throw new InvalidOperationException($"'{value.Name}' is not an initializer of graph '{Name}'");
        tensor.Name = value.Name;
        value.Initializer = tensor;
    }

    /// <summary>Removes an initializer; its value must have no uses.</summary>
    public void RemoveInitializer(Value value)
    {
        if (value.Uses.Count > 0) throw new InvalidOperationException($"initializer '{value.Name}' is still used by {value.Uses[0].Node.Describe()}");
        _initializers.Remove(value);
        value.Initializer = null;
        value.SparseInitializer = null;
        if (!Inputs.Contains(value)) value.Graph = null;
    }

    /// <summary>Appends a node.</summary>
    public Node Append(Node node) => Insert(_nodes.Count, node);

    /// <summary>Inserts a node before <paramref name="anchor"/> (or appends when null).</summary>
    public Node InsertBefore(Node? anchor, Node node) => Insert(anchor is null ? _nodes.Count : IndexOf(anchor), node);

    /// <summary>Inserts a node after <paramref name="anchor"/>.</summary>
    public Node InsertAfter(Node anchor, Node node) => Insert(IndexOf(anchor) + 1, node);

    private int IndexOf(Node anchor)
    {
        int i = _nodes.IndexOf(anchor);
        if (i < 0) throw new InvalidOperationException($"{anchor.Describe()} is not in graph '{Name}'");
        return i;
    }

    private Node Insert(int index, Node node)
    {
        if (node.Graph is not null) throw new InvalidOperationException($"{node.Describe()} already belongs to graph '{node.Graph.Name}'");
        node.Graph = this;
        foreach (var o in node.Outputs) o.Graph = this;
        foreach (var g in node.Subgraphs) g.ParentNode = node;
        _nodes.Insert(index, node);
        var names = Model?.Names;
        if (names is not null)
        {
            if (node.Name.Length > 0) names.Reserve(node.Name);
            foreach (var o in node.Outputs) if (o.Name.Length > 0) names.Reserve(o.Name);
        }
        return node;
    }

    /// <summary>
    /// Removes nodes. Their inputs are disconnected; their outputs must have no remaining uses
    /// outside the removed set and must not be graph outputs.
    /// </summary>
    public void RemoveNodes(IEnumerable<Node> nodes)
    {
        var set = new HashSet<Node>(nodes);
        if (set.Count == 0) return;
        foreach (var n in set)
        {
            if (!ReferenceEquals(n.Graph, this)) throw new InvalidOperationException($"{n.Describe()} is not in graph '{Name}'");
            foreach (var o in n.Outputs)
            {
                if (Outputs.Contains(o)) throw new InvalidOperationException($"cannot remove {n.Describe()}: '{o.Name}' is a graph output");
                foreach (var u in o.Uses)
                    if (!set.Contains(u.Node) && !IsInsideAny(u.Node, set))
                        throw new InvalidOperationException($"cannot remove {n.Describe()}: '{o.Name}' is still used by {u.Node.Describe()}");
            }
        }
        foreach (var n in set) DetachRecursive(n);
        _nodes.RemoveAll(set.Contains);
        foreach (var n in set) n.Graph = null;
        ValueInfos.RemoveAll(v => v.Producer is not null && set.Contains(v.Producer));
    }

    /// <summary>Removes one node (see <see cref="RemoveNodes"/>).</summary>
    public void Remove(Node node) => RemoveNodes(new[] { node });

    private static bool IsInsideAny(Node user, HashSet<Node> set)
    {
        for (var g = user.Graph; g?.ParentNode is not null; g = g.ParentNode.Graph)
            if (set.Contains(g.ParentNode)) return true;
        return false;
    }

    private static void DetachRecursive(Node n)
    {
        foreach (var g in n.Subgraphs)
            foreach (var inner in g.Nodes) DetachRecursive(inner);
        n.DetachInputs();
    }

    /// <summary>Reorders nodes to <paramref name="order"/>, which must be a permutation of <see cref="Nodes"/>.</summary>
    internal void ReplaceOrder(IReadOnlyList<Node> order)
    {
        if (order.Count != _nodes.Count) throw new InvalidOperationException("reorder must keep every node");
        _nodes.Clear();
        _nodes.AddRange(order);
    }

    /// <summary>This graph's nodes and, depth first, the nodes of all its subgraphs.</summary>
    public IEnumerable<Node> AllNodes()
    {
        foreach (var n in _nodes)
        {
            yield return n;
            foreach (var g in n.Subgraphs)
                foreach (var inner in g.AllNodes()) yield return inner;
        }
    }

    /// <summary>This graph and all nested subgraphs.</summary>
    public IEnumerable<Graph> AllGraphs()
    {
        yield return this;
        foreach (var n in _nodes)
            foreach (var g in n.Subgraphs)
                foreach (var inner in g.AllGraphs()) yield return inner;
    }

    /// <inheritdoc/>
    public override string ToString() => $"graph '{Name}' ({_nodes.Count} nodes)";
}

/// <summary>An ordered list of graph inputs or outputs.</summary>
public sealed class ValueList : List<Value>
{
    /// <summary>The value called <paramref name="name"/>, or null.</summary>
    public Value? Find(string name) => Find(v => v.Name == name);
}

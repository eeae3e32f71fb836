using OnnxRev.Schema;

namespace OnnxRev.Ir;

/// <summary>One use of a value: <see cref="Node"/> reads it as its input number <see cref="InputIndex"/>.</summary>
public readonly record struct Usage(Node Node, int InputIndex);

/// <summary>
/// A named SSA value of a graph: a graph input, an initializer, or a node output. It knows its
/// producer and every use, including uses by nodes inside subgraphs that capture it from an
/// outer scope.
/// </summary>
public sealed class Value
{
    private readonly List<Usage> _uses = new();
    private ValueInfoProto? _info;

    /// <summary>Creates a detached value. Add it to a graph by making it a node output, input or initializer.</summary>
    public Value(string name, TypeProto? type = null)
    {
        Name = name;
        if (type is not null) Type = type;
    }

    /// <summary>The value's name; names are unique across a model and its subgraphs. Empty for an omitted optional output.</summary>
    public string Name { get; set; }

    /// <summary>The node that computes this value, or null for graph inputs and initializers.</summary>
    public Node? Producer { get; internal set; }

    /// <summary>Which output of <see cref="Producer"/> this value is.</summary>
    public int ProducerOutputIndex { get; internal set; }

    /// <summary>The graph that defines this value (producer's graph, or the graph whose input or initializer it is).</summary>
    public Graph? Graph { get; internal set; }

    /// <summary>Every node input that reads this value, in no particular order.</summary>
    public IReadOnlyList<Usage> Uses => _uses;

    /// <summary>Type and shape, when known (from the model's inputs, outputs or value_info).</summary>
    public TypeProto? Type
    {
        get => _info?.Type;
        set
        {
            if (value is null) { if (_info is not null) _info.Type = null; return; }
            _info ??= new ValueInfoProto();
            _info.Type = value;
        }
    }

    /// <summary>
    /// The value_info record (type, doc string, metadata, unknown fields) as read; its name field is
    /// ignored in favour of <see cref="Name"/>.
    /// </summary>
    public ValueInfoProto? Info { get => _info; set => _info = value; }

    /// <summary>The constant data of this value when it is an initializer of its graph.</summary>
    public Tensor? Initializer { get; internal set; }

    /// <summary>The sparse initializer of this value, kept as read.</summary>
    public SparseTensorProto? SparseInitializer { get; internal set; }

    /// <summary>True when this value is an input of its graph.</summary>
    public bool IsGraphInput => Graph is not null && Graph.InputsContains(this);

    /// <summary>True when this value is an output of the graph that defines it.</summary>
    public bool IsGraphOutput => Graph is not null && Graph.OutputsContains(this);

    /// <summary>True for initializers that are not also graph inputs (a graph input may override them).</summary>
    public bool IsConstant => (Initializer is not null || SparseInitializer is not null) && !IsGraphInput;

    /// <summary>Element type (TensorProto.DataType) when this value is a tensor of known type; 0 otherwise.</summary>
    public int ElementType => Initializer?.DataType ?? Type?.TensorType?.ElemType ?? 0;

    /// <summary>Static shape: one entry per dimension, null for unknown or symbolic dimensions; null when the rank is unknown.</summary>
    public long?[]? Shape
    {
        get
        {
            if (Initializer is not null) return Initializer.Dims.Select(d => (long?)d).ToArray();
            var shape = Type?.TensorType?.Shape;
            if (Type?.TensorType is null || shape is null) return null;
            return shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? (long?)d.DimValue : null).ToArray();
        }
    }

    internal void AddUse(Node node, int index) => _uses.Add(new Usage(node, index));

    internal void RemoveUse(Node node, int index)
    {
        for (int i = 0; i < _uses.Count; i++)
        {
            if (ReferenceEquals(_uses[i].Node, node) && _uses[i].InputIndex == index) { _uses.RemoveAt(i); return; }
        }
        throw new InvalidOperationException($"value '{Name}' has no use by node '{node.Name}' input {index}");
    }

    /// <summary>
    /// Redirects every use of this value to <paramref name="replacement"/>. Graph outputs that are
    /// this value are redirected too when <paramref name="includeGraphOutputs"/> is set.
    /// </summary>
    public void ReplaceAllUsesWith(Value replacement, bool includeGraphOutputs = false)
    {
        if (ReferenceEquals(replacement, this)) return;
        foreach (var use in _uses.ToArray()) use.Node.SetInput(use.InputIndex, replacement);
        if (includeGraphOutputs && Graph is not null)
        {
            var outputs = Graph.Outputs;
            for (int i = 0; i < outputs.Count; i++)
                if (ReferenceEquals(outputs[i], this)) outputs[i] = replacement;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Name.Length == 0 ? "<omitted>" : Name;
}

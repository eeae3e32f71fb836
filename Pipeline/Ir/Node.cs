using OnnxRev.Schema;

namespace OnnxRev.Ir;

/// <summary>
/// One operator application. Inputs are values (null for an omitted optional input); outputs are
/// values this node produces. Fields the IR does not model (doc string, metadata, unknown
/// protobuf fields) travel in <see cref="Extras"/> and are written back unchanged.
/// </summary>
public sealed class Node
{
    private readonly List<Value?> _inputs = new();
    private readonly List<Value> _outputs = new();

    /// <summary>Creates a node; inputs are wired to their values' use lists immediately.</summary>
    public Node(string opType, IEnumerable<Value?> inputs, IEnumerable<Value> outputs, string domain = "", string name = "")
    {
        OpType = opType;
        Domain = domain;
        Name = name;
        foreach (var v in inputs) AddInput(v);
        foreach (var v in outputs) AddOutput(v);
    }

    /// <summary>Operator name, e.g. "Conv".</summary>
    public string OpType { get; set; }

    /// <summary>Operator domain; "" (or "ai.onnx") is the standard domain.</summary>
    public string Domain { get; set; }

    /// <summary>Function overload identifier (IR 10), usually empty.</summary>
    public string Overload { get; set; } = "";

    /// <summary>Node name (may be empty in the file).</summary>
    public string Name { get; set; }

    /// <summary>The graph this node belongs to, once added.</summary>
    public Graph? Graph { get; internal set; }

    /// <summary>Attributes in file order.</summary>
    public AttributeList Attributes { get; } = new();

    /// <summary>doc_string, metadata_props and unknown fields of the original NodeProto.</summary>
    public NodeProto Extras { get; set; } = new();

    /// <summary>Inputs in order; null marks an omitted optional input.</summary>
    public IReadOnlyList<Value?> Inputs => _inputs;

    /// <summary>Outputs in order.</summary>
    public IReadOnlyList<Value> Outputs => _outputs;

    /// <summary>True for the standard ai.onnx domain.</summary>
    public bool IsStandardDomain => Domain.Length == 0 || Domain == "ai.onnx";

    /// <summary>Operator key for registries and rewrite rules.</summary>
    public OpKey Key => new(IsStandardDomain ? "" : Domain, OpType);

    /// <summary>Appends an input.</summary>
    public void AddInput(Value? value)
    {
        _inputs.Add(value);
        value?.AddUse(this, _inputs.Count - 1);
    }

    /// <summary>Replaces input <paramref name="index"/>, keeping use lists consistent.</summary>
    public void SetInput(int index, Value? value)
    {
        var old = _inputs[index];
        old?.RemoveUse(this, index);
        _inputs[index] = value;
        value?.AddUse(this, index);
    }

    /// <summary>Drops trailing inputs from <paramref name="count"/> on.</summary>
    public void TruncateInputs(int count)
    {
        for (int i = _inputs.Count - 1; i >= count; i--)
        {
            _inputs[i]?.RemoveUse(this, i);
            _inputs.RemoveAt(i);
        }
    }

    /// <summary>Appends an output; the value must not already have a producer.</summary>
    public void AddOutput(Value value)
    {
        if (value.Producer is not null)
            throw new InvalidOperationException($"value '{value.Name}' is already produced by node '{value.Producer.Name}'");
        _outputs.Add(value);
        value.Producer = this;
        value.ProducerOutputIndex = _outputs.Count - 1;
        value.Graph = Graph;
    }

    /// <summary>Disconnects all inputs (used when a node is removed).</summary>
    internal void DetachInputs()
    {
        for (int i = 0; i < _inputs.Count; i++) _inputs[i]?.RemoveUse(this, i);
        _inputs.Clear();
    }

    /// <summary>Graphs held by this node's attributes (If branches, Loop/Scan bodies).</summary>
    public IEnumerable<Graph> Subgraphs => Attributes.SelectMany(a => a.AllGraphs);

    /// <summary>A short description for messages: name and op type.</summary>
    public string Describe() => Name.Length > 0 ? $"node '{Name}' ({OpType})" : $"unnamed {OpType} node producing '{(Outputs.Count > 0 ? Outputs[0].Name : "")}'";

    /// <inheritdoc/>
    public override string ToString() => Describe();
}

/// <summary>Operator identity: domain ("" for ai.onnx) and op type.</summary>
public readonly record struct OpKey(string Domain, string OpType)
{
    /// <summary>A standard-domain key.</summary>
    public static OpKey Onnx(string opType) => new("", opType);

    /// <inheritdoc/>
    public override string ToString() => Domain.Length == 0 ? OpType : $"{Domain}.{OpType}";
}

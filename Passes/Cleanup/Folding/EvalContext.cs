using OnnxRev.Schema;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>One node evaluation as a kernel sees it: inputs, attributes, opset and the node's output count.</summary>
internal sealed class EvalContext
{
    private readonly Dictionary<string, AttributeProto> attributes = new(StringComparer.Ordinal);

    public EvalContext(string opType, int opset, IReadOnlyList<HostTensor?> inputs, IReadOnlyList<AttributeProto> attrs, int outputCount)
    {
        OpType = opType;
        Opset = opset;
        Inputs = inputs;
        OutputCount = outputCount;
        foreach (AttributeProto a in attrs)
        {
            if (!string.IsNullOrEmpty(a.RefAttrName))
                throw new FoldDeclinedException($"attribute '{a.Name}' refers to a function attribute");
            attributes[a.Name] = a;
        }
    }

    /// <summary>The operator name.</summary>
    public string OpType { get; }

    /// <summary>The ai.onnx opset version the node is evaluated under.</summary>
    public int Opset { get; }

    /// <summary>The inputs; null marks an omitted optional input.</summary>
    public IReadOnlyList<HostTensor?> Inputs { get; }

    /// <summary>How many outputs the node has, or -1 when the caller did not say.</summary>
    public int OutputCount { get; }

    /// <summary>A required input; declines when it is missing.</summary>
    public HostTensor Input(int index) =>
        OptionalInput(index) ?? throw new FoldDeclinedException($"required input {index} is missing");

    /// <summary>An optional input, or null when omitted.</summary>
    public HostTensor? OptionalInput(int index) => index < Inputs.Count ? Inputs[index] : null;

    /// <summary>All present inputs (variadic operators); declines on an omitted one.</summary>
    public IReadOnlyList<HostTensor> AllInputs()
    {
        if (Inputs.Count == 0) throw new FoldDeclinedException("the node has no inputs");
        return Enumerable.Range(0, Inputs.Count).Select(Input).ToArray();
    }

    /// <summary>True when the attribute is present.</summary>
    public bool Has(string name) => attributes.ContainsKey(name);

    /// <summary>An int attribute or its default.</summary>
    public long Int(string name, long fallback) => attributes.TryGetValue(name, out var a) ? a.I : fallback;

    /// <summary>A required int attribute.</summary>
    public long Int(string name) =>
        attributes.TryGetValue(name, out var a) ? a.I : throw new FoldDeclinedException($"attribute '{name}' is missing");

    /// <summary>A float attribute or its default.</summary>
    public float Float(string name, float fallback) => attributes.TryGetValue(name, out var a) ? a.F : fallback;

    /// <summary>An ints attribute, or null when absent.</summary>
    public long[]? Ints(string name) => attributes.TryGetValue(name, out var a) ? [.. a.Ints] : null;

    /// <summary>A tensor attribute, or null when absent.</summary>
    public TensorProto? Tensor(string name) => attributes.TryGetValue(name, out var a) ? a.T : null;

    /// <summary>Declines when the tensor's type is not one of <paramref name="allowed"/>.</summary>
    public static void RequireType(HostTensor t, string what, params int[] allowed)
    {
        if (!allowed.Contains(t.DataType))
            throw new FoldDeclinedException($"{what} does not take {OnnxDataType.Name(t.DataType)} tensors");
    }

    /// <summary>Declines when the tensors do not share one element type.</summary>
    public void RequireSameType(IReadOnlyList<HostTensor> tensors)
    {
        if (tensors.Any(t => t.DataType != tensors[0].DataType))
            throw new FoldDeclinedException($"'{OpType}' inputs have mixed types {string.Join(", ", tensors.Select(t => OnnxDataType.Name(t.DataType)))}");
    }
}

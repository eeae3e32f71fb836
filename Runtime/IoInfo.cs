namespace OnnxRev.Runtime;

/// <summary>The ONNX type category of a model input or output.</summary>
public enum ValueKind
{
    /// <summary>A tensor.</summary>
    Tensor,
    /// <summary>A sequence (of tensors or other values).</summary>
    Sequence,
    /// <summary>An optional value.</summary>
    Optional,
    /// <summary>A map (not supported as a <see cref="DataValue"/>).</summary>
    Map,
}

/// <summary>
/// Describes one model input or output as ONNX Runtime sees it.
/// </summary>
/// <param name="Name">The graph input/output name.</param>
/// <param name="Kind">Tensor, sequence, optional or map.</param>
/// <param name="ElementType">
/// The ONNX <c>TensorProto.DataType</c> of the innermost tensor (for a map: of its values); 0 when unknown.
/// </param>
/// <param name="Shape">
/// The innermost tensor's shape: a fixed size, or null for a symbolic or unknown dimension.
/// </param>
/// <param name="DimNames">For each dimension, its symbolic name, or null when it is fixed or unnamed.</param>
/// <param name="Element">For a sequence or optional, the description of its element; otherwise null.</param>
public sealed record IoInfo(
    string Name,
    ValueKind Kind,
    int ElementType,
    long?[] Shape,
    string?[] DimNames,
    IoInfo? Element)
{
    /// <summary>A readable type such as <c>tensor(float)[N,3]</c> or <c>sequence(tensor(int64)[?])</c>.</summary>
    public string TypeString => Kind switch
    {
        ValueKind.Tensor => $"tensor({ElementTypes.Name(ElementType)})[{string.Join(",", Shape.Select((d, i) => d?.ToString() ?? DimNames[i] ?? "?"))}]",
        ValueKind.Sequence => $"sequence({Element?.TypeString ?? "?"})",
        ValueKind.Optional => $"optional({Element?.TypeString ?? "?"})",
        _ => $"map(?, {ElementTypes.Name(ElementType)})",
    };
}

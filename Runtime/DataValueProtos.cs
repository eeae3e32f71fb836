using OnnxRev.Schema;

namespace OnnxRev.Runtime;

/// <summary>
/// Converts <see cref="DataValue"/>s to and from the ONNX test-data containers SequenceProto and OptionalProto.
/// </summary>
public static class DataValueProtos
{
    private const int Tensor = (int)SequenceProto.Types.DataType.Tensor;
    private const int Sequence = (int)SequenceProto.Types.DataType.Sequence;
    private const int Optional = (int)SequenceProto.Types.DataType.Optional;

    /// <summary>Reads a SequenceProto (of tensors, sequences or optionals).</summary>
    public static DataValue FromSequence(SequenceProto proto)
    {
        ArgumentNullException.ThrowIfNull(proto);
        return proto.ElemType switch
        {
            Tensor => DataValue.Sequence(proto.TensorValues.Select(DataValue.Tensor)),
            Sequence => DataValue.Sequence(proto.SequenceValues.Select(FromSequence)),
            Optional => DataValue.Sequence(proto.OptionalValues.Select(FromOptional)),
            _ => throw new OnnxRevException($"Sequence '{proto.Name}' has element kind {proto.ElemType}, which OnnxRev does not support."),
        };
    }

    /// <summary>Reads an OptionalProto; elem_type UNDEFINED means None.</summary>
    public static DataValue FromOptional(OptionalProto proto)
    {
        ArgumentNullException.ThrowIfNull(proto);
        return proto.ElemType switch
        {
            0 => DataValue.None,
            Tensor => DataValue.Optional(DataValue.Tensor(proto.TensorValue ?? new TensorProto())),
            Sequence => DataValue.Optional(FromSequence(proto.SequenceValue ?? new SequenceProto())),
            Optional => DataValue.Optional(FromOptional(proto.OptionalValue ?? new OptionalProto())),
            _ => throw new OnnxRevException($"Optional '{proto.Name}' has element kind {proto.ElemType}, which OnnxRev does not support."),
        };
    }

    /// <summary>Writes a sequence value as a SequenceProto named <paramref name="name"/>.</summary>
    public static SequenceProto ToSequence(DataValue value, string name)
    {
        var items = value.AsSequence();
        var proto = new SequenceProto { Name = name };
        var kind = items.Count == 0 ? DataValueKind.Tensor : items[0].Kind;
        if (items.Any(i => i.Kind != kind)) throw new ArgumentException($"Sequence '{name}' mixes element kinds.", nameof(value));
        switch (kind)
        {
            case DataValueKind.Tensor:
                proto.ElemType = Tensor;
                proto.TensorValues.AddRange(items.Select(i => i.TensorValue!));
                break;
            case DataValueKind.Sequence:
                proto.ElemType = Sequence;
                proto.SequenceValues.AddRange(items.Select(i => ToSequence(i, "")));
                break;
            default:
                proto.ElemType = Optional;
                proto.OptionalValues.AddRange(items.Select(i => ToOptional(i, "")));
                break;
        }
        return proto;
    }

    /// <summary>Writes an optional value (present or None) as an OptionalProto named <paramref name="name"/>.</summary>
    public static OptionalProto ToOptional(DataValue value, string name)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Kind != DataValueKind.Optional) throw new ArgumentException($"Value '{name}' is not an optional.", nameof(value));
        var proto = new OptionalProto { Name = name };
        var inner = value.OptionalValue;
        if (inner is null) return proto;
        switch (inner.Kind)
        {
            case DataValueKind.Tensor: proto.ElemType = Tensor; proto.TensorValue = inner.TensorValue; break;
            case DataValueKind.Sequence: proto.ElemType = Sequence; proto.SequenceValue = ToSequence(inner, ""); break;
            default: proto.ElemType = Optional; proto.OptionalValue = ToOptional(inner, ""); break;
        }
        return proto;
    }
}

using OnnxRev.Schema;

namespace OnnxRev.Runtime;

/// <summary>What a <see cref="DataValue"/> holds.</summary>
public enum DataValueKind
{
    /// <summary>A tensor (<see cref="DataValue.TensorValue"/>).</summary>
    Tensor,
    /// <summary>A sequence of values (<see cref="DataValue.SequenceValue"/>).</summary>
    Sequence,
    /// <summary>An optional value that is either present (<see cref="DataValue.OptionalValue"/>) or None.</summary>
    Optional,
}

/// <summary>
/// A value an ONNX model takes as input or produces as output: a tensor, a sequence of values, or an
/// optional value. Immutable apart from the protobuf tensors it holds, which callers should not mutate.
/// </summary>
public sealed class DataValue
{
    private DataValue(DataValueKind kind, TensorProto? tensor, IReadOnlyList<DataValue>? sequence, DataValue? optional)
    {
        Kind = kind;
        TensorValue = tensor;
        SequenceValue = sequence;
        OptionalValue = optional;
    }

    /// <summary>Which of the three forms this value has.</summary>
    public DataValueKind Kind { get; }

    /// <summary>The tensor when <see cref="Kind"/> is <see cref="DataValueKind.Tensor"/>, else null.</summary>
    public TensorProto? TensorValue { get; }

    /// <summary>The elements when <see cref="Kind"/> is <see cref="DataValueKind.Sequence"/>, else null.</summary>
    public IReadOnlyList<DataValue>? SequenceValue { get; }

    /// <summary>The contained value of a present optional; null for None and for non-optional kinds.</summary>
    public DataValue? OptionalValue { get; }

    /// <summary>False only for an optional that is None.</summary>
    public bool HasValue => Kind != DataValueKind.Optional || OptionalValue is not null;

    /// <summary>An optional value that is None.</summary>
    public static DataValue None { get; } = new(DataValueKind.Optional, null, null, null);

    /// <summary>Wraps a tensor.</summary>
    public static DataValue Tensor(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return new DataValue(DataValueKind.Tensor, tensor, null, null);
    }

    /// <summary>A float32 tensor named <paramref name="name"/> of <paramref name="dims"/> holding <paramref name="data"/> (copied).</summary>
    public static DataValue Floats(string name, IReadOnlyList<long> dims, ReadOnlySpan<float> data)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));
        return Tensor(t);
    }

    /// <summary>Makes a sequence of the given elements (copied).</summary>
    public static DataValue Sequence(IEnumerable<DataValue> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var list = elements.ToArray();
        if (list.Any(e => e is null)) throw new ArgumentException("Sequence elements must not be null.", nameof(elements));
        return new DataValue(DataValueKind.Sequence, null, list, null);
    }

    /// <summary>Makes an optional value: present when <paramref name="value"/> is not null, otherwise None.</summary>
    public static DataValue Optional(DataValue? value) =>
        value is null ? None : new DataValue(DataValueKind.Optional, null, null, value);

    /// <summary>The tensor; throws <see cref="InvalidOperationException"/> when this is not a tensor.</summary>
    public TensorProto AsTensor() =>
        TensorValue ?? throw new InvalidOperationException($"The value is a {Kind.ToString().ToLowerInvariant()}, not a tensor.");

    /// <summary>The elements; throws <see cref="InvalidOperationException"/> when this is not a sequence.</summary>
    public IReadOnlyList<DataValue> AsSequence() =>
        SequenceValue ?? throw new InvalidOperationException($"The value is a {Kind.ToString().ToLowerInvariant()}, not a sequence.");

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        DataValueKind.Tensor => $"tensor({ElementTypes.Name(TensorValue!.DataType)})[{string.Join(",", TensorValue.Dims)}]",
        DataValueKind.Sequence => $"sequence[{SequenceValue!.Count}]",
        _ => OptionalValue is null ? "optional(None)" : $"optional({OptionalValue})",
    };
}

using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime;

/// <summary>
/// Converts between OnnxRev values (TensorProto, <see cref="DataValue"/>) and ONNX Runtime's OrtValue.
/// Every OrtValue returned is owned by the caller and must be disposed.
/// </summary>
public static class TensorConversion
{
    /// <summary>Copies a tensor into a new CPU OrtValue.</summary>
    public static OrtValue ToOrtValue(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("OnnxRev needs a little-endian machine.");
        long[] shape = [.. tensor.Dims];
        if (tensor.DataType == (int)DT.String)
        {
            var strings = TensorProtoData.GetStrings(tensor);
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            try
            {
                for (int i = 0; i < strings.Count; i++) value.StringTensorSetElementAt(strings[i].Span, i);
                return value;
            }
            catch
            {
                value.Dispose();
                throw;
            }
        }

        var elementType = ElementTypes.ToOrt(tensor.DataType, tensor.Name);
        byte[] bytes = TensorProtoData.GetBytes(tensor);
        var tensorValue = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, elementType, shape);
        try
        {
            if (bytes.Length > 0) bytes.CopyTo(tensorValue.GetTensorMutableRawData());
            return tensorValue;
        }
        catch
        {
            tensorValue.Dispose();
            throw;
        }
    }

    /// <summary>Copies a CPU tensor OrtValue into a TensorProto that uses raw_data (string_data for strings).</summary>
    public static TensorProto ToTensorProto(OrtValue value, string name)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.IsTensor) throw new ArgumentException($"OrtValue '{name}' is a {value.OnnxType}, not a tensor.", nameof(value));
        var info = value.GetTensorTypeAndShape();
        int dt = (int)info.ElementDataType;
        long[] shape = info.Shape;
        if (dt == (int)DT.String)
        {
            var t = new TensorProto { Name = name, DataType = dt };
            t.Dims.AddRange(shape);
            long count = info.ElementCount;
            for (int i = 0; i < count; i++) t.StringData.Add(ByteString.CopyFrom(value.GetStringElementAsSpan(i)));
            return t;
        }
        if (!ElementTypes.IsSupported(dt)) throw ElementTypes.Unsupported(dt, name);
        ReadOnlySpan<byte> data = info.ElementCount == 0 ? [] : value.GetTensorMutableRawData();
        return ElementTypes.RawTensor(name, dt, shape, data);
    }

    /// <summary>
    /// Converts a present value to an OrtValue: a tensor, or a sequence (elements converted recursively).
    /// A present optional converts to its contained value; None cannot be converted (callers omit it).
    /// </summary>
    public static OrtValue ToOrtValue(DataValue value, string name)
    {
        ArgumentNullException.ThrowIfNull(value);
        switch (value.Kind)
        {
            case DataValueKind.Tensor:
                return ToOrtValue(value.TensorValue!);
            case DataValueKind.Optional:
                if (value.OptionalValue is null)
                    throw new OnnxRevException($"Value '{name}' is an empty optional (None), which cannot be passed as an ONNX Runtime value.");
                return ToOrtValue(value.OptionalValue, name);
            default:
                var items = value.SequenceValue!;
                if (items.Count == 0)
                    throw new OnnxRevException($"Sequence '{name}' is empty; ONNX Runtime's API cannot create an empty sequence value.");
                var elements = new List<OrtValue>(items.Count);
                try
                {
                    for (int i = 0; i < items.Count; i++) elements.Add(ToOrtValue(items[i], $"{name}[{i}]"));
                    // On success CreateSequence takes ownership of the elements and clears the list.
                    return OrtValue.CreateSequence(elements);
                }
                finally
                {
                    foreach (var e in elements) e.Dispose();
                }
        }
    }

    /// <summary>
    /// Converts an OrtValue produced by ONNX Runtime into a <see cref="DataValue"/>: a tensor or a sequence
    /// (recursively). Tensors get <paramref name="name"/>. (ONNX Runtime 1.31 crashes when asked the type of
    /// a None optional value, so <see cref="OrtRunner"/> never fetches optional outputs.)
    /// </summary>
    public static DataValue ToDataValue(OrtValue value, string name)
    {
        ArgumentNullException.ThrowIfNull(value);
        switch (value.OnnxType)
        {
            case OnnxValueType.ONNX_TYPE_TENSOR:
                return DataValue.Tensor(ToTensorProto(value, name));
            case OnnxValueType.ONNX_TYPE_SEQUENCE:
                int count = value.GetValueCount();
                var items = new List<DataValue>(count);
                for (int i = 0; i < count; i++)
                {
                    using var element = value.GetValue(i, OrtAllocator.DefaultInstance);
                    items.Add(ToDataValue(element, name));
                }
                return DataValue.Sequence(items);
            default:
                throw new OnnxRevException($"Output '{name}' is a {value.OnnxType} value, which OnnxRev cannot represent.");
        }
    }
}

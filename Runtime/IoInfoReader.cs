using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Runtime;

/// <summary>Builds <see cref="IoInfo"/> from ONNX Runtime's NodeMetadata.</summary>
internal static class IoInfoReader
{
    public static IReadOnlyList<IoInfo> Read(IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        names.Select(n => FromMetadata(n, metadata[n])).ToArray();

    private static IoInfo FromMetadata(string name, NodeMetadata meta)
    {
        switch (meta.OnnxValueType)
        {
            case OnnxValueType.ONNX_TYPE_TENSOR:
                int[] dims = meta.Dimensions;
                string[] symbols = meta.SymbolicDimensions;
                var shape = new long?[dims.Length];
                var dimNames = new string?[dims.Length];
                for (int i = 0; i < dims.Length; i++)
                {
                    shape[i] = dims[i] >= 0 ? dims[i] : null;
                    string? symbol = i < symbols.Length ? symbols[i] : null;
                    dimNames[i] = dims[i] < 0 && !string.IsNullOrEmpty(symbol) ? symbol : null;
                }
                return new IoInfo(name, ValueKind.Tensor, (int)meta.ElementDataType, shape, dimNames, null);
            case OnnxValueType.ONNX_TYPE_SEQUENCE:
                return Wrap(name, ValueKind.Sequence, FromMetadata(name, meta.AsSequenceMetadata().ElementMeta));
            case OnnxValueType.ONNX_TYPE_OPTIONAL:
                return Wrap(name, ValueKind.Optional, FromMetadata(name, meta.AsOptionalMetadata().ElementMeta));
            case OnnxValueType.ONNX_TYPE_MAP:
                var map = meta.AsMapMetadata();
                return new IoInfo(name, ValueKind.Map, (int)map.ValueMetadata.ElementDataType, [], [], null);
            default:
                throw new OnnxRevException($"Model input/output '{name}' has type {meta.OnnxValueType}, which OnnxRev does not support.");
        }
    }

    private static IoInfo Wrap(string name, ValueKind kind, IoInfo element) =>
        new(name, kind, element.ElementType, element.Shape, element.DimNames, element);
}

using System.Text.Json.Nodes;
using OnnxRev.Ir;
using OnnxRev.Schema;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>Facts about a model shared by inspect, run and optimize: types, shapes, sizes, op histogram.</summary>
internal static class ModelFacts
{
    /// <summary>Loads a model and checks its operators, with errors naming the file.</summary>
    public static Model LoadChecked(string path)
    {
        var model = ModelReader.Load(path);
        OperatorCatalog.CheckOperators(model, path);
        return model;
    }

    /// <summary>"float32[n,3,224,224]"-style description of a value's type.</summary>
    public static string TypeString(TypeProto? type)
    {
        if (type is null) return "?";
        return type.ValueCase switch
        {
            TypeProto.ValueOneofCase.TensorType => $"{TensorEncoding.TypeName(type.TensorType.ElemType)}{ShapeString(type.TensorType.Shape)}",
            TypeProto.ValueOneofCase.SequenceType => $"sequence<{TypeString(type.SequenceType.ElemType)}>",
            TypeProto.ValueOneofCase.OptionalType => $"optional<{TypeString(type.OptionalType.ElemType)}>",
            TypeProto.ValueOneofCase.MapType => $"map<{TensorEncoding.TypeName(type.MapType.KeyType)},{TypeString(type.MapType.ValueType)}>",
            TypeProto.ValueOneofCase.SparseTensorType => $"sparse {TensorEncoding.TypeName(type.SparseTensorType.ElemType)}{ShapeString(type.SparseTensorType.Shape)}",
            _ => "?",
        };
    }

    private static string ShapeString(TensorShapeProto? shape) =>
        shape is null ? "[?]" : "[" + string.Join(",", shape.Dim.Select(DimString)) + "]";

    private static string DimString(TensorShapeProto.Types.Dimension d) => d.ValueCase switch
    {
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => d.DimParam,
        _ => "?",
    };

    /// <summary>A JSON description of a graph input or output.</summary>
    public static JsonObject IoJson(Value v, TypeProto? declared)
    {
        var type = declared ?? v.Type;
        var shape = new JsonArray();
        if (type?.TensorType?.Shape is { } s)
            foreach (var d in s.Dim)
                shape.Add(d.ValueCase switch
                {
                    TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => JsonValue.Create(d.DimValue),
                    TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => JsonValue.Create(d.DimParam),
                    _ => null,
                });
        return new JsonObject
        {
            ["name"] = v.Name,
            ["type"] = TypeString(type),
            ["elem_type"] = type?.TensorType is { } t ? TensorEncoding.TypeName(t.ElemType) : null,
            ["shape"] = type?.TensorType?.Shape is null ? null : shape,
        };
    }

    /// <summary>Op type → count over the model, subgraphs included (domain-qualified outside ai.onnx).</summary>
    public static SortedDictionary<string, int> OpHistogram(Model model)
    {
        var ops = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in model.Graph.AllNodes())
        {
            string key = n.Key.ToString();
            ops[key] = ops.GetValueOrDefault(key) + 1;
        }
        return ops;
    }

    /// <summary>Elements in all initializers (the parameter count).</summary>
    public static long ParameterCount(Model model) => ModelWriter.AllTensors(model).Sum(t => t.ElementCount);

    /// <summary>Bytes on disk: the model file plus each external data file it uses.</summary>
    public static long FileBytes(string path, Model model)
    {
        long bytes = new FileInfo(path).Length;
        foreach (var f in ModelWriter.AllTensors(model).Where(t => t.IsExternal).Select(t => t.External!.FullPath).Distinct())
            bytes += new FileInfo(f).Length;
        return bytes;
    }
}

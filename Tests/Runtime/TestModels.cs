using Google.Protobuf;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Runtime;

/// <summary>Builds small ONNX models and tensors in code for runtime tests.</summary>
internal static class TestModels
{
    /// <summary>A tensor type; dims are longs (fixed) or strings (symbolic).</summary>
    public static TypeProto TensorType(DT elemType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s }
                                        : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        }
        return new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elemType, Shape = shape } };
    }

    public static TypeProto SequenceType(TypeProto element) =>
        new() { SequenceType = new TypeProto.Types.Sequence { ElemType = element } };

    public static TypeProto OptionalType(TypeProto element) =>
        new() { OptionalType = new TypeProto.Types.Optional { ElemType = element } };

    public static ValueInfoProto Value(string name, TypeProto type) => new() { Name = name, Type = type };

    public static ValueInfoProto Tensor(string name, DT elemType, params object[] dims) => Value(name, TensorType(elemType, dims));

    public static NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{string.Join("_", outputs)}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    public static ModelProto Model(IEnumerable<NodeProto> nodes, IEnumerable<ValueInfoProto> inputs, IEnumerable<ValueInfoProto> outputs,
        int opset = 17, IEnumerable<TensorProto>? initializers = null)
    {
        var graph = new GraphProto { Name = "test" };
        graph.Node.AddRange(nodes);
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        if (initializers is not null) graph.Initializer.AddRange(initializers);
        var model = new ModelProto { IrVersion = 8, ProducerName = "OnnxRev.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    /// <summary>Z = X + Y over float[N,3] (N symbolic).</summary>
    public static byte[] AddModel() => Model(
        [Node("Add", ["X", "Y"], ["Z"])],
        [Tensor("X", DT.Float, "N", 3L), Tensor("Y", DT.Float, "N", 3L)],
        [Tensor("Z", DT.Float, "N", 3L)]).ToByteArray();

    public static TensorProto Floats(string name, long[] dims, params float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DT.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return t;
    }

    public static TensorProto Int64s(string name, long[] dims, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DT.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        return t;
    }

    public static TensorProto Strings(string name, long[] dims, params string[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DT.String };
        t.Dims.AddRange(dims);
        t.StringData.AddRange(values.Select(ByteString.CopyFromUtf8));
        return t;
    }

    /// <summary>Float values of a tensor (raw or typed), for assertions.</summary>
    public static float[] ReadFloats(TensorProto t)
    {
        Assert.That(t.DataType, Is.EqualTo((int)DT.Float));
        return [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(OnnxRev.Runtime.TensorProtoData.GetBytes(t))];
    }

    public static long[] ReadInt64s(TensorProto t)
    {
        Assert.That(t.DataType, Is.EqualTo((int)DT.Int64));
        return [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(OnnxRev.Runtime.TensorProtoData.GetBytes(t))];
    }
}

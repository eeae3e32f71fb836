using OnnxRev.Ir;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Support;

/// <summary>Small graphs built in code for unit tests.</summary>
public static class ModelFactory
{
    /// <summary>A float tensor type of a static shape.</summary>
    public static TypeProto FloatType(params long[] dims) => TensorType((int)DT.Float, dims);

    /// <summary>A tensor type of a static shape.</summary>
    public static TypeProto TensorType(int elemType, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } };
    }

    /// <summary>A model around a graph with opset 17.</summary>
    public static Model Wrap(Graph g, long opset = 17)
    {
        var header = new ModelProto { IrVersion = 8, ProducerName = "onnxrev-tests" };
        header.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return new Model(g, header);
    }

    /// <summary>y = Relu(x · W + b) with W [4,3] and b [3] as initializers; x [2,4].</summary>
    public static Model LinearRelu(int seed = 1)
    {
        var rng = new Random(seed);
        var g = new Graph("linear_relu");
        var x = new Value("x", FloatType(2, 4));
        g.Inputs.Add(x);
        x.Graph = g;
        var w = g.AddInitializer(new Value("W"), Tensor.FromFloats("W", new long[] { 4, 3 }, Enumerable.Range(0, 12).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray()));
        var b = g.AddInitializer(new Value("b"), Tensor.FromFloats("b", new long[] { 3 }, new[] { 0.1f, -0.2f, 0.3f }));
        var mm = new Value("mm");
        g.Append(new Node("MatMul", new[] { x, w }, new[] { mm }, name: "matmul"));
        var add = new Value("add");
        g.Append(new Node("Add", new[] { mm, b }, new[] { add }, name: "add"));
        var y = new Value("y", FloatType(2, 3));
        g.Append(new Node("Relu", new[] { add }, new[] { y }, name: "relu"));
        g.Outputs.Add(y);
        return Wrap(g);
    }
}

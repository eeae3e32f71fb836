using OnnxRev.Ir;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Passes.Shapes;

/// <summary>Builds small graphs for shape tests: inputs with symbolic dims ("n") or fixed ones, int64 initializers, nodes.</summary>
internal sealed class ShapeTestGraph
{
    private readonly Graph _graph = new("shape_test");
    private int _counter;

    /// <summary>A graph input; each dim is a long (fixed), a string (symbol) or null (unknown).</summary>
    public Value Input(string name, int elemType, params object?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d is string s) dim.DimParam = s;
            else if (d is not null) dim.DimValue = Convert.ToInt64(d);
            shape.Dim.Add(dim);
        }
        var v = new Value(name, new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } });
        _graph.Inputs.Add(v);
        v.Graph = _graph;
        return v;
    }

    /// <summary>A float input.</summary>
    public Value FloatInput(string name, params object?[] dims) => Input(name, (int)DT.Float, dims);

    /// <summary>An int64 initializer of shape [values.Length] (or a scalar when <paramref name="scalar"/>).</summary>
    public Value Ints(long[] values, bool scalar = false) =>
        _graph.AddInitializer(new Value("c" + _counter++), Tensor.FromInt64s("", scalar ? Array.Empty<long>() : new long[] { values.Length }, values));

    /// <summary>An int64 scalar initializer.</summary>
    public Value Scalar(long value) => Ints(new[] { value }, scalar: true);

    /// <summary>A float initializer of the given shape, zeros.</summary>
    public Value Floats(params long[] dims) =>
        _graph.AddInitializer(new Value("w" + _counter++), Tensor.FromFloats("", dims, new float[dims.Aggregate(1L, (a, b) => a * b)]));

    /// <summary>Appends a node with one output and returns it; attributes as (name, value) with long, long[] or string values.</summary>
    public Value Op(string opType, Value?[] inputs, params (string Name, object Value)[] attributes) => Ops(opType, inputs, 1, attributes)[0];

    /// <summary>Appends a node with several outputs.</summary>
    public Value[] Ops(string opType, Value?[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var outs = Enumerable.Range(0, outputs).Select(_ => new Value($"{opType.ToLowerInvariant()}_{_counter++}")).ToArray();
        var node = new Node(opType, inputs, outs, name: $"{opType}_{_counter++}");
        foreach (var (name, value) in attributes)
        {
            node.Attributes.Add(value switch
            {
                long l => Ir.Attribute.FromInt(name, l),
                int i => Ir.Attribute.FromInt(name, i),
                long[] ls => Ir.Attribute.FromInts(name, ls),
                string s => Ir.Attribute.FromString(name, s),
                float f => Ir.Attribute.FromFloat(name, f),
                TensorProto t => Ir.Attribute.FromTensor(name, t),
                _ => throw new ArgumentException($"attribute type {value.GetType()}"),
            });
        }
        _graph.Append(node);
        return outs;
    }

    /// <summary>Marks values as graph outputs and wraps the graph in a model of the given opset.</summary>
    public Model Build(long opset, params Value[] outputs)
    {
        _graph.Outputs.AddRange(outputs);
        return OnnxRev.Tests.Support.ModelFactory.Wrap(_graph, opset);
    }
}

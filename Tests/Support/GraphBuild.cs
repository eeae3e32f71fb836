using OnnxRev.Ir;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;
using IrAttribute = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Support;

/// <summary>Terse helpers for building graphs node by node in unit tests (before wrapping them in a model).</summary>
public static class GraphBuild
{
    /// <summary>Adds a graph input.</summary>
    public static Value Input(Graph g, string name, TypeProto type)
    {
        var v = new Value(name, type);
        g.Inputs.Add(v);
        v.Graph = g;
        return v;
    }

    /// <summary>Adds a float initializer.</summary>
    public static Value FloatInit(Graph g, string name, long[] dims, params float[] data) =>
        g.AddInitializer(new Value(name), Tensor.FromFloats(name, dims, data));

    /// <summary>Adds an int64 initializer.</summary>
    public static Value Int64Init(Graph g, string name, long[] dims, params long[] data) =>
        g.AddInitializer(new Value(name), Tensor.FromInt64s(name, dims, data));

    /// <summary>Appends a one-output node named "{output}_node" and returns its output.</summary>
    public static Value Op(Graph g, string opType, Value?[] inputs, string output, params IrAttribute[] attributes)
    {
        var o = new Value(output);
        var n = new Node(opType, inputs, new[] { o }, name: output + "_node");
        n.Attributes.AddRange(attributes);
        g.Append(n);
        return o;
    }

    /// <summary>Declares <paramref name="v"/> a graph output of the given type.</summary>
    public static Value Output(Graph g, Value v, TypeProto type)
    {
        v.Type = type;
        g.Outputs.Add(v);
        return v;
    }

    /// <summary>A Constant node with a "value" tensor attribute.</summary>
    public static Value ConstantTensor(Graph g, string output, TensorProto t) =>
        Op(g, "Constant", Array.Empty<Value?>(), output, IrAttribute.FromTensor("value", t));

    /// <summary>A float TensorProto in float_data.</summary>
    public static TensorProto FloatTensor(long[] dims, params float[] values)
    {
        var t = new TensorProto { DataType = (int)DT.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return t;
    }

    /// <summary>The op types of the main graph's nodes, in order.</summary>
    public static string[] OpTypes(Graph g) => g.Nodes.Select(n => n.OpType).ToArray();

    /// <summary>The op types of the main graph's nodes, in order.</summary>
    public static string[] OpTypes(Model m) => OpTypes(m.Graph);

    /// <summary>Names of the graph outputs, in order.</summary>
    public static string[] OutputNames(Graph g) => g.Outputs.Select(v => v.Name).ToArray();
}

using Google.Protobuf;
using OnnxRev.Ir;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup;

/// <summary>
/// <c>Constant(value=T) → y</c> becomes initializer <c>y = T</c>, in every graph and subgraph, so later
/// passes see weights one way whichever way the exporter wrote them. Handles the value, value_float(s),
/// value_int(s) and value_string(s) forms; sparse_value constants are left as they are.
/// </summary>
public sealed class ConstantsToInitializers : IPass
{
    /// <inheritdoc/>
    public string Name => "constants-to-initializers";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        bool modified = false;
        foreach (var graph in model.Graph.AllGraphs().ToList())
        {
            foreach (var node in graph.Nodes.Where(n => n.IsStandardDomain && n.OpType == "Constant" && n.Outputs.Count == 1).ToList())
            {
                var tensor = ToTensor(node);
                if (tensor is null) continue;
                ValueReplacement.ReplaceWithInitializer(graph, node.Outputs[0], tensor);
                graph.Remove(node);
                modified = true;
            }
        }
        return new PassResult(model, modified);
    }

    /// <summary>The tensor a Constant node holds, or null for forms this pass leaves alone.</summary>
    public static Tensor? ToTensor(Node node)
    {
        if (node.Attributes.Count != 1) return null;
        var a = node.Attributes[0];
        var p = a.Proto;
        TensorProto t;
        switch (a.Name)
        {
            case "value": t = p.T.Clone(); break;
            case "value_float": t = new TensorProto { DataType = (int)DT.Float, FloatData = { p.F } }; break;
            case "value_floats": t = new TensorProto { DataType = (int)DT.Float, Dims = { p.Floats.Count } }; t.FloatData.AddRange(p.Floats); break;
            case "value_int": t = new TensorProto { DataType = (int)DT.Int64, Int64Data = { p.I } }; break;
            case "value_ints": t = new TensorProto { DataType = (int)DT.Int64, Dims = { p.Ints.Count } }; t.Int64Data.AddRange(p.Ints); break;
            case "value_string": t = new TensorProto { DataType = (int)DT.String, StringData = { p.S } }; break;
            case "value_strings": t = new TensorProto { DataType = (int)DT.String, Dims = { p.Strings.Count } }; t.StringData.AddRange(p.Strings); break;
            default: return null;
        }
        if (t.DataLocation == TensorProto.Types.DataLocation.External) return null;
        t.Name = node.Outputs[0].Name;
        return new Tensor(t);
    }
}

/// <summary>
/// The reverse normalization: initializer <c>w = T</c> (not a graph input) becomes
/// <c>Constant(value=T) → w</c> at the start of its graph, for runtimes or tools that want weights as nodes.
/// External tensors are loaded inline.
/// </summary>
public sealed class InitializersToConstants : IPass
{
    /// <inheritdoc/>
    public string Name => "initializers-to-constants";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        bool modified = false;
        foreach (var graph in model.Graph.AllGraphs().ToList())
        {
            var first = graph.Nodes.Count > 0 ? graph.Nodes[0] : null;
            foreach (var init in graph.Initializers.Where(v => v.Initializer is not null && !v.IsGraphInput).ToList())
            {
                var tensor = init.Initializer!.ToInlineProto().Clone();
                string name = init.Name;
                init.Name = model.Names.Fresh(name + "_initializer");
                var output = new Value(name) { Info = init.Info };
                var node = new Node("Constant", Array.Empty<Value?>(), new[] { output }, name: model.Names.Fresh(name + "_constant"));
                tensor.Name = "";
                node.Attributes.Add(Ir.Attribute.FromTensor("value", tensor));
                graph.InsertBefore(first, node);
                init.ReplaceAllUsesWith(output, includeGraphOutputs: true);
                graph.RemoveInitializer(init);
                modified = true;
            }
        }
        return new PassResult(model, modified);
    }
}

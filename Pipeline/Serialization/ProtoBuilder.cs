using OnnxRev.Ir;
using OnnxRev.Schema;

namespace OnnxRev.Serialization;

/// <summary>Turns the IR back into protobuf messages, restoring every field the reader set aside.</summary>
internal static class ProtoBuilder
{
    public static ModelProto Build(Model model, Func<Tensor, TensorProto> tensor)
    {
        var proto = model.Header.Clone();
        proto.Graph = BuildGraph(model.Graph, tensor);
        return proto;
    }

    private static GraphProto BuildGraph(Graph graph, Func<Tensor, TensorProto> tensor)
    {
        var gp = graph.Extras.Clone();
        gp.Name = graph.Name;
        foreach (var v in graph.Inputs) gp.Input.Add(Info(v.Info, v.Name));
        foreach (var v in graph.Initializers)
        {
            if (v.Initializer is not null)
            {
                var t = tensor(v.Initializer);
                if (t.Name != v.Name) { t = t.Clone(); t.Name = v.Name; }
                gp.Initializer.Add(t);
            }
            else if (v.SparseInitializer is not null)
            {
                gp.SparseInitializer.Add(v.SparseInitializer);
            }
        }
        foreach (var n in graph.Nodes) gp.Node.Add(BuildNode(n, tensor));
        foreach (var v in graph.Outputs)
            gp.Output.Add(graph.OutputDeclarations.TryGetValue(v.Name, out var decl) ? Info(decl, v.Name) : Info(v.Info, v.Name));
        foreach (var v in graph.ValueInfos)
            if (v.Info is not null) gp.ValueInfo.Add(Info(v.Info, v.Name));
        foreach (var vi in graph.OrphanValueInfos) gp.ValueInfo.Add(vi);
        return gp;
    }

    private static NodeProto BuildNode(Node n, Func<Tensor, TensorProto> tensor)
    {
        var np = n.Extras.Clone();
        np.OpType = n.OpType;
        np.Domain = n.Domain;
        np.Name = n.Name;
        np.Overload = n.Overload;
        foreach (var v in n.Inputs) np.Input.Add(v?.Name ?? "");
        foreach (var v in n.Outputs) np.Output.Add(v.Name);
        foreach (var a in n.Attributes)
        {
            if (a.AllGraphs.Count == 0) { np.Attribute.Add(a.Proto); continue; }
            var ap = a.Proto.Clone();
            if (a.Type == AttributeProto.Types.AttributeType.Graph) ap.G = BuildGraph(a.AllGraphs[0], tensor);
            else foreach (var g in a.AllGraphs) ap.Graphs.Add(BuildGraph(g, tensor));
            np.Attribute.Add(ap);
        }
        return np;
    }

    private static ValueInfoProto Info(ValueInfoProto? info, string name)
    {
        var vi = info?.Clone() ?? new ValueInfoProto();
        vi.Name = name;
        return vi;
    }
}

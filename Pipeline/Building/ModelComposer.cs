using OnnxRev.Ir;
using OnnxRev.Schema;

namespace OnnxRev.Building;

/// <summary>
/// Merges whole models into one graph: each source model's nodes and constant initializers are copied
/// into the target under a name prefix (made unique by the target's name authority, so nothing
/// collides), its data inputs are wired to values already in the target, and the copies of its outputs
/// are returned for the next stage. Used to ship a preprocessing model, a pretrained backbone and a
/// trained head as one deployable model.
/// </summary>
public static class ModelComposer
{
    /// <summary>
    /// Operators that may be copied from a source whose default-domain opset differs from the target's,
    /// with the earliest opset in which the form the copy uses (attributes, input count, broadcasting) is
    /// valid and unchanged in meaning up to opset 23. Anything else needs equal opsets.
    /// </summary>
    private static readonly Dictionary<string, int> PortableOps = new(StringComparer.Ordinal)
    {
        ["Identity"] = 1,
        ["Flatten"] = 1,
        ["Relu"] = 6,
        ["Gemm"] = 7,   // unidirectional broadcast of C; before 11 C is required (checked below)
        ["Add"] = 7,    // numpy broadcasting
        ["Sub"] = 7,
        ["Mul"] = 7,
    };

    /// <summary>
    /// Copies <paramref name="source"/>'s graph into <paramref name="target"/>'s main graph (appended at the end).
    /// Initializers of the source become initializers of the target (also those an IR 3 model lists as
    /// inputs); every other source input must be bound in <paramref name="inputs"/> by its name. Returns the
    /// target values holding the source's outputs, in the source's output order.
    /// </summary>
    /// <param name="target">The model being assembled.</param>
    /// <param name="source">The model to copy (left unchanged).</param>
    /// <param name="prefix">Prepended to every copied value and node name, e.g. "backbone/".</param>
    /// <param name="inputs">Target values for the source's data inputs, by source input name.</param>
    /// <exception cref="OnnxRevException">An input is unbound, the source has subgraphs, functions or
    /// non-standard domains, or an operator cannot be carried to the target's opset.</exception>
    public static IReadOnlyList<Value> Inline(Model target, Model source, string prefix, IReadOnlyDictionary<string, Value> inputs)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(inputs);
        long targetOpset = target.OpsetVersion("") ?? throw new OnnxRevException("the target model imports no default-domain opset");
        long sourceOpset = source.OpsetVersion("") ?? targetOpset;
        var g = target.Graph;
        var names = target.Names;
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);

        foreach (var v in source.Graph.Initializers)
        {
            if (v.Initializer is null) throw new OnnxRevException($"sparse initializer '{v.Name}' of '{source.Graph.Name}' cannot be composed");
            map[v] = g.AddInitializer(new Value(names.Fresh(prefix + v.Name)), new Tensor(v.Initializer.ToInlineProto().Clone()));
        }
        foreach (var v in source.Graph.Inputs)
        {
            if (map.ContainsKey(v)) continue;
            map[v] = inputs.TryGetValue(v.Name, out var bound) ? bound
                : throw new OnnxRevException($"input '{v.Name}' of '{source.Graph.Name}' is not bound to a value of the composed model");
        }
        foreach (var name in inputs.Keys)
            if (source.Graph.Inputs.Find(name) is null)
                throw new OnnxRevException($"'{name}' is not an input of '{source.Graph.Name}'");

        foreach (var n in source.Graph.Nodes)
        {
            if (!n.IsStandardDomain) throw new OnnxRevException($"{n.Describe()} is in domain '{n.Domain}'; only the default domain can be composed");
            if (n.Subgraphs.Any()) throw new OnnxRevException($"{n.Describe()} has subgraphs, which composition does not copy");
            if (sourceOpset != targetOpset) CheckPortable(n, sourceOpset, targetOpset);
            var ins = n.Inputs.Select(i => i is null ? null : map.TryGetValue(i, out var m) ? m
                : throw new OnnxRevException($"{n.Describe()} reads '{i.Name}' before it is computed; the source graph is not in topological order"));
            var outs = n.Outputs.Select(o => new Value(o.Name.Length == 0 ? "" : names.Fresh(prefix + o.Name), o.Type?.Clone())).ToList();
            var copy = new Node(n.OpType, ins, outs, "", names.Fresh(prefix + (n.Name.Length > 0 ? n.Name : n.OpType.ToLowerInvariant())))
            {
                Extras = n.Extras.Clone(),
            };
            foreach (var a in n.Attributes) copy.Attributes.Add(new Ir.Attribute(a.Proto.Clone()));
            g.Append(copy);
            for (int k = 0; k < outs.Count; k++) map[n.Outputs[k]] = outs[k];
        }
        return source.Graph.Outputs.Select(o => map.TryGetValue(o, out var m) ? m
            : throw new OnnxRevException($"output '{o.Name}' of '{source.Graph.Name}' is not computed by its graph")).ToList();
    }

    private static void CheckPortable(Node n, long sourceOpset, long targetOpset)
    {
        if (!PortableOps.TryGetValue(n.OpType, out int since) || since > targetOpset)
            throw new OnnxRevException($"{n.Describe()} comes from opset {sourceOpset} and is not known to mean the same at the target's opset {targetOpset}");
        if (n.OpType == "Gemm" && targetOpset < 11 && (n.Inputs.Count < 3 || n.Inputs[2] is null))
            throw new OnnxRevException($"{n.Describe()} has no C input, which Gemm requires before opset 11 (the target has opset {targetOpset})");
    }

    /// <summary>A tensor type with a static shape, for declaring a composed model's inputs and outputs.</summary>
    public static TypeProto FloatTensor(params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } };
    }
}

using OnnxRev.Ir;
using OnnxRev.Schema;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>
/// Static type and shape inference over a model's main graph, in dependency order, starting from the
/// graph inputs' declared types, the initializers and any types the model already records. It never
/// invents: what cannot be derived stays unknown (subgraph values, unknown operators, data-dependent
/// shapes). Alongside shapes it propagates the element values of small integer tensors (shape
/// tensors), symbolically, so <c>Shape → Gather → Unsqueeze → Concat → Reshape</c> chains keep a
/// symbolic batch dimension while their static parts become known. The model is not changed.
/// </summary>
public static class ShapeInference
{
    /// <summary>Default limit on the element count of tensors whose values are tracked.</summary>
    public const int DefaultMaxDataElements = 1024;

    /// <summary>Infers types, shapes and small integer data for the main graph of <paramref name="model"/>.</summary>
    /// <param name="model">The model; not modified.</param>
    /// <param name="maxDataElements">Largest integer tensor (in elements) whose values are tracked.</param>
    public static ShapeInfo Infer(Model model, int maxDataElements = DefaultMaxDataElements)
    {
        var info = new ShapeInfo();
        long opset = model.OpsetVersion("") ?? 1;
        var graph = model.Graph;
        foreach (var v in graph.Inputs) MergeDeclared(info, v);
        foreach (var v in graph.Initializers)
        {
            if (v.IsConstant && v.Initializer is { } t) SeedTensor(info, v, t, maxDataElements);
            else MergeDeclared(info, v);
        }
        foreach (var node in DependencyOrder(graph))
        {
            if (node.IsStandardDomain)
            {
                var ctx = new NodeContext(node, info, opset, maxDataElements);
                try
                {
                    if (ShapeRules.TryGet(node.OpType, out var shapeRule)) shapeRule(ctx);
                    if (DataRules.TryGet(node.OpType, out var dataRule)) dataRule(ctx);
                }
                catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or InvalidOperationException or OverflowException or DivideByZeroException)
                {
                    // A malformed node: what was recorded before the failure is still sound; the rest stays unknown.
                }
            }
            else if (node.Domain == "com.microsoft" && QuantizationShapes.TryGetMicrosoft(node.OpType, out var contribRule))
            {
                try { contribRule(new NodeContext(node, info, opset, maxDataElements)); }
                catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or InvalidOperationException) { }
            }
            foreach (var o in node.Outputs) if (o.Name.Length > 0) MergeDeclared(info, o);
        }
        return info;
    }

    /// <summary>The dims of a declared tensor shape: dim_value known, dim_param symbolic, otherwise unknown.</summary>
    public static Dim[]? FromProto(TensorShapeProto? shape) =>
        shape?.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => Dim.Of(d.DimValue),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => Dim.Named(d.DimParam),
            _ => Dim.Unknown,
        }).ToArray();

    /// <summary>Records an initializer's type, shape and (when small and integer) its values.</summary>
    internal static void SeedTensor(ShapeInfo info, Value v, Tensor t, int maxDataElements)
    {
        info.Set(v, t.DataType, Dim.FromValues(t.Dims));
        if (TensorData.Read(t, maxDataElements) is { } data) info.SetData(v, data);
    }

    /// <summary>Combines inferred facts with the type the model declares for <paramref name="v"/>.</summary>
    private static void MergeDeclared(ShapeInfo info, Value v)
    {
        var tt = v.Type?.TensorType;
        if (tt is null) return;
        int elem = info.ElemType(v) != 0 ? 0 : tt.ElemType;
        var declared = tt.Shape is null ? null : FromProto(tt.Shape);
        var inferred = info.Shape(v);
        if (declared is null || inferred is null || declared.Length != inferred.Length)
        {
            info.Set(v, elem, inferred is null ? declared : null);
            return;
        }
        var merged = new Dim[declared.Length];
        for (int i = 0; i < merged.Length; i++)
        {
            Dim a = inferred[i], b = declared[i];
            merged[i] = a.IsKnown && b.IsKnown ? (a.Value == b.Value ? a : Dim.Unknown)
                : a.IsKnown ? a : b.IsKnown ? b : a.IsSymbol ? a : b;
        }
        info.Set(v, elem, merged);
    }

    /// <summary>The graph's nodes in dependency order (the stored order when it already is one).</summary>
    private static IReadOnlyList<Node> DependencyOrder(Graph graph)
    {
        if (GraphAlgorithms.IsTopologicallySorted(graph)) return graph.Nodes;
        var order = new List<Node>(graph.Nodes.Count);
        var state = new Dictionary<Node, int>();
        foreach (var root in graph.Nodes) Visit(root);
        return order;

        void Visit(Node start)
        {
            var stack = new Stack<(Node Node, IEnumerator<Node> Preds)>();
            if (state.ContainsKey(start)) return;
            state[start] = 1;
            stack.Push((start, GraphAlgorithms.Predecessors(graph, start).GetEnumerator()));
            while (stack.Count > 0)
            {
                var (n, preds) = stack.Peek();
                if (preds.MoveNext())
                {
                    var p = preds.Current;
                    if (state.ContainsKey(p)) continue; // done, or on a cycle: a cycle leaves its values unknown
                    state[p] = 1;
                    stack.Push((p, GraphAlgorithms.Predecessors(graph, p).GetEnumerator()));
                    continue;
                }
                stack.Pop();
                state[n] = 2;
                order.Add(n);
            }
        }
    }
}

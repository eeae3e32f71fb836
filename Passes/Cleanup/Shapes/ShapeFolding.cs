using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>
/// Folds shape computations whose results are static: every int64/int32 value computed by a
/// standard-domain node of the main graph (Constant nodes aside) whose elements
/// <see cref="ShapeInference"/> knows completely becomes an initializer of the same name. Values
/// that depend on a symbolic dimension (a batch size "n") stay computed, so the model keeps
/// working for every batch size. Nodes whose every result was folded are removed; the chains that
/// fed them are left for <see cref="DeadCodeElimination"/>. Inferred types are not written into
/// the model.
/// </summary>
public sealed class ShapeFolding : IPass
{
    /// <summary>Default limit on the element count of a folded value.</summary>
    public const int DefaultMaxElements = 1024;

    private readonly int _maxElements;

    /// <summary>Creates the pass; values with more than <paramref name="maxElements"/> elements are left computed.</summary>
    public ShapeFolding(int maxElements = DefaultMaxElements) => _maxElements = maxElements;

    /// <inheritdoc/>
    public string Name => "shape-folding";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        var info = ShapeInference.Infer(model, Math.Max(_maxElements, ShapeInference.DefaultMaxDataElements));
        var graph = model.Graph;
        bool modified = false;
        // Last to first: once a consumer is folded and removed, the values feeding only it need no initializer of their own.
        foreach (var node in graph.Nodes.Reverse().ToList())
        {
            if (!node.IsStandardDomain || node.OpType == "Constant" || node.Subgraphs.Any()) continue;
            bool folded = false;
            foreach (var value in node.Outputs)
            {
                if (value.Name.Length == 0 || (value.Uses.Count == 0 && !value.IsGraphOutput)) continue;
                if (Fold(graph, value, info) is not null) folded = true;
            }
            if (!folded) continue;
            modified = true;
            if (node.Outputs.All(o => o.Uses.Count == 0 && !graph.Outputs.Contains(o))) graph.Remove(node);
        }
        return new PassResult(model, modified);
    }

    private Value? Fold(Graph graph, Value value, ShapeInfo info)
    {
        if (!info.TryGetType(value, out int elemType, out var dims) || dims is null) return null;
        if (elemType is not ((int)DT.Int64 or (int)DT.Int32)) return null;
        if (!info.TryGetData(value, out var data) || data.Length > _maxElements) return null;
        var shape = Dim.Values(dims);
        var values = Dim.Values(data);
        if (shape is null || values is null || shape.Aggregate(1L, (a, b) => a * b) != values.Length) return null;
        var tensor = TensorData.ToTensor(value.Name, elemType, shape, values);
        return tensor is null ? null : ValueReplacement.ReplaceWithInitializer(graph, value, tensor);
    }
}

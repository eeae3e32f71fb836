using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Shapes;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Multiply-accumulates of a model's Gemm, MatMul and Conv nodes for one sample (symbolic or unknown dimensions,
/// such as the batch, count as 1), from the shapes <see cref="ShapeInference"/> finds: output elements × reduction length.
/// FLOPs = 2 × MACs. Other ops (activations, pooling, normalization) are not counted.
/// </summary>
public static class FlopCount
{
    /// <summary>MACs per node name (or output name when the node has none) and their sum.</summary>
    public static (long Total, IReadOnlyDictionary<string, long> PerNode) Macs(Model model)
    {
        var info = ShapeInference.Infer(model);
        var per = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        foreach (var n in model.Graph.Nodes)
        {
            if (!n.IsStandardDomain || n.OpType is not ("Gemm" or "MatMul" or "Conv")) continue;
            long outputs = Elements(info, n.Outputs[0]);
            long reduction;
            if (n.OpType == "Conv")
            {
                var w = Dims(info, n.Inputs[1]!);
                reduction = w is null || w.Length < 3 ? 0 : w.Skip(1).Aggregate(1L, (a, d) => a * d);
            }
            else
            {
                var a = Dims(info, n.Inputs[0]!);
                bool transA = n.OpType == "Gemm" && n.Attributes.GetInt("transA", 0) != 0;
                reduction = a is null || a.Length == 0 ? 0 : transA ? a[^2] : a[^1];
            }
            long macs = outputs * reduction;
            per[n.Name.Length > 0 ? n.Name : n.Outputs[0].Name] = macs;
            total += macs;
        }
        return (total, per);
    }

    private static long[]? Dims(ShapeInfo info, Value v)
    {
        if (v.Initializer is { } t) return t.Dims.ToArray();
        if (!info.TryGetType(v, out _, out var dims) || dims is null) return null;
        return dims.Select(d => d.IsKnown ? d.Value : 1L).ToArray();
    }

    private static long Elements(ShapeInfo info, Value v) => Dims(info, v)?.Aggregate(1L, (a, d) => a * d) ?? 0;
}

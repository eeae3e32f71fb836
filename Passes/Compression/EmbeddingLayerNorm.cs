using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Finds the LayerNorm an embedding lookup feeds (BERT: word + position + token-type embeddings summed, then LayerNorm over
/// the hidden axis), so the table can be factored for the error that survives it: the LayerNorm removes each row's mean
/// and scales column j by γ_j, so the error metric on the table's columns is G = P·diag(γ²)·P with P = I − 11ᵀ/n.
/// Recognized: the Gather's output through up to 4 single-reader Adds into either LayerNormalization (scale γ constant,
/// last axis) or the exported form ReduceMean(x, last axis) → Sub(x, ·) → … → Div(that difference, ·) → Mul by a
/// constant γ.
/// </summary>
public static class EmbeddingLayerNorm
{
    /// <summary>γ of the LayerNorm the value <paramref name="lookup"/> (a Gather's output) feeds, or null when there is none.</summary>
    public static float[]? Scale(Value lookup, int width)
    {
        var x = lookup;
        for (int hops = 0; hops < 4 && x.Uses.Count == 1 && x.Uses[0].Node.OpType == "Add" && x.Uses[0].Node.IsStandardDomain; hops++)
            x = x.Uses[0].Node.Outputs[0];
        foreach (var use in x.Uses)
        {
            var n = use.Node;
            if (!n.IsStandardDomain) continue;
            if (n.OpType == "LayerNormalization" && ReferenceEquals(n.Inputs[0], x) && n.Attributes.GetInt("axis", -1) == -1 && n.Inputs.Count > 1 && n.Inputs[1] is { } scale)
                return Constant(scale, width);
            if (n.OpType == "ReduceMean" && LastAxis(n))
            {
                var mean = n.Outputs[0];
                var sub = x.Uses.Select(u => u.Node).FirstOrDefault(s => s.OpType == "Sub" && ReferenceEquals(s.Inputs[0], x) && ReferenceEquals(s.Inputs[1], mean));
                var div = sub?.Outputs[0].Uses.Select(u => u.Node).FirstOrDefault(d => d.OpType == "Div" && ReferenceEquals(d.Inputs[0], sub.Outputs[0]));
                if (div is null || div.Outputs[0].Uses.Count != 1) continue;
                var mul = div.Outputs[0].Uses[0].Node;
                if (mul.OpType != "Mul") continue;
                var other = ReferenceEquals(mul.Inputs[0], div.Outputs[0]) ? mul.Inputs[1] : mul.Inputs[0];
                if (other is not null && Constant(other, width) is { } gamma) return gamma;
            }
        }
        return null;
    }

    /// <summary>G = P·diag(γ²)·P + ε·mean(γ²)·I (P removes the row mean; ε = 1e-4 keeps G invertible), row-major width × width.</summary>
    public static double[] ColumnMetric(float[] gamma)
    {
        int n = gamma.Length;
        var g2 = gamma.Select(v => (double)v * v).ToArray();
        double mean = g2.Average();
        // (P D P)_ij = D_ij − (D_ii + D_jj)/n + Σ D / n²  for diagonal D.
        double total = g2.Sum() / ((double)n * n);
        var result = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                result[i * n + j] = (i == j ? g2[i] + 1e-4 * mean : 0) - (g2[i] + g2[j]) / n + total;
        return result;
    }

    private static bool LastAxis(Node reduce)
    {
        var axes = reduce.Attributes.GetInts("axes");
        if (axes is null && reduce.Inputs.Count > 1 && reduce.Inputs[1] is { } a && a.Initializer is { } t) axes = t.ToInt64Array();
        return axes is { Count: 1 } && axes[0] == -1;
    }

    private static float[]? Constant(Value v, int width)
    {
        for (int hops = 0; hops < 4 && v.Producer is { OpType: "Identity" } id && id.Inputs[0] is { } src; hops++) v = src; // PyTorch exports put Identity in front of shared constants
        Tensor? t = v.IsConstant ? v.Initializer : v.Producer is { OpType: "Constant" } p ? ConstantsToInitializers.ToTensor(p) : null;
        if (t is null || t.Dims.Count != 1 || t.Dims[0] != width || t.DataType != (int)Schema.TensorProto.Types.DataType.Float) return null;
        return t.ToFloatArray();
    }
}

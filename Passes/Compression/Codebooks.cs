using OnnxRev.Building;
using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Compression;

/// <summary>A weight in codebook form: W = Reshape(Gather(Concat([0], codebook), indices), dims); index 0 is the pruned zero.</summary>
/// <param name="Weight">The weight's initializer name in the dense model.</param>
/// <param name="Codebook">The codebook initializer (float [k], ascending as clustered; the trainable parameter).</param>
/// <param name="Indices">The int64 index initializer (one per element, 0 = zero, j = codebook[j − 1]).</param>
/// <param name="Dims">The weight's shape.</param>
/// <param name="Zero">The constant [0] initializer placed before the codebook (not a parameter: keep it out of training).</param>
public sealed record CodebookWeight(string Weight, string Codebook, string Indices, long[] Dims, string Zero);

/// <summary>
/// Converts clustered weights between dense form and codebook form. In codebook form the gradient reaching a
/// centroid is the sum of the gradients of the weights that share it (the Gather gradient accumulates repeated
/// indices), which is Deep Compression's centroid fine-tuning; <see cref="Densify"/> writes the trained centroids back.
/// </summary>
public static class Codebooks
{
    /// <summary>
    /// The distinct values other than +0 (compared by bit pattern, so −0 and each NaN payload are values of their own;
    /// ascending by value, then by bits) and per-element indices: 0 for +0, j for codebook[j − 1].
    /// </summary>
    public static (float[] Codebook, int[] Indices) Split(ReadOnlySpan<float> data)
    {
        var bits = new HashSet<int>();
        foreach (float v in data) { int b = BitConverter.SingleToInt32Bits(v); if (b != 0) bits.Add(b); }
        var book = bits.OrderBy(BitConverter.Int32BitsToSingle).ThenBy(b => b).ToArray();
        var position = new Dictionary<int, int>(book.Length);
        for (int j = 0; j < book.Length; j++) position[book[j]] = j + 1;
        var indices = new int[data.Length];
        for (int i = 0; i < data.Length; i++) { int b = BitConverter.SingleToInt32Bits(data[i]); indices[i] = b == 0 ? 0 : position[b]; }
        return (book.Select(BitConverter.Int32BitsToSingle).ToArray(), indices);
    }

    /// <summary>
    /// Rewrites every Gemm/MatMul/Conv weight initializer with at most <paramref name="maxCentroids"/> distinct non-zero
    /// values (and more elements than that) into codebook form; returns what was converted.
    /// </summary>
    public static IReadOnlyList<CodebookWeight> ToCodebookForm(Model model, int maxCentroids)
    {
        var result = new List<CodebookWeight>();
        var g = model.Graph;
        foreach (var site in WeightSite.Find(model))
        {
            if (site.ConstantNode is not null || site.Value.Initializer is not { DataType: (int)DT.Float }) continue;
            var data = site.Read();
            if (data.Any(v => v == 0f && BitConverter.SingleToInt32Bits(v) != 0)) continue;   // −0 has no place in the codebook form
            var (book, indices) = Split(data);
            if (book.Length == 0 || book.Length > maxCentroids || data.Length <= book.Length) continue;
            var dims = site.Dims;
            var anchor = site.Uses.Select(u => u.Node).OrderBy(n => IndexOf(g, n)).First();
            var b = new GraphBuilder(g, anchor);
            var codebook = b.Initializer(Tensor.FromFloats("", new long[] { book.Length }, book), site.Name + ".codebook");
            var zero = b.Initializer(Tensor.FromFloats("", new long[] { 1 }, new[] { 0f }), site.Name + ".zero");
            var idx = b.Initializer(Tensor.FromInt64s("", new long[] { indices.Length }, indices.Select(i => (long)i).ToArray()), site.Name + ".indices");
            var shape = b.Initializer(Tensor.FromInt64s("", new long[] { dims.Length }, dims), site.Name + ".shape");
            var table = b.Op("Concat", new[] { zero, codebook }, new[] { Ir.Attribute.FromInt("axis", 0) }, hint: site.Name + ".table");
            var flat = b.Op("Gather", new[] { table, idx }, new[] { Ir.Attribute.FromInt("axis", 0) }, hint: site.Name + ".flat");
            var w = b.Op("Reshape", new[] { flat, shape }, hint: site.Name + ".shared");
            foreach (var u in site.Uses) u.Node.SetInput(u.InputIndex, w);
            g.RemoveInitializer(site.Value);
            result.Add(new CodebookWeight(site.Name, codebook.Name, idx.Name, dims, zero.Name));
        }
        return result;
    }

    /// <summary>
    /// Writes into <paramref name="dense"/> (the model <see cref="ToCodebookForm"/> started from, same initializer names)
    /// each weight rebuilt from <paramref name="trained"/>'s codebook and indices, and every other float initializer of
    /// <paramref name="dense"/> that <paramref name="trained"/> also has (e.g. trained biases).
    /// </summary>
    public static void Densify(Model trained, Model dense, IReadOnlyList<CodebookWeight> weights)
    {
        var byName = trained.Graph.Initializers.ToDictionary(v => v.Name, StringComparer.Ordinal);
        var target = dense.Graph.Initializers.ToDictionary(v => v.Name, StringComparer.Ordinal);
        foreach (var w in weights)
        {
            var book = byName[w.Codebook].Initializer!.ToFloatArray();
            var idx = byName[w.Indices].Initializer!.ToInt64Array();
            var data = new float[idx.Length];
            for (int i = 0; i < idx.Length; i++) data[i] = idx[i] == 0 ? 0f : book[idx[i] - 1];
            dense.Graph.ReplaceInitializer(target[w.Weight], Tensor.FromFloats(w.Weight, w.Dims, data));
        }
        var done = weights.Select(w => w.Weight).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, v) in target)
            if (!done.Contains(name) && byName.TryGetValue(name, out var t) && t.Initializer is { DataType: (int)DT.Float } tensor && v.Initializer is { DataType: (int)DT.Float })
                dense.Graph.ReplaceInitializer(v, new Tensor(tensor.ToInlineProto().Clone()));
    }

    private static int IndexOf(Graph g, Node n)
    {
        for (int i = 0; i < g.Nodes.Count; i++) if (ReferenceEquals(g.Nodes[i], n)) return i;
        return g.Nodes.Count;
    }
}

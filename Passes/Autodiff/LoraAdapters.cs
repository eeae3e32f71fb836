using OnnxRev.Building;
using OnnxRev.Ir;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff;

/// <summary>One LoRA adapter: the frozen weight it adapts, its two factors and its scale.</summary>
/// <param name="Weight">The adapted weight (initializer name).</param>
/// <param name="A">Down projection, [r, in] (Gemm, transB=1 layout) or [in, r] (MatMul layout).</param>
/// <param name="B">Up projection, [out, r] (Gemm) or [r, out] (MatMul).</param>
/// <param name="Scale">α / r.</param>
/// <param name="MatMulLayout">True when the weight is [in, out] (MatMul, or Gemm with transB=0).</param>
public sealed record LoraAdapter(string Weight, string A, string B, float Scale, bool MatMulLayout);

/// <summary>
/// Low-rank adapters (Hu et al., "LoRA"): for a frozen weight W of a Gemm or MatMul, y = x·W + (α/r)·(x·A)·B,
/// with A random (±1/√in) and B zero, so training starts from the original function and only A and B
/// (r·(in + out) numbers per weight) train. <see cref="Merge"/> folds W + (α/r)·A·B back into the weight,
/// giving a model with the original structure and no adapter nodes.
/// </summary>
public static class LoraAdapters
{
    /// <summary>Adds an adapter to every selected Gemm/MatMul weight of the main graph; returns them (parameters to train: A and B).</summary>
    public static IReadOnlyList<LoraAdapter> Insert(Model model, int rank, float alpha, TrainableSpec targets, int seed = 0)
    {
        if (rank <= 0) throw new OnnxRevException($"--lora rank must be positive, not {rank}");
        var g = model.Graph;
        var chosen = targets.Select(model).ToHashSet();
        var rng = new Random(seed);
        var adapters = new List<LoraAdapter>();
        foreach (var node in g.Nodes.ToList())
        {
            bool gemm = node.IsStandardDomain && node.OpType == "Gemm";
            bool matmul = node.IsStandardDomain && node.OpType == "MatMul";
            if (!gemm && !matmul) continue;
            if (node.Inputs.Count < 2 || node.Inputs[1] is not { } w || !chosen.Contains(w) || w.Initializer is not { } t || t.Dims.Count != 2) continue;
            if (gemm && node.Attributes.GetInt("transA", 0) != 0) continue;
            bool matLayout = matmul || node.Attributes.GetInt("transB", 0) == 0;
            long inDim = matLayout ? t.Dims[0] : t.Dims[1];
            long outDim = matLayout ? t.Dims[1] : t.Dims[0];
            int r = (int)Math.Min(rank, Math.Min(inDim, outDim));
            float scale = alpha / r;
            double bound = 1 / Math.Sqrt(inDim);
            var aData = new float[r * inDim];
            for (int i = 0; i < aData.Length; i++) aData[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
            var b = new GraphBuilder(g, node);
            var aName = model.Names.Fresh(w.Name + ".lora_A");
            var bName = model.Names.Fresh(w.Name + ".lora_B");
            var aValue = g.AddInitializer(new Value(aName), Tensor.FromFloats(aName, matLayout ? new[] { inDim, r } : new[] { r, inDim }, aData));
            var bValue = g.AddInitializer(new Value(bName), Tensor.FromFloats(bName, matLayout ? new[] { (long)r, outDim } : new[] { outDim, r }, new float[r * outDim]));
            var x = node.Inputs[0]!;
            Value low = matLayout ? b.Op("MatMul", new[] { x, aValue }, hint: aName + "_x") : b.Op("Gemm", new[] { x, aValue }, new[] { Attr.FromInt("transB", 1) }, hint: aName + "_x");
            Value up = matLayout ? b.Op("MatMul", new[] { low, bValue }, hint: bName + "_x") : b.Op("Gemm", new[] { low, bValue }, new[] { Attr.FromInt("transB", 1) }, hint: bName + "_x");
            var s = b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { scale }), "lora_scale");
            var delta = b.Op("Mul", new[] { up, s }, hint: w.Name + ".lora_delta");
            // y = original(x) + delta, placed after the original node.
            var y = node.Outputs[0];
            string yName = y.Name;
            y.Name = model.Names.Fresh(yName + "_base");
            var sum = new Value(yName) { Info = y.Info };
            var add = new Node("Add", new[] { y, delta }, new[] { sum }, name: model.Names.Fresh(w.Name + ".lora_add"));
            y.ReplaceAllUsesWith(sum, includeGraphOutputs: true);
            add.SetInput(0, y);
            g.InsertAfter(node, add);
            adapters.Add(new LoraAdapter(w.Name, aName, bName, scale, matLayout));
        }
        if (adapters.Count == 0) throw new OnnxRevException("--lora found no Gemm or MatMul weight among the selected parameters to adapt");
        return adapters;
    }

    /// <summary>The merged weight W + scale·(A·B) (MatMul layout) or W + scale·(B·A) (Gemm transB layout), computed in double.</summary>
    public static float[] Merge(LoraAdapter adapter, float[] w, IReadOnlyList<long> wDims, float[] a, float[] b)
    {
        long rows = wDims[0], cols = wDims[1];
        var merged = (float[])w.Clone();
        int r = (int)(adapter.MatMulLayout ? a.Length / rows : a.Length / cols);
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < cols; j++)
            {
                double sum = 0;
                for (int k = 0; k < r; k++)
                    sum += adapter.MatMulLayout ? (double)a[i * r + k] * b[k * cols + j] : (double)b[i * r + k] * a[k * cols + j];
                merged[i * cols + j] = (float)(w[i * cols + j] + adapter.Scale * sum);
            }
        return merged;
    }

    /// <summary>True for a float32 rank-2 tensor (what an adapter can merge into).</summary>
    public static bool IsMergeable(Tensor t) => t.DataType == (int)DT.Float && t.Dims.Count == 2;
}

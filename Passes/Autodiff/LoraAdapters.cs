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
/// <param name="Quantized">True when the weight is a frozen quantized one (MatMulNBits codes, or integer codes read through
/// DequantizeLinear): the adapter cannot be merged into it and stays as its own branch on export.</param>
/// <param name="Node">Name of the node the adapter is attached to.</param>
public sealed record LoraAdapter(string Weight, string A, string B, float Scale, bool MatMulLayout, bool Quantized = false, string Node = "");

/// <summary>
/// Low-rank adapters (Hu et al., "LoRA"): for a frozen weight W of a Gemm or MatMul, y = x·W + (α/r)·(x·A)·B,
/// with A random (±1/√in) and B zero, so training starts from the original function and only A and B
/// (r·(in + out) numbers per weight) train. <see cref="Merge"/> folds W + (α/r)·A·B back into the weight,
/// giving a model with the original structure and no adapter nodes. Quantized bases work too: the packed weight of
/// a com.microsoft MatMulNBits ([in, out] = [K, N]) and an integer weight read through DequantizeLinear by a
/// MatMul or Gemm get adapters the same way (the gradient flows through the frozen quantized product to x); those
/// adapters are not merged but kept as a float branch beside the quantized product (<see cref="Attach"/>).
/// </summary>
public static class LoraAdapters
{
    /// <summary>Adds an adapter to every selected Gemm/MatMul/MatMulNBits weight of the main graph; returns them (parameters to train: A and B).</summary>
    public static IReadOnlyList<LoraAdapter> Insert(Model model, int rank, float alpha, TrainableSpec targets, int seed = 0)
    {
        if (rank <= 0) throw new OnnxRevException($"--lora rank must be positive, not {rank}");
        var g = model.Graph;
        var candidates = TrainableSpec.Parameters(model).Concat(TrainableSpec.QuantizedWeights(model)).ToList();
        var chosen = targets.Select(model, candidates).ToHashSet();
        var rng = new Random(seed);
        var adapters = new List<LoraAdapter>();
        foreach (var node in g.Nodes.ToList())
        {
            if (Target(node) is not { } t || !chosen.Contains(t.Weight)) continue;
            int r = (int)Math.Min(rank, Math.Min(t.In, t.Out));
            float scale = alpha / r;
            double bound = 1 / Math.Sqrt(t.In);
            var aData = new float[r * t.In];
            for (int i = 0; i < aData.Length; i++) aData[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
            var a = Tensor.FromFloats("", t.MatMulLayout ? new[] { t.In, r } : new[] { r, t.In }, aData);
            var b = Tensor.FromFloats("", t.MatMulLayout ? new[] { (long)r, t.Out } : new[] { t.Out, r }, new float[r * t.Out]);
            adapters.Add(AddBranch(model, node, t.Weight.Name, a, b, scale, t.MatMulLayout, t.Quantized));
        }
        if (adapters.Count == 0) throw new OnnxRevException("--lora found no Gemm, MatMul or MatMulNBits weight among the selected parameters to adapt");
        return adapters;
    }

    /// <summary>
    /// Attaches a trained adapter (factors <paramref name="a"/>, <paramref name="b"/>) to its node of
    /// <paramref name="model"/> as a float branch: how quantized weights, which cannot absorb it, are exported.
    /// </summary>
    public static void Attach(Model model, LoraAdapter adapter, Tensor a, Tensor b)
    {
        var node = model.Graph.Nodes.FirstOrDefault(n => (adapter.Node.Length == 0 || n.Name == adapter.Node) && Target(n)?.Weight.Name == adapter.Weight)
            ?? throw new OnnxRevException($"the model has no node '{adapter.Node}' reading weight '{adapter.Weight}' to attach its LoRA adapter to");
        AddBranch(model, node, adapter.Weight, a, b, adapter.Scale, adapter.MatMulLayout, adapter.Quantized);
    }

    private sealed record TargetInfo(Value Weight, long In, long Out, bool MatMulLayout, bool Quantized);

    /// <summary>The weight a node multiplies its input by, when an adapter can attach to it.</summary>
    private static TargetInfo? Target(Node node)
    {
        if (node.Domain == "com.microsoft" && node.OpType == "MatMulNBits" && node.Inputs.Count > 1 && node.Inputs[1] is { Initializer: not null } packed)
            return new TargetInfo(packed, node.Attributes.GetInt("K", 0), node.Attributes.GetInt("N", 0), true, true);
        bool gemm = node.IsStandardDomain && node.OpType == "Gemm";
        bool matmul = node.IsStandardDomain && node.OpType == "MatMul";
        if ((!gemm && !matmul) || node.Inputs.Count < 2 || node.Inputs[1] is not { } w) return null;
        if (gemm && node.Attributes.GetInt("transA", 0) != 0) return null;
        bool quantized = false;
        if (w.Producer is { OpType: "DequantizeLinear" } dq && dq.Inputs[0] is { Initializer: not null } codes)
        {
            w = codes;
            quantized = true;
        }
        if (w.Initializer is not { } t || t.Dims.Count != 2) return null;
        if (!quantized && t.DataType != (int)DT.Float && t.DataType != (int)DT.Double) return null;
        bool matLayout = matmul || node.Attributes.GetInt("transB", 0) == 0;
        return new TargetInfo(w, matLayout ? t.Dims[0] : t.Dims[1], matLayout ? t.Dims[1] : t.Dims[0], matLayout, quantized);
    }

    /// <summary>y = node(x) + scale·(x·A)·B, placed after the node; returns the adapter record.</summary>
    private static LoraAdapter AddBranch(Model model, Node node, string weight, Tensor aTensor, Tensor bTensor, float scale, bool matLayout, bool quantized)
    {
        var g = model.Graph;
        var b = new GraphBuilder(g, node);
        var aName = model.Names.Fresh(weight + ".lora_A");
        var bName = model.Names.Fresh(weight + ".lora_B");
        var aValue = g.AddInitializer(new Value(aName), aTensor);
        var bValue = g.AddInitializer(new Value(bName), bTensor);
        var x = node.Inputs[0]!;
        Value low = matLayout ? b.Op("MatMul", new[] { x, aValue }, hint: aName + "_x") : b.Op("Gemm", new[] { x, aValue }, new[] { Attr.FromInt("transB", 1) }, hint: aName + "_x");
        Value up = matLayout ? b.Op("MatMul", new[] { low, bValue }, hint: bName + "_x") : b.Op("Gemm", new[] { low, bValue }, new[] { Attr.FromInt("transB", 1) }, hint: bName + "_x");
        var s = b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { scale }), "lora_scale");
        var delta = b.Op("Mul", new[] { up, s }, hint: weight + ".lora_delta");
        // y = original(x) + delta, placed after the original node.
        var y = node.Outputs[0];
        string yName = y.Name;
        y.Name = model.Names.Fresh(yName + "_base");
        var sum = new Value(yName) { Info = y.Info };
        var add = new Node("Add", new[] { y, delta }, new[] { sum }, name: model.Names.Fresh(weight + ".lora_add"));
        y.ReplaceAllUsesWith(sum, includeGraphOutputs: true);
        add.SetInput(0, y);
        g.InsertAfter(node, add);
        return new LoraAdapter(weight, aName, bName, scale, matLayout, quantized, node.Name);
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

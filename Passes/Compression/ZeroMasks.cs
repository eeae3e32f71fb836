using OnnxRev.Building;
using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Keeps pruned weights at zero through training: every float parameter with exact zeros gets a constant 0/1 mask
/// (an initializer named NAME.mask) multiplied into it before its uses, so the loss sees W⊙M and ∂L/∂W = M⊙∂L/∂(W⊙M)
/// is exactly 0 at pruned positions. With W starting at +0 there, every optimizer of <see cref="Autodiff.Optimizers"/>
/// leaves it at +0: SGD's momentum buffer and Adam's m and v stay 0 (update 0/(√0+ε) = 0), and decoupled or coupled
/// weight decay adds wd·0 = 0. (Re-applying masks after each step instead would let momentum built before the mask
/// was known push weights back between steps, and costs a host round trip per step.)
/// </summary>
public static class ZeroMasks
{
    /// <summary>Inserts the masks for <paramref name="parameters"/> (initializers of <paramref name="model"/>); returns the masked names.</summary>
    public static IReadOnlyList<string> Insert(Model model, IEnumerable<Value> parameters)
    {
        var masked = new List<string>();
        var g = model.Graph;
        foreach (var p in parameters.ToList())
        {
            if (p.Initializer is not { DataType: (int)DT.Float } t || p.Uses.Count == 0) continue;
            var data = t.ToFloatArray();
            var mask = new float[data.Length];
            bool any = false;
            for (int i = 0; i < data.Length; i++)
            {
                bool zero = data[i] == 0f;
                mask[i] = zero ? 0f : 1f;
                any |= zero;
            }
            if (!any) continue;
            var uses = p.Uses.ToList();
            var anchor = uses.Select(u => u.Node).OrderBy(n => IndexOf(g, n)).First();
            var b = new GraphBuilder(g, anchor);
            var m = b.Initializer(Tensor.FromFloats("", t.Dims, mask), p.Name + ".mask");
            var product = b.Op("Mul", new[] { p, m }, hint: p.Name + ".masked");
            foreach (var u in uses) u.Node.SetInput(u.InputIndex, product);
            masked.Add(p.Name);
        }
        return masked;
    }

    private static int IndexOf(Graph g, Node n)
    {
        for (int i = 0; i < g.Nodes.Count; i++) if (ReferenceEquals(g.Nodes[i], n)) return i;
        return g.Nodes.Count;
    }
}

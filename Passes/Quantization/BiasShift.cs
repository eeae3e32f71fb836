using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// Adds a per-output-channel constant δ to what a MatMul (or Gemm) produces, exactly: into the layer's bias where it
/// has one (Gemm's C, or a following Add of a constant with one value per output channel), else through a new
/// <c>Add(y, δ)</c> after the layer. Quantizers use it for bias correction: the mean output error a low-bit weight
/// leaves over the calibration data is absorbed by the bias, which stays float.
/// </summary>
public static class BiasShift
{
    /// <summary>How a shift was stored.</summary>
    public enum Where { ExistingBias, NewAdd }

    /// <summary>
    /// Adds <paramref name="delta"/> (N values) to the output of the main-graph MatMul/Gemm whose weight (input 1) is
    /// <paramref name="weight"/>. A bias read by other nodes too is copied, not changed under them.
    /// </summary>
    public static Where Apply(Model model, string weight, float[] delta)
    {
        var g = model.Graph;
        int at = g.Nodes.ToList().FindIndex(n => n.IsStandardDomain && n.OpType is "MatMul" or "Gemm" && n.Inputs.Count >= 2 && n.Inputs[1]?.Name == weight);
        if (at < 0) throw new OnnxRevException($"bias shift: no MatMul or Gemm reads the weight '{weight}'");
        var node = g.Nodes[at];
        var y = node.Outputs[0];
        if (node.OpType == "Gemm" && node.Inputs.Count > 2 && Rewiring.ConstantFloat(node.Inputs[2]) is { } c && c.ElementCount == delta.Length)
        {
            float beta = node.Attributes.GetFloat("beta", 1f);
            if (beta != 0)
            {
                Shift(g, node, 2, c, delta.Select(d => d / beta).ToArray());
                return Where.ExistingBias;
            }
        }
        if (node.OpType == "MatMul" && y.Uses.Count == 1 && !y.IsGraphOutput && y.Uses[0].Node is { IsStandardDomain: true, OpType: "Add" } add)
        {
            int other = y.Uses[0].InputIndex == 0 ? 1 : 0;
            if (Rewiring.ConstantFloat(add.Inputs[other]) is { } b && b.ElementCount == delta.Length && b.Dims.Take(b.Dims.Count - 1).All(d => d == 1))
            {
                Shift(g, add, other, b, delta);
                return Where.ExistingBias;
            }
        }
        // The shifted value takes the layer output's place and its name, so readers (and anything that finds the tensor
        // by name, such as a calibration probe) see the shifted one.
        var uses = y.Uses.ToArray();
        var shift = Rewiring.AddFloats(g, Rewiring.Hint(node) + "_bias_shift", new long[] { delta.Length }, delta);
        var shifted = new GraphBuilder(g, at + 1 < g.Nodes.Count ? g.Nodes[at + 1] : null).Op("Add", new[] { y, shift }, hint: Rewiring.Hint(node) + "_shifted");
        foreach (var u in uses) u.Node.SetInput(u.InputIndex, shifted);
        for (int i = 0; i < g.Outputs.Count; i++)
            if (ReferenceEquals(g.Outputs[i], y)) g.Outputs[i] = shifted;
        (y.Name, shifted.Name) = (shifted.Name, y.Name);
        if (y.Type is not null) shifted.Type = y.Type.Clone();
        return Where.NewAdd;
    }

    private static void Shift(Graph g, Node reader, int index, Tensor bias, float[] delta)
    {
        var data = bias.ToFloatArray();
        for (int i = 0; i < data.Length; i++) data[i] += delta[i];
        var old = reader.Inputs[index]!;
        if (old.Uses.Count == 1 && !old.IsGraphOutput)
            g.ReplaceInitializer(old, Tensor.FromFloats(old.Name, bias.Dims.ToArray(), data));
        else
            reader.SetInput(index, Rewiring.AddFloats(g, old.Name + "_shifted", bias.Dims.ToArray(), data));
    }
}

using OnnxRev.Ir;
using Attr = OnnxRev.Ir.Attribute;
using static OnnxRev.Passes.Autodiff.Gradients.GradientHelpers;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Ops that move elements without changing them (slicing and gathering: <see cref="IndexingGradients"/>).
/// <code>
/// Reshape, Flatten, Squeeze, Unsqueeze: dX = Reshape(dY, Shape(X))
/// Transpose(perm):  dX = Transpose(dY, perm⁻¹)
/// Expand:           dX = dY summed over the broadcast axes (by the engine)
/// Tile(repeats r):  dX = ReduceSum(Reshape(dY, [r₀, d₀, r₁, d₁, …]), axes 0, 2, 4, …)
/// Split:            dX = Concat(dY₀, dY₁, …) along the axis, zeros for outputs without a gradient
/// Concat:           dXᵢ = Slice(dY, offsetᵢ, offsetᵢ + sizeᵢ) along the axis
/// Pad (constant):   dX = dY[b : −e] (re-padded with zeros where pads were negative, i.e. cropped)
///                   dvalue = Σ dY − Σ dY[b : −e]
/// </code>
/// </summary>
public static class ShapeGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        foreach (var op in new[] { "Reshape", "Flatten", "Squeeze", "Unsqueeze" })
            r.Register(op, 5, g => g.SetInputGrad(0, g.Ops.ReshapeLike(g.dY, g.X(0))));
        r.Register("Transpose", 1, Transpose);
        r.Register("Expand", 8, g => g.SetInputGradBroadcast(0, g.dY, g.Output(0)));
        r.Register("Tile", 6, Tile);
        r.Register("Split", 1, Split);
        r.Register("Concat", 1, Concat);
        r.Register("Pad", 2, Pad);
    }

    private static void Transpose(GradientContext g)
    {
        var perm = g.Ints("perm")?.ToArray() ?? Iota(0, g.RankOf(g.X(0))).Reverse().ToArray();
        g.SetInputGrad(0, g.Ops.Transpose(g.dY, Inverse(perm)));
    }

    private static void Tile(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        var x = g.X(0);
        int rank = g.RankOf(x);
        // [[r₀, r₁, …], [d₀, d₁, …]] → transposed and flattened: [r₀, d₀, r₁, d₁, …], all at run time.
        var repeats = g.Node.Inputs[1]!;
        var pairs = g.Op("Concat", new[] { g.Ops.Unsqueeze(repeats, 0), g.Ops.Unsqueeze(g.Ops.Shape(x), 0) }, Attr.FromInt("axis", 0));
        var shape = ReshapeTo(g, g.Ops.Transpose(pairs, new long[] { 1, 0 }), -1);
        var blocks = g.Op("Reshape", g.dY, shape);
        g.SetInputGrad(0, g.Ops.ReduceSum(blocks, Enumerable.Range(0, rank).Select(i => 2L * i).ToArray(), keepDims: false));
    }

    private static void Split(GradientContext g)
    {
        if (!g.NeedsGrad(0)) return;
        var parts = new Value[g.Node.Outputs.Count];
        int type = g.ElemType(g.X(0));
        for (int k = 0; k < parts.Length; k++)
            parts[k] = g.OutputGrad(k) ?? g.Ops.Fill(g.Output(k), 0, type);
        g.SetInputGrad(0, g.Op("Concat", parts, Attr.FromInt("axis", g.Int("axis", 0))));
    }

    private static void Concat(GradientContext g)
    {
        var y = g.Output(0);
        int rank = g.RankOf(y);
        int axis = Axis(g, g.Int("axis", 0), rank);
        long offset = 0;
        for (int i = 0; i < g.InputCount; i++)
        {
            var size = StaticDims(g, g.X(i), axis, "concatenated size")[0];
            if (g.NeedsGrad(i)) g.SetInputGrad(i, g.Ops.Slice(g.dY, new[] { offset }, new[] { offset + size }, new long[] { axis }));
            offset += size;
        }
    }

    private static void Pad(GradientContext g)
    {
        string mode = g.Str("mode", "constant");
        if (mode != "constant")
            throw new OnnxRevException($"the gradient of {g.Node.Describe()} supports constant mode only, not '{mode}'");
        var x = g.X(0);
        int rank = g.RankOf(x);
        long[] pads;
        long[] axes = Iota(0, rank);
        if (g.Opset >= 11)
        {
            pads = RequireConstInts(g, g.Node.Inputs[1], "pads");
            if (g.Opset >= 18 && g.Node.Inputs.Count > 3 && g.Node.Inputs[3] is { } axesInput)
                axes = RequireConstInts(g, axesInput, "axes").Select(a => (long)Axis(g, a, rank)).ToArray();
        }
        else pads = g.Ints("pads")?.ToArray() ?? g.Ints("paddings")?.ToArray() ?? throw new OnnxRevException($"{g.Node.Describe()} has no pads");
        int n = axes.Length;

        // Keep the part of dY that came from X, then put back (as zeros) what negative pads cropped.
        var sliceAxes = new List<long>();
        var starts = new List<long>();
        var ends = new List<long>();
        var repad = new long[2 * rank];
        for (int i = 0; i < n; i++)
        {
            long b = pads[i], e = pads[i + n];
            if (b > 0 || e > 0)
            {
                sliceAxes.Add(axes[i]);
                starts.Add(Math.Max(b, 0));
                ends.Add(e > 0 ? -e : long.MaxValue);
            }
            repad[axes[i]] = Math.Max(-b, 0);
            repad[axes[i] + rank] = Math.Max(-e, 0);
        }
        var dy = g.dY;
        var inner = sliceAxes.Count == 0 ? dy : g.Ops.Slice(dy, starts.ToArray(), ends.ToArray(), sliceAxes.ToArray());
        if (g.NeedsGrad(0)) g.SetInputGrad(0, repad.Any(p => p != 0) ? PadZeros(g, inner, repad) : inner);
        if (g.NeedsGrad(2))
        {
            var all = g.Ops.ReduceSum(dy, Array.Empty<long>(), keepDims: false);
            var kept = g.Ops.ReduceSum(inner, Array.Empty<long>(), keepDims: false);
            g.SetInputGrad(2, g.Op("Sub", all, kept));
        }
    }
}

using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Normalizations and Dropout. For a normalization over axes S (E = mean over S, kept dims),
/// μ = E[X], σ² = E[(X−μ)²], r = 1/√(σ²+ε), X̂ = (X−μ)·r, Y = γ·X̂ + β; the statistics are
/// recomputed from X in the backward (optional Mean/InvStdDev outputs are never relied on).
/// <code>
/// dX̂ = dY·γ,  dX = r·(dX̂ − E[dX̂] − X̂·E[dX̂·X̂]),  dγ = Σ dY·X̂,  dβ = Σ dY  (Σ over the other axes)
/// LayerNormalization: S = [axis, rank); Mean and InvStdDev outputs are not differentiated through.
/// BatchNormalization, training (training_mode=1, or several outputs before opset 14): S = every axis
///   but 1 (batch statistics, biased variance); running_mean/var outputs are not differentiable.
/// BatchNormalization, inference: Y = (X−m)·γ·r + β with r = 1/√(v+ε) from the given mean m and var v:
///   dX = dY·γ·r, dγ = Σ dY·(X−m)·r, dβ = Σ dY, dm = −γ·r·Σ dY, dv = −½·γ·r³·Σ dY·(X−m)
/// Dropout (training): Y = X·mask/(1−ratio), so dX = dY·mask/(1−ratio) with the forward's own mask
///   (the mask output is added to the forward node when it has none); otherwise dX = dY.
/// </code>
/// </summary>
public static class NormalizationGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("LayerNormalization", 17, LayerNorm);
        r.Register("BatchNormalization", 7, BatchNorm);
        r.Register("Dropout", 7, g => g.SetInputGrad(0, g.dY));
        r.Register("Dropout", 12, Dropout);
    }

    private static long[] Range(int from, int to) => Enumerable.Range(from, to - from).Select(a => (long)a).ToArray();

    /// <summary>X̂ and r = 1/√(σ²+ε) over <paramref name="axes"/>, recomputed from X.</summary>
    private static (Value XHat, Value R) Normalize(GradientContext g, Value x, long[] axes, double eps)
    {
        var mu = g.Ops.ReduceMean(x, axes, keepDims: true);
        var xc = g.Op("Sub", x, mu);
        var variance = g.Ops.ReduceMean(g.Op("Mul", xc, xc), axes, keepDims: true);
        var r = g.Op("Reciprocal", g.Op("Sqrt", g.Op("Add", variance, g.Scalar(eps, x))));
        return (g.Op("Mul", xc, r), r);
    }

    /// <summary>dX = r·(dX̂ − E[dX̂] − X̂·E[dX̂·X̂]).</summary>
    private static Value NormalizeBackward(GradientContext g, Value dxhat, Value xhat, Value r, long[] axes)
    {
        var m1 = g.Ops.ReduceMean(dxhat, axes, keepDims: true);
        var m2 = g.Ops.ReduceMean(g.Op("Mul", dxhat, xhat), axes, keepDims: true);
        return g.Op("Mul", r, g.Op("Sub", g.Op("Sub", dxhat, m1), g.Op("Mul", xhat, m2)));
    }

    private static void LayerNorm(GradientContext g)
    {
        if (g.OutputGrad(0) is not { } dy) return; // only Mean/InvStdDev are used downstream: not differentiated through
        var x = g.X(0);
        int rank = g.RankOf(x);
        long axis = g.Int("axis", -1);
        if (axis < 0) axis += rank;
        var axes = Range((int)axis, rank);
        var (xhat, r) = Normalize(g, x, axes, g.Float("epsilon", 1e-5f));
        var y = g.Output(0);
        if (g.NeedsGrad(0)) g.SetInputGrad(0, NormalizeBackward(g, g.Op("Mul", dy, g.X(1)), xhat, r, axes));
        if (g.NeedsGrad(1)) g.SetInputGradBroadcast(1, g.Op("Mul", dy, xhat), y);
        if (g.Input(2) is not null) g.SetInputGradBroadcast(2, dy, y);
    }

    private static void BatchNorm(GradientContext g)
    {
        if (g.OutputGrad(0) is not { } dy) return; // running statistics are not differentiable
        if (g.Opset < 9 && g.Int("spatial", 1) == 0)
            throw new OnnxRevException($"the gradient of {g.Node.Describe()} does not support spatial=0");
        bool training = g.Opset >= 14 ? g.Int("training_mode", 0) != 0 : g.Node.Outputs.Skip(1).Any(o => o.Name.Length > 0);
        var x = g.X(0);
        int rank = g.RankOf(x);
        var axes = new long[] { 0 }.Concat(Range(2, rank)).ToArray();
        // Per-channel [C] tensors broadcast against X as [C, 1, …].
        Value PerChannel(Value v) => rank > 2 ? g.Ops.Unsqueeze(v, Range(1, rank - 1)) : v;
        Value SumToChannel(Value v, int input) => ToTypeOf(g, g.Ops.ReduceSum(v, axes, keepDims: false), g.X(input));
        double eps = g.Float("epsilon", 1e-5f);
        var gamma = PerChannel(ToTypeOf(g, g.X(1), x));

        if (training)
        {
            var (xhat, r) = Normalize(g, x, axes, eps);
            if (g.NeedsGrad(0)) g.SetInputGrad(0, NormalizeBackward(g, g.Op("Mul", dy, gamma), xhat, r, axes));
            if (g.NeedsGrad(1)) g.SetInputGrad(1, SumToChannel(g.Op("Mul", dy, xhat), 1));
            if (g.NeedsGrad(2)) g.SetInputGrad(2, SumToChannel(dy, 2));
            return; // the given mean and var only feed the running statistics
        }

        var mean = PerChannel(ToTypeOf(g, g.X(3), x));
        var rr = g.Op("Reciprocal", g.Op("Sqrt", g.Op("Add", PerChannel(ToTypeOf(g, g.X(4), x)), g.Scalar(eps, x))));
        var gr = g.Op("Mul", gamma, rr);
        var xc = g.Op("Sub", x, mean);
        if (g.NeedsGrad(0)) g.SetInputGrad(0, g.Op("Mul", dy, gr));
        if (g.NeedsGrad(1)) g.SetInputGrad(1, SumToChannel(g.Op("Mul", dy, g.Op("Mul", xc, rr)), 1));
        if (g.NeedsGrad(2)) g.SetInputGrad(2, SumToChannel(dy, 2));
        if (g.NeedsGrad(3)) g.SetInputGrad(3, SumToChannel(g.Op("Neg", g.Op("Mul", dy, gr)), 3));
        if (g.NeedsGrad(4))
        {
            var r3 = g.Op("Mul", gr, g.Op("Mul", rr, rr));
            g.SetInputGrad(4, SumToChannel(g.Op("Mul", g.Op("Mul", dy, xc), g.Op("Mul", r3, g.Scalar(-0.5, x))), 4));
        }
    }

    /// <summary>Casts <paramref name="v"/> to the element type of <paramref name="like"/> when both are known and differ.</summary>
    private static Value ToTypeOf(GradientContext g, Value v, Value like)
    {
        int tv = g.ElemType(v), tl = g.ElemType(like);
        return tv != 0 && tl != 0 && tv != tl ? g.Ops.Cast(v, tl) : v;
    }

    private static void Dropout(GradientContext g)
    {
        var dy = g.dY;
        var mode = g.Input(2);
        bool? constantMode = mode is null ? false : ConstantBool(mode);
        if (constantMode == false) { g.SetInputGrad(0, dy); return; }
        if (!g.NeedsGrad(0)) return;

        var mask = MaskOutput(g);
        var keep = g.Op("Sub", g.Scalar(1, g.X(0)), g.Input(1) is { } ratio ? ToTypeOf(g, ratio, g.X(0)) : g.Scalar(0.5, g.X(0)));
        var train = g.Op("Div", g.Op("Mul", dy, ActivationGradients.Mask(g, mask)), keep);
        // training_mode computed at run time: select between the two gradients.
        g.SetInputGrad(0, constantMode == true ? train : g.Op("Where", mode!, train, dy));
    }

    /// <summary>The forward node's mask output, added to the node when it does not produce one.</summary>
    private static Value MaskOutput(GradientContext g)
    {
        var node = g.Node;
        if (node.Outputs.Count > 1)
        {
            var existing = node.Outputs[1];
            if (existing.Name.Length == 0) existing.Name = g.B.FreshName("dropout_mask");
            return g.Output(1);
        }
        node.AddOutput(new Value(g.B.FreshName("dropout_mask")));
        return g.Output(1);
    }

    private static bool? ConstantBool(Value v)
    {
        if (!v.IsConstant || v.Initializer is not { } t) return null;
        var raw = t.ReadRawBytes();
        return t.DataType == (int)DT.Bool && raw.Length >= 1 ? raw[0] != 0 : null;
    }
}

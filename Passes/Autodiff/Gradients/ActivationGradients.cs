using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Pointwise activations and selections. [c] is a boolean condition cast to the float type (1 or 0);
/// masks are built from Greater/Less/Not and a Cast so they are valid at every opset.
/// <code>
/// Relu: dX = dY·[X&gt;0]                      LeakyRelu: dX = dY·([X&gt;0] + α·[X≤0])
/// Sigmoid: dX = dY·Y·(1−Y)                  Tanh: dX = dY·(1−Y²)
/// Erf: dX = dY·2/√π·exp(−X²)                Exp: dX = dY·Y
/// Log: dX = dY/X                            Sqrt: dX = dY·0.5/Y
/// Reciprocal: dX = −dY·Y²                   Abs: dX = dY·([X&gt;0] − [X&lt;0])
/// Pow(A, B): dA = dY·B·A^(B−1), dB = dY·Y·ln A (both summed over broadcast axes)
/// HardSigmoid: dX = dY·α·[0 &lt; αX+β &lt; 1]   (tested on Y: 0 &lt; Y &lt; 1)
/// HardSwish: dX = dY·([−3&lt;X&lt;3]·(X/3 + ½) + [X&gt;3])
/// Gelu (none): dX = dY·(Φ(X) + X·φ(X)), Φ(X) = ½(1+erf(X/√2)), φ(X) = exp(−X²/2)/√(2π)
/// Gelu (tanh): u = √(2/π)(X + 0.044715X³), t = tanh u, dX = dY·(½(1+t) + ½X(1−t²)·√(2/π)(1 + 3·0.044715X²))
/// Softplus: dX = dY·sigmoid(X)              Elu: dX = dY·([X&gt;0] + [X≤0]·(Y+α))
/// Clip: dX = dY·[min&lt;X&lt;max], dmin = Σ dY·[X&lt;min], dmax = Σ dY·[X&gt;max]
/// Cast (float→float): dX = Cast(dY, type of X); no gradient through integer or bool casts
/// Where(C, X, Y): dX = dY·[C], dY' = dY·[¬C] (C not differentiable)
/// Max/Min(x₀…xₙ): dxᵢ = dY·[xᵢ is the first input equal to the result]
/// </code>
/// </summary>
public static class ActivationGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("Relu", 1, g => g.SetInputGrad(0, g.Op("Mul", g.dY, Mask(g, g.Op("Greater", g.X(0), Zero(g))))));
        r.Register("LeakyRelu", 1, LeakyRelu);
        r.Register("Sigmoid", 1, g => g.SetInputGrad(0, g.Op("Mul", g.dY, g.Op("Mul", g.Output(0), g.Op("Sub", One(g), g.Output(0))))));
        r.Register("Tanh", 1, g => g.SetInputGrad(0, g.Op("Mul", g.dY, g.Op("Sub", One(g), g.Op("Mul", g.Output(0), g.Output(0))))));
        r.Register("Erf", 1, Erf);
        r.Register("Exp", 1, g => g.SetInputGrad(0, g.Op("Mul", g.dY, g.Output(0))));
        r.Register("Log", 1, g => g.SetInputGrad(0, g.Op("Div", g.dY, g.X(0))));
        r.Register("Sqrt", 1, g => g.SetInputGrad(0, g.Op("Div", g.Op("Mul", g.dY, C(g, 0.5)), g.Output(0))));
        r.Register("Reciprocal", 1, g => g.SetInputGrad(0, g.Op("Neg", g.Op("Mul", g.dY, g.Op("Mul", g.Output(0), g.Output(0))))));
        r.Register("Abs", 1, Abs);
        r.Register("Pow", 1, Pow);
        r.Register("HardSigmoid", 1, HardSigmoid);
        r.Register("HardSwish", 14, HardSwish);
        r.Register("Gelu", 20, Gelu);
        r.Register("Softplus", 1, g => g.SetInputGrad(0, g.Op("Mul", g.dY, g.Op("Sigmoid", g.X(0)))));
        r.Register("Elu", 1, Elu);
        r.Register("Clip", 1, g => Clip(g, AttrBound(g, "min"), AttrBound(g, "max"), false));
        r.Register("Clip", 11, g => Clip(g, g.Input(1), g.Input(2), true));
        r.Register("Cast", 1, Cast);
        r.Register("Where", 9, Where);
        r.Register("Max", 1, g => Select(g, "Less"));
        r.Register("Min", 1, g => Select(g, "Greater"));
    }

    /// <summary>A boolean tensor cast to the float type of <paramref name="g"/>'s output gradient: 1 where true, 0 elsewhere.</summary>
    internal static Value Mask(GradientContext g, Value condition) => g.Ops.Cast(condition, FloatType(g));

    /// <summary>The float type the gradients of this node are computed in.</summary>
    internal static int FloatType(GradientContext g)
    {
        int t = g.ElemType(g.Node.Outputs[0]);
        return t == 0 ? (int)DT.Float : t;
    }

    private static Value Zero(GradientContext g) => g.Scalar(0, g.Node.Outputs[0]);

    private static Value One(GradientContext g) => g.Scalar(1, g.Node.Outputs[0]);

    private static Value C(GradientContext g, double v) => g.Scalar(v, g.Node.Outputs[0]);

    private static void LeakyRelu(GradientContext g)
    {
        double alpha = g.Float("alpha", 0.01f);
        var pos = Mask(g, g.Op("Greater", g.X(0), Zero(g)));
        // [X>0] + α·(1 − [X>0]) = α + (1 − α)·[X>0]
        var factor = g.Op("Add", C(g, alpha), g.Op("Mul", pos, C(g, 1 - alpha)));
        g.SetInputGrad(0, g.Op("Mul", g.dY, factor));
    }

    private static void Erf(GradientContext g)
    {
        var x = g.X(0);
        var e = g.Op("Exp", g.Op("Neg", g.Op("Mul", x, x)));
        g.SetInputGrad(0, g.Op("Mul", g.dY, g.Op("Mul", e, C(g, 2 / Math.Sqrt(Math.PI)))));
    }

    private static void Abs(GradientContext g)
    {
        var x = g.X(0);
        var sign = g.Op("Sub", Mask(g, g.Op("Greater", x, Zero(g))), Mask(g, g.Op("Less", x, Zero(g))));
        g.SetInputGrad(0, g.Op("Mul", g.dY, sign));
    }

    private static void Pow(GradientContext g)
    {
        var a = g.X(0);
        var y = g.Output(0);
        var b = g.X(1);
        int ta = g.ElemType(a), tb = g.ElemType(b);
        var bf = ta != 0 && tb != 0 && ta != tb ? g.Ops.Cast(b, ta) : b;
        if (g.NeedsGrad(0))
        {
            var powm1 = g.Op("Pow", a, g.Op("Sub", bf, g.Scalar(1, a)));
            g.SetInputGradBroadcast(0, g.Op("Mul", g.dY, g.Op("Mul", bf, powm1)), y);
        }
        if (g.NeedsGrad(1))
        {
            var db = g.Op("Mul", g.dY, g.Op("Mul", y, g.Op("Log", a)));
            if (ta != 0 && tb != 0 && ta != tb) db = g.Ops.Cast(db, tb);
            g.SetInputGradBroadcast(1, db, y);
        }
    }

    private static void HardSigmoid(GradientContext g)
    {
        double alpha = g.Float("alpha", 0.2f);
        var y = g.Output(0);
        var inside = g.Op("Mul", Mask(g, g.Op("Greater", y, Zero(g))), Mask(g, g.Op("Less", y, One(g))));
        g.SetInputGrad(0, g.Op("Mul", g.dY, g.Op("Mul", inside, C(g, alpha))));
    }

    private static void HardSwish(GradientContext g)
    {
        var x = g.X(0);
        var inside = g.Op("Mul", Mask(g, g.Op("Greater", x, C(g, -3))), Mask(g, g.Op("Less", x, C(g, 3))));
        var slope = g.Op("Add", g.Op("Div", x, C(g, 3)), C(g, 0.5));
        var factor = g.Op("Add", g.Op("Mul", inside, slope), Mask(g, g.Op("Greater", x, C(g, 3))));
        g.SetInputGrad(0, g.Op("Mul", g.dY, factor));
    }

    private static void Gelu(GradientContext g)
    {
        var x = g.X(0);
        var half = C(g, 0.5);
        var one = One(g);
        Value factor;
        switch (g.Str("approximate", "none"))
        {
            case "none":
            {
                var cdf = g.Op("Mul", half, g.Op("Add", one, g.Op("Erf", g.Op("Mul", x, C(g, 1 / Math.Sqrt(2))))));
                var pdf = g.Op("Mul", g.Op("Exp", g.Op("Mul", g.Op("Mul", x, x), C(g, -0.5))), C(g, 1 / Math.Sqrt(2 * Math.PI)));
                factor = g.Op("Add", cdf, g.Op("Mul", x, pdf));
                break;
            }
            case "tanh":
            {
                double k = Math.Sqrt(2 / Math.PI), c = 0.044715;
                var x2 = g.Op("Mul", x, x);
                var u = g.Op("Mul", g.Op("Add", x, g.Op("Mul", C(g, c), g.Op("Mul", x2, x))), C(g, k));
                var t = g.Op("Tanh", u);
                var du = g.Op("Mul", C(g, k), g.Op("Add", one, g.Op("Mul", C(g, 3 * c), x2)));
                var sech2 = g.Op("Sub", one, g.Op("Mul", t, t));
                factor = g.Op("Add", g.Op("Mul", half, g.Op("Add", one, t)), g.Op("Mul", g.Op("Mul", half, x), g.Op("Mul", sech2, du)));
                break;
            }
            default:
                throw new OnnxRevException($"{g.Node.Describe()}: unknown Gelu approximation '{g.Str("approximate", "none")}'");
        }
        g.SetInputGrad(0, g.Op("Mul", g.dY, factor));
    }

    private static void Elu(GradientContext g)
    {
        double alpha = g.Float("alpha", 1f);
        var pos = Mask(g, g.Op("Greater", g.X(0), Zero(g)));
        // X ≤ 0: Y = α(eˣ − 1), so dY/dX = αeˣ = Y + α.
        var neg = g.Op("Mul", g.Op("Sub", One(g), pos), g.Op("Add", g.Output(0), C(g, alpha)));
        g.SetInputGrad(0, g.Op("Mul", g.dY, g.Op("Add", pos, neg)));
    }

    private static void Clip(GradientContext g, Value? min, Value? max, bool boundsAreInputs)
    {
        var x = g.X(0);
        var dy = g.dY;
        Value? pass = null;
        if (min is not null) pass = Mask(g, g.Op("Greater", x, min));
        if (max is not null)
        {
            var below = Mask(g, g.Op("Less", x, max));
            pass = pass is null ? below : g.Op("Mul", pass, below);
        }
        g.SetInputGrad(0, pass is null ? dy : g.Op("Mul", dy, pass));
        if (!boundsAreInputs) return;
        // min and max are scalars: each collects the gradient of the elements clipped to it.
        if (min is not null && g.NeedsGrad(1)) g.SetInputGrad(1, g.Ops.ReduceSum(g.Op("Mul", dy, Mask(g, g.Op("Less", x, min))), Array.Empty<long>(), keepDims: false));
        if (max is not null && g.NeedsGrad(2)) g.SetInputGrad(2, g.Ops.ReduceSum(g.Op("Mul", dy, Mask(g, g.Op("Greater", x, max))), Array.Empty<long>(), keepDims: false));
    }

    private static Value? AttrBound(GradientContext g, string name) =>
        g.Node.Attributes.Find(name) is { } a ? g.Scalar(a.Float, g.Node.Outputs[0]) : null;

    private static bool IsFloat(int t) => t is (int)DT.Float or (int)DT.Double or (int)DT.Float16 or (int)DT.Bfloat16;

    private static void Cast(GradientContext g)
    {
        var x = g.X(0);
        int from = g.ElemType(x);
        int to = (int)g.Int("to", 0);
        if (!IsFloat(to) || (from != 0 && !IsFloat(from))) return; // not differentiable
        if (from == 0) throw new OnnxRevException($"the gradient of {g.Node.Describe()} needs the element type of '{x.Name}'");
        g.SetInputGrad(0, from == to ? g.dY : g.Ops.Cast(g.dY, from));
    }

    private static void Where(GradientContext g)
    {
        var y = g.Output(0);
        var zero = Zero(g);
        if (g.NeedsGrad(1)) g.SetInputGradBroadcast(1, g.Op("Where", g.X(0), g.dY, zero), y);
        if (g.NeedsGrad(2)) g.SetInputGradBroadcast(2, g.Op("Where", g.X(0), zero, g.dY), y);
    }

    /// <summary>
    /// Max/Min: xᵢ was selected where it equals the result, i.e. where it is not below (Max) or not
    /// above (Min) it; on ties the first such input takes the whole gradient.
    /// </summary>
    private static void Select(GradientContext g, string loses)
    {
        var y = g.Output(0);
        Value? taken = null;
        for (int i = 0; i < g.InputCount; i++)
        {
            if (g.Input(i) is not { } xi) continue;
            var hit = g.Op("Not", g.Op(loses, xi, y));
            var mine = taken is null ? hit : g.Op("And", hit, g.Op("Not", taken));
            if (g.NeedsGrad(i)) g.SetInputGradBroadcast(i, g.Op("Mul", g.dY, Mask(g, mine)), y);
            taken = taken is null ? hit : g.Op("Or", taken, hit);
        }
    }
}

using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Arithmetic with numpy broadcasting. Rules return gradients shaped like the output; the engine
/// sums them down to each input's shape.
/// <code>
/// Add: dA = dY, dB = dY            Sub: dA = dY, dB = −dY
/// Mul: dA = dY·B, dB = dY·A        Div: dA = dY/B, dB = −dY·Y/B
/// Neg: dX = −dY                    Identity: dX = dY
/// </code>
/// </summary>
public static class ElementwiseGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r)
    {
        r.Register("Add", 1, Add);
        r.Register("Sub", 1, Sub);
        r.Register("Mul", 1, Mul);
        r.Register("Div", 1, Div);
        r.Register("Neg", 1, g => g.SetInputGrad(0, g.Op("Neg", g.dY)));
        r.Register("Identity", 1, g => g.SetInputGrad(0, g.dY));
    }

    private static void Add(GradientContext g)
    {
        var y = g.Output(0);
        g.SetInputGradBroadcast(0, g.dY, y);
        g.SetInputGradBroadcast(1, g.dY, y);
    }

    private static void Sub(GradientContext g)
    {
        var y = g.Output(0);
        g.SetInputGradBroadcast(0, g.dY, y);
        if (g.NeedsGrad(1)) g.SetInputGradBroadcast(1, g.Op("Neg", g.dY), y);
    }

    private static void Mul(GradientContext g)
    {
        var y = g.Output(0);
        if (g.NeedsGrad(0)) g.SetInputGradBroadcast(0, g.Op("Mul", g.dY, g.X(1)), y);
        if (g.NeedsGrad(1)) g.SetInputGradBroadcast(1, g.Op("Mul", g.dY, g.X(0)), y);
    }

    private static void Div(GradientContext g)
    {
        var y = g.Output(0);
        if (g.NeedsGrad(0)) g.SetInputGradBroadcast(0, g.Op("Div", g.dY, g.X(1)), y);
        if (g.NeedsGrad(1)) g.SetInputGradBroadcast(1, g.Op("Neg", g.Op("Div", g.Op("Mul", g.dY, y), g.X(1))), y);
    }
}

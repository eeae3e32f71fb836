using OnnxRev.Passes.Autodiff.Gradients;

namespace OnnxRev.Passes.Autodiff;

/// <summary>The registry of every gradient rule this library has, built explicitly in one place.</summary>
public static class StandardGradients
{
    private static readonly Lazy<GradientRegistry> Shared = new(Create);

    /// <summary>The shared registry.</summary>
    public static GradientRegistry Registry => Shared.Value;

    /// <summary>Builds a registry with every family's rules and the not-differentiable ops.</summary>
    public static GradientRegistry Create()
    {
        var r = new GradientRegistry();
        ElementwiseGradients.Register(r);
        ReductionGradients.Register(r);
        ActivationGradients.Register(r);
        SoftmaxGradients.Register(r);
        MatMulGradients.Register(r);
        NormalizationGradients.Register(r);
        ConvGradients.Register(r);
        PoolingGradients.Register(r);
        ShapeGradients.Register(r);
        IndexingGradients.Register(r);
        QuantizationGradients.Register(r);
        NotDifferentiableOps.Register(r);
        return r;
    }
}

/// <summary>Ops whose outputs carry no gradient: shapes, indices, comparisons, constants, random draws.</summary>
public static class NotDifferentiableOps
{
    /// <summary>Registers them.</summary>
    public static void Register(GradientRegistry r)
    {
        foreach (var op in new[]
        {
            "Shape", "Size", "Constant", "ConstantOfShape", "Range", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
            "Not", "And", "Or", "Xor", "NonZero", "ArgMax", "ArgMin", "OneHot", "IsNaN", "IsInf", "Sign", "Floor", "Ceil", "Round",
            "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "EyeLike",
        })
        {
            r.NotDifferentiable(op);
        }
    }
}

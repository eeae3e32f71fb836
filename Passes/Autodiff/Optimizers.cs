using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff;

/// <summary>Which optimizer the training graph applies.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with optional momentum, Nesterov and (coupled, L2) weight decay.</summary>
    Sgd,
    /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter) and bias correction.</summary>
    AdamW,
}

/// <summary>Optimizer settings. The learning rate and the step number are graph inputs, so schedules need no graph change.</summary>
public sealed record OptimizerOptions(
    OptimizerKind Kind = OptimizerKind.AdamW,
    double Momentum = 0,
    bool Nesterov = false,
    double WeightDecay = 0,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Epsilon = 1e-8,
    double? ClipGlobalNorm = null)
{
    /// <summary>Names of the per-parameter state tensors, in order.</summary>
    public IReadOnlyList<string> StateNames => Kind switch
    {
        OptimizerKind.AdamW => new[] { "m", "v" },
        _ => Momentum != 0 ? new[] { "momentum" } : Array.Empty<string>(),
    };
}

/// <summary>
/// Optimizer updates as standard ONNX subgraphs (t = step, counted from 1):
/// <code>
/// SGD:   g' = g + wd·p;  b = μ·b + g';  u = nesterov ? g' + μ·b : b  (u = g' without momentum);  p ← p − lr·u
/// AdamW: m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);  p ← p − lr·(m̂/(√v̂ + ε) + wd·p)
/// clip:  n = √Σ‖g‖²;  g ← g·min(1, c/(n + 1e−6))  (before the update, over all gradients together)
/// </code>
/// </summary>
public static class Optimizers
{
    /// <summary>Emits the update of every parameter; returns the new parameter and new states for each, in order.</summary>
    public static IReadOnlyList<(Value Param, IReadOnlyList<Value> States)> Emit(GraphBuilder b, OpsetOps ops, OptimizerOptions o, Value lr, Value step,
        IReadOnlyList<(Value Param, Value Grad, IReadOnlyList<Value> States)> items)
    {
        Value F(double v) => b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { (float)v }), "opt_const");
        var grads = items.Select(i => i.Grad).ToList();
        if (o.ClipGlobalNorm is { } clip)
        {
            var squares = grads.Select(g => ops.ReduceSum(b.Op("Mul", new[] { g, g }), Array.Empty<long>(), keepDims: false)).ToList();
            var total = squares.Count == 1 ? squares[0] : b.Op("Sum", squares);
            var norm = b.Op("Sqrt", new[] { total }, hint: "grad_norm");
            var scale = b.Op("Min", new[] { F(1), b.Op("Div", new[] { F(clip), b.Op("Add", new[] { norm, F(1e-6) }) }) }, hint: "clip_scale");
            grads = grads.Select(g => b.Op("Mul", new[] { g, scale })).ToList();
        }
        var result = new List<(Value, IReadOnlyList<Value>)>();
        Value? bias1 = null, bias2 = null;
        if (o.Kind == OptimizerKind.AdamW)
        {
            bias1 = b.Op("Sub", new[] { F(1), b.Op("Pow", new[] { F(o.Beta1), step }) }, hint: "adam_bias1");
            bias2 = b.Op("Sub", new[] { F(1), b.Op("Pow", new[] { F(o.Beta2), step }) }, hint: "adam_bias2");
        }
        for (int k = 0; k < items.Count; k++)
        {
            var (p, _, states) = items[k];
            var g = grads[k];
            if (o.Kind == OptimizerKind.AdamW)
            {
                var m = b.Op("Add", new[] { b.Op("Mul", new[] { states[0], F(o.Beta1) }), b.Op("Mul", new[] { g, F(1 - o.Beta1) }) }, hint: p.Name + ".m");
                var v = b.Op("Add", new[] { b.Op("Mul", new[] { states[1], F(o.Beta2) }), b.Op("Mul", new[] { b.Op("Mul", new[] { g, g }), F(1 - o.Beta2) }) }, hint: p.Name + ".v");
                var mhat = b.Op("Div", new[] { m, bias1! });
                var vhat = b.Op("Div", new[] { v, bias2! });
                Value update = b.Op("Div", new[] { mhat, b.Op("Add", new[] { b.Op("Sqrt", new[] { vhat }), F(o.Epsilon) }) });
                if (o.WeightDecay != 0) update = b.Op("Add", new[] { update, b.Op("Mul", new[] { p, F(o.WeightDecay) }) });
                var newP = b.Op("Sub", new[] { p, b.Op("Mul", new[] { update, lr }) }, hint: p.Name + ".updated");
                result.Add((newP, new[] { m, v }));
            }
            else
            {
                if (o.WeightDecay != 0) g = b.Op("Add", new[] { g, b.Op("Mul", new[] { p, F(o.WeightDecay) }) });
                Value update = g;
                var newStates = new List<Value>();
                if (o.Momentum != 0)
                {
                    var buf = b.Op("Add", new[] { b.Op("Mul", new[] { states[0], F(o.Momentum) }), g }, hint: p.Name + ".momentum");
                    newStates.Add(buf);
                    update = o.Nesterov ? b.Op("Add", new[] { g, b.Op("Mul", new[] { buf, F(o.Momentum) }) }) : buf;
                }
                var newP = b.Op("Sub", new[] { p, b.Op("Mul", new[] { update, lr }) }, hint: p.Name + ".updated");
                result.Add((newP, newStates));
            }
        }
        return result;
    }

}

using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff;

/// <summary>
/// Decides what a gradient rule reads for a forward value: the value itself (stored), or a twin the plan
/// builds in the backward graph (recomputed from a stored block input, or reconstructed from a
/// reversible block's outputs). Called lazily, in backward order.
/// </summary>
public interface IActivationPlan
{
    /// <summary>The value rules should read in place of <paramref name="forward"/>.</summary>
    Value Resolve(Value forward, BackwardContext context);
}

/// <summary>What an <see cref="IActivationPlan"/> may use while the backward graph is being built.</summary>
public sealed class BackwardContext
{
    private readonly GradientEngine.Run _run;

    internal BackwardContext(GradientEngine.Run run) => _run = run;

    /// <summary>Emits backward nodes.</summary>
    public GraphBuilder Builder => _run.Builder;

    /// <summary>Opset-aware op helpers.</summary>
    public OpsetOps Ops => _run.Ops;

    /// <summary>The (complete) gradient of a value every consumer of which has already been differentiated.</summary>
    public Value? GradOf(Value v) => _run.GradOf(v);

    /// <summary>
    /// A gradient that is complete now: the one flowing into the node whose rule is running. Twins that
    /// depend on it cannot be computed before the backward reaches that node.
    /// </summary>
    public Value? CurrentGradient => _run.Current?.Outputs.Select(o => _run.HasGrad(o) ? _run.GradOf(o) : null).FirstOrDefault(g => g is not null);

    /// <summary>
    /// The contributions to parameter gradients emitted since the last call (in backward order: those of the blocks
    /// the backward has just passed). A twin tied to them waits until they are computed, so ONNX Runtime cannot
    /// postpone a block's weight gradients — and keep its recomputed activations alive — until the backward ends.
    /// </summary>
    public IReadOnlyList<Value> DrainParameterGradients() => _run.DrainParameterGradients();

    /// <summary>Records that <paramref name="twin"/> has the shape and type of <paramref name="original"/>.</summary>
    public void Alias(Value twin, Value original) => _run.Alias(twin, original);

    /// <summary>A scalar constant of the element type of <paramref name="like"/>.</summary>
    public Value Scalar(double value, Value like) => _run.Scalar(value, _run.FloatTypeOf(like));
}

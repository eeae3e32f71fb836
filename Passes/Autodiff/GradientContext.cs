using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Shapes;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff;

/// <summary>
/// What a gradient rule sees of one forward node: its inputs and outputs, the gradients flowing into
/// its outputs, and a builder for backward nodes. <see cref="Input"/> returns the forward value, or
/// the twin the memory planner substitutes for it (recomputed or reconstructed), so rules never know
/// how activations are kept.
/// </summary>
public sealed class GradientContext
{
    private readonly GradientEngine.Run _run;

    internal GradientContext(GradientEngine.Run run, Node node)
    {
        _run = run;
        Node = node;
    }

    /// <summary>The forward node.</summary>
    public Node Node { get; }

    /// <summary>Emits backward nodes (appended after the forward graph).</summary>
    public GraphBuilder B => _run.Builder;

    /// <summary>The model's ai.onnx opset.</summary>
    public int Opset => _run.Opset;

    /// <summary>Forward shapes and types (inferred before any backward node was added).</summary>
    public ShapeInfo Shapes => _run.Shapes;

    /// <summary>Number of forward inputs.</summary>
    public int InputCount => Node.Inputs.Count;

    /// <summary>Forward input <paramref name="i"/> (or its substitute), null when omitted.</summary>
    public Value? Input(int i) => i < Node.Inputs.Count && Node.Inputs[i] is { } v ? _run.Substitute(v) : null;

    /// <summary>Forward input <paramref name="i"/>, which must be present.</summary>
    public Value X(int i) => Input(i) ?? throw new InvalidOperationException($"{Node.Describe()} has no input {i}");

    /// <summary>Forward output <paramref name="i"/> (or its substitute).</summary>
    public Value Output(int i) => _run.Substitute(Node.Outputs[i]);

    /// <summary>The gradient flowing into output <paramref name="i"/>, or null when nothing downstream needs it.</summary>
    public Value? OutputGrad(int i) => i < Node.Outputs.Count ? _run.GradOf(Node.Outputs[i]) : null;

    /// <summary>The gradient of output 0, which must exist.</summary>
    public Value dY => OutputGrad(0) ?? throw new InvalidOperationException($"{Node.Describe()} output 0 has no gradient");

    /// <summary>True when input <paramref name="i"/> leads back to a trainable parameter and is floating point.</summary>
    public bool NeedsGrad(int i) => i < Node.Inputs.Count && Node.Inputs[i] is { } v && _run.NeedsGrad(v);

    /// <summary>Sets the gradient of input <paramref name="i"/> (shape equal to the input's). Ignored when not needed.</summary>
    public void SetInputGrad(int i, Value grad)
    {
        if (NeedsGrad(i)) _run.Accumulate(Node.Inputs[i]!, grad);
    }

    /// <summary>
    /// Sets the gradient of input <paramref name="i"/> from a gradient shaped like the broadcast result
    /// <paramref name="broadcastOf"/>: the engine sums it over the broadcast axes first.
    /// </summary>
    public void SetInputGradBroadcast(int i, Value grad, Value broadcastOf)
    {
        if (!NeedsGrad(i)) return;
        var input = Node.Inputs[i]!;
        _run.Accumulate(input, _run.ReduceToShape(grad, broadcastOf, input));
    }

    /// <summary>INT attribute or default.</summary>
    public long Int(string name, long fallback) => Node.Attributes.GetInt(name, fallback);

    /// <summary>FLOAT attribute or default.</summary>
    public float Float(string name, float fallback) => Node.Attributes.GetFloat(name, fallback);

    /// <summary>INTS attribute or null.</summary>
    public IReadOnlyList<long>? Ints(string name) => Node.Attributes.GetInts(name);

    /// <summary>STRING attribute or default.</summary>
    public string Str(string name, string fallback) => Node.Attributes.GetString(name, fallback);

    /// <summary>Element type of a forward value (0 when unknown).</summary>
    public int ElemType(Value v) => Shapes.TryGetType(v, out int t, out _) && t != 0 ? t : v.ElementType;

    /// <summary>Rank of a forward value, or null when unknown.</summary>
    public int? Rank(Value v) => Shapes.TryGetType(v, out _, out var d) && d is not null ? d.Length : v.Shape?.Length;

    /// <summary>Rank of a forward value, which must be known.</summary>
    public int RankOf(Value v) => Rank(v) ?? throw new OnnxRevException($"the gradient of {Node.Describe()} needs the rank of '{v.Name}', which shape inference could not determine");

    /// <summary>A scalar constant of the element type of <paramref name="like"/>.</summary>
    public Value Scalar(double value, Value like) => _run.Scalar(value, ElemType(like) == 0 ? (int)DT.Float : ElemType(like));

    /// <summary>An int64 1-D constant.</summary>
    public Value Ints64(params long[] values) => _run.Int64s(values);

    /// <summary>Shorthand for a one-output node.</summary>
    public Value Op(string opType, params Value?[] inputs) => B.Op(opType, inputs);

    /// <summary>Shorthand for a one-output node with attributes.</summary>
    public Value Op(string opType, Value?[] inputs, params Ir.Attribute[] attributes) => B.Op(opType, inputs, attributes);

    /// <summary>Opset-aware helpers (ReduceSum, Unsqueeze, Squeeze, …).</summary>
    public OpsetOps Ops => _run.Ops;
}

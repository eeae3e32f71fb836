using OnnxRev.Schema;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>
/// A managed reference evaluator for ai.onnx nodes whose inputs are all constants, used by the
/// constant-folding and shape-folding passes. It computes exactly what the operator spec defines for the
/// operators and types it supports and declines (returns false with a reason) for anything else.
/// float32 arithmetic is done in float (no widening to double, no fused multiply-add).
/// Outputs may share their data arrays with inputs (Identity, Reshape, Squeeze, ...): tensors are immutable.
/// </summary>
public static class ConstantEvaluator
{
    private delegate HostTensor[] Kernel(EvalContext ctx);

    /// <summary>The supported ai.onnx operators: this table is the single list the folding passes consult.</summary>
    private static readonly Dictionary<string, Kernel> Ops = new(StringComparer.Ordinal)
    {
        // Shape and data movement.
        ["Identity"] = ShapeKernels.Identity,
        ["Shape"] = ShapeKernels.Shape,
        ["Size"] = ShapeKernels.Size,
        ["Reshape"] = ShapeKernels.Reshape,
        ["Flatten"] = ShapeKernels.Flatten,
        ["Unsqueeze"] = ShapeKernels.Unsqueeze,
        ["Squeeze"] = ShapeKernels.Squeeze,
        ["Transpose"] = ShapeKernels.Transpose,
        ["Expand"] = ShapeKernels.Expand,
        ["Tile"] = ShapeKernels.Tile,
        ["Gather"] = IndexKernels.Gather,
        ["Concat"] = IndexKernels.Concat,
        ["Split"] = IndexKernels.Split,
        ["Slice"] = IndexKernels.Slice,
        // Generators.
        ["ConstantOfShape"] = GeneratorKernels.ConstantOfShape,
        ["Range"] = GeneratorKernels.Range,
        ["NonZero"] = GeneratorKernels.NonZero,
        // Elementwise with broadcasting.
        ["Add"] = BinaryKernels.Add,
        ["Sub"] = BinaryKernels.Sub,
        ["Mul"] = BinaryKernels.Mul,
        ["Div"] = BinaryKernels.Div,
        ["Mod"] = BinaryKernels.Mod,
        ["Pow"] = BinaryKernels.Pow,
        ["Min"] = BinaryKernels.Min,
        ["Max"] = BinaryKernels.Max,
        ["Sum"] = BinaryKernels.Sum,
        ["Equal"] = CompareKernels.Equal,
        ["Less"] = CompareKernels.Less,
        ["Greater"] = CompareKernels.Greater,
        ["LessOrEqual"] = CompareKernels.LessOrEqual,
        ["GreaterOrEqual"] = CompareKernels.GreaterOrEqual,
        ["And"] = CompareKernels.And,
        ["Or"] = CompareKernels.Or,
        ["Xor"] = CompareKernels.Xor,
        ["Not"] = CompareKernels.Not,
        ["Where"] = CompareKernels.Where,
        ["Clip"] = UnaryKernels.Clip,
        // Elementwise unary.
        ["Neg"] = UnaryKernels.Neg,
        ["Abs"] = UnaryKernels.Abs,
        ["Sign"] = UnaryKernels.Sign,
        ["Relu"] = UnaryKernels.Relu,
        ["Floor"] = UnaryKernels.Floor,
        ["Ceil"] = UnaryKernels.Ceil,
        ["Sqrt"] = UnaryKernels.Sqrt,
        ["Reciprocal"] = UnaryKernels.Reciprocal,
        ["Exp"] = UnaryKernels.Exp,
        ["Log"] = UnaryKernels.Log,
        ["Tanh"] = UnaryKernels.Tanh,
        ["Sigmoid"] = UnaryKernels.Sigmoid,
        ["Cast"] = CastKernel.Cast,
        // Reductions and linear algebra.
        ["ReduceSum"] = ReduceKernels.ReduceSum,
        ["ReduceProd"] = ReduceKernels.ReduceProd,
        ["ReduceMin"] = ReduceKernels.ReduceMin,
        ["ReduceMax"] = ReduceKernels.ReduceMax,
        ["ReduceMean"] = ReduceKernels.ReduceMean,
        ["MatMul"] = MatMulKernel.MatMul,
    };

    /// <summary>The operator types this evaluator can compute (ai.onnx domain), sorted.</summary>
    public static IReadOnlyList<string> SupportedOps { get; } = [.. Ops.Keys.Order(StringComparer.Ordinal)];

    /// <summary>True when <paramref name="opType"/> in <paramref name="domain"/> ("" or "ai.onnx") is in the op table.
    /// A supported op may still decline particular inputs, types or attributes.</summary>
    public static bool Supports(string opType, string domain) => IsOnnxDomain(domain) && Ops.ContainsKey(opType);

    /// <summary>
    /// Computes a node whose inputs are all constants. Returns false with a one-line reason when the
    /// evaluator does not fold it (unsupported op, type or attribute, invalid inputs); never guesses.
    /// </summary>
    /// <param name="opType">The node's op_type.</param>
    /// <param name="domain">The node's domain ("" or "ai.onnx").</param>
    /// <param name="opsetVersion">The ai.onnx opset version imported by the model.</param>
    /// <param name="inputs">The node's inputs in order; null marks an omitted optional input.</param>
    /// <param name="attributes">The node's attributes.</param>
    /// <param name="outputs">The computed outputs, in node output order, when true is returned.</param>
    /// <param name="reason">Why the node was not folded, when false is returned; empty otherwise.</param>
    public static bool TryEvaluate(string opType, string domain, int opsetVersion, IReadOnlyList<HostTensor?> inputs,
        IReadOnlyList<AttributeProto> attributes, out HostTensor[] outputs, out string reason) =>
        TryEvaluate(opType, domain, opsetVersion, inputs, attributes, -1, out outputs, out reason);

    /// <summary>
    /// Like the other overload, but told how many outputs the node has (needed by Split without split sizes,
    /// and used to decline nodes that ask for outputs the evaluator does not produce).
    /// </summary>
    /// <param name="opType">The node's op_type.</param>
    /// <param name="domain">The node's domain ("" or "ai.onnx").</param>
    /// <param name="opsetVersion">The ai.onnx opset version imported by the model.</param>
    /// <param name="inputs">The node's inputs in order; null marks an omitted optional input.</param>
    /// <param name="attributes">The node's attributes.</param>
    /// <param name="outputCount">The number of outputs the node declares, or -1 when unknown.</param>
    /// <param name="outputs">The computed outputs, in node output order, when true is returned.</param>
    /// <param name="reason">Why the node was not folded, when false is returned; empty otherwise.</param>
    public static bool TryEvaluate(string opType, string domain, int opsetVersion, IReadOnlyList<HostTensor?> inputs,
        IReadOnlyList<AttributeProto> attributes, int outputCount, out HostTensor[] outputs, out string reason)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        outputs = [];
        if (!IsOnnxDomain(domain)) { reason = $"domain '{domain}' is not folded"; return false; }
        if (!Ops.TryGetValue(opType, out Kernel? kernel)) { reason = $"op '{opType}' is not folded"; return false; }
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i] is { DataType: OnnxDataType.BFloat16 })
            {
                reason = $"input {i} has unsupported type {OnnxDataType.Name(OnnxDataType.BFloat16)}";
                return false;
            }
        }
        try
        {
            var ctx = new EvalContext(opType, opsetVersion, inputs, attributes, outputCount);
            HostTensor[] result = kernel(ctx);
            if (outputCount > result.Length)
            {
                reason = $"op '{opType}' produces {result.Length} output(s) but the node has {outputCount}";
                return false;
            }
            outputs = result;
            reason = "";
            return true;
        }
        catch (FoldDeclinedException e) { reason = $"{opType}: {e.Message}"; }
        catch (DivideByZeroException) { reason = $"{opType}: integer division by zero"; }
        catch (OverflowException) { reason = $"{opType}: integer overflow (e.g. MIN / -1)"; }
        return false;
    }

    private static bool IsOnnxDomain(string domain) => domain is "" or "ai.onnx";
}

using OnnxRev.Passes.Cleanup.Folding;
using OnnxRev.Schema;

namespace OnnxRev.Tests.Passes.Folding;

/// <summary>Small builders shared by the evaluator unit tests.</summary>
internal static class FoldingTestHelpers
{
    public static HostTensor F(long[] dims, params float[] values) => HostTensor.Create(dims, values);

    public static HostTensor I32(long[] dims, params int[] values) => HostTensor.Create(dims, values);

    public static HostTensor I64(long[] dims, params long[] values) => HostTensor.Create(dims, values);

    public static HostTensor Iota(params long[] dims) =>
        HostTensor.Create(dims, Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(i => (float)i).ToArray());

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>Evaluates and asserts success, returning the outputs.</summary>
    public static HostTensor[] Eval(string op, int opset, HostTensor?[] inputs, params AttributeProto[] attrs)
    {
        bool ok = ConstantEvaluator.TryEvaluate(op, "", opset, inputs, attrs, out HostTensor[] outputs, out string reason);
        Assert.That(ok, Is.True, $"{op} declined: {reason}");
        return outputs;
    }

    /// <summary>Evaluates a single-output node and asserts success.</summary>
    public static HostTensor Eval1(string op, int opset, HostTensor?[] inputs, params AttributeProto[] attrs) =>
        Eval(op, opset, inputs, attrs)[0];

    /// <summary>Evaluates and asserts a decline, returning the reason.</summary>
    public static string Declines(string op, int opset, HostTensor?[] inputs, params AttributeProto[] attrs)
    {
        bool ok = ConstantEvaluator.TryEvaluate(op, "", opset, inputs, attrs, out _, out string reason);
        Assert.That(ok, Is.False, $"{op} was expected to decline");
        Assert.That(reason, Is.Not.Empty);
        return reason;
    }
}

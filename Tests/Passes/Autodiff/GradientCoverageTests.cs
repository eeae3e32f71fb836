using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>
/// Every operator the fixture models use (except LSTM, whose gradient is out of scope) and every
/// operator of the training-graph issue must have a gradient rule or an explicit not-differentiable
/// entry in <see cref="StandardGradients.Registry"/> at the model's opset. A failure lists what is missing.
/// </summary>
public class GradientCoverageTests
{
    private static readonly HashSet<string> OutOfScope = new() { "LSTM" };

    /// <summary>The operators the training-graph issue names, all at opset 17 (the fixtures' opset).</summary>
    private static readonly string[] IssueOps =
    {
        "Conv", "BatchNormalization", "LayerNormalization", "Gemm", "Softmax", "LogSoftmax", "Erf", "HardSwish", "HardSigmoid",
        "MaxPool", "AveragePool", "GlobalAveragePool", "Gather", "Slice", "Split", "Concat", "Expand", "Where", "ReduceSum",
        "ReduceMean", "Dropout", "MatMul", "Relu", "Add", "Sub", "Mul", "Div", "Reshape", "Transpose", "Flatten", "Unsqueeze",
        "Squeeze", "Identity", "Cast", "Shape", "Constant", "ConstantOfShape", "Equal", "Sqrt", "Pow",
    };

    private static IEnumerable<(string Op, int Opset)> Missing(IEnumerable<string> ops, int opset) =>
        ops.Where(op => !OutOfScope.Contains(op) && !StandardGradients.Registry.TryGet(OpKey.Onnx(op), opset, out _))
            .Distinct().OrderBy(op => op, StringComparer.Ordinal).Select(op => (op, opset));

    [Test]
    public void EveryFixtureOperatorHasAnEntry()
    {
        var missing = new List<string>();
        foreach (var name in RepoPaths.FixtureModels)
        {
            var model = ModelReader.Load(Path.Combine(RepoPaths.Fixtures, name + ".onnx"));
            int opset = (int)(model.OpsetVersion("") ?? 1);
            var ops = model.Graph.Nodes.Where(n => n.IsStandardDomain).Select(n => n.OpType);
            missing.AddRange(Missing(ops, opset).Select(m => $"{name}: {m.Op} (opset {m.Opset})"));
            var custom = model.Graph.Nodes.Where(n => !n.IsStandardDomain).Select(n => n.Key.ToString()).Distinct();
            missing.AddRange(custom.Select(k => $"{name}: {k} (not ai.onnx)"));
        }
        Assert.That(missing, Is.Empty, "operators without a gradient rule or not-differentiable entry:\n  " + string.Join("\n  ", missing));
    }

    [Test]
    public void EveryOperatorOfTheIssueHasAnEntry()
    {
        var missing = Missing(IssueOps, 17).Select(m => $"{m.Op} (opset {m.Opset})").ToList();
        Assert.That(missing, Is.Empty, "operators without a gradient rule or not-differentiable entry:\n  " + string.Join("\n  ", missing));
    }

    [Test]
    public void TheCoverageCheckSeesAMissingOperator() =>
        Assert.That(Missing(new[] { "Conv", "NoSuchOperator" }, 17).Select(m => m.Op), Is.EqualTo(new[] { "NoSuchOperator" }));
}

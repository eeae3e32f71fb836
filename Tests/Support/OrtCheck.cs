using OnnxRev.Ir;
using OnnxRev.Runtime;
using OnnxRev.Serialization;

namespace OnnxRev.Tests.Support;

/// <summary>
/// Numeric equivalence of a rewritten model against the original, in ONNX Runtime with its own graph
/// optimizations off (so ORT can neither mask nor cause a difference). Outputs must have the same names
/// in the same order and agree within rtol 1e-6, atol 1e-7 (|a − e| ≤ atol + rtol·|e|); integer and
/// bool outputs must be equal.
/// </summary>
public static class OrtCheck
{
    /// <summary>Relative tolerance of <see cref="AssertEquivalent(byte[], Model, IReadOnlyDictionary{string, DataValue}?, int)"/>.</summary>
    public const double Rtol = 1e-6;

    /// <summary>Absolute tolerance.</summary>
    public const double Atol = 1e-7;

    /// <summary>ORT's own optimizations off.</summary>
    public static readonly RunnerOptions NoOpt = new() { OptimizationLevel = OptimizationLevel.None };

    /// <summary>Runs a serialized model on the given inputs (seeded random ones when null).</summary>
    public static OrderedDictionary<string, DataValue> Run(byte[] model, IReadOnlyDictionary<string, DataValue>? inputs = null, int seed = 1234)
    {
        using var runner = new OrtRunner(model, NoOpt, "model under test");
        return runner.Run(inputs ?? RandomInputs.For(runner, seed));
    }

    /// <summary>Asserts that <paramref name="rewritten"/> computes what <paramref name="original"/> (serialized before the rewrite) did.</summary>
    public static void AssertEquivalent(byte[] original, Model rewritten, IReadOnlyDictionary<string, DataValue>? inputs = null, int seed = 1234) =>
        AssertEquivalent(original, ModelWriter.ToBytes(rewritten), inputs, seed);

    /// <summary>Asserts that two serialized models compute the same outputs on the same inputs.</summary>
    public static void AssertEquivalent(byte[] original, byte[] rewritten, IReadOnlyDictionary<string, DataValue>? inputs = null, int seed = 1234)
    {
        using var before = new OrtRunner(original, NoOpt, "original");
        var feeds = inputs ?? RandomInputs.For(before, seed);
        var expected = before.Run(feeds);
        using var after = new OrtRunner(rewritten, NoOpt, "rewritten");
        Assert.That(after.Inputs.Select(i => i.Name), Is.EqualTo(before.Inputs.Select(i => i.Name)), "the model inputs changed");
        var actual = after.Run(feeds);
        Assert.That(actual.Keys, Is.EqualTo(expected.Keys), "the output names or their order changed");
        var cmp = OutputComparison.Compare(actual, expected, Rtol, Atol);
        Assert.That(cmp.Ok, Is.True, $"outputs differ (rtol {Rtol}, atol {Atol}): {cmp}");
    }
}

/// <summary>Explicit ORT inputs for tests that need particular values (e.g. both branches of an If).</summary>
public static class Feeds
{
    /// <summary>A float tensor input.</summary>
    public static Dictionary<string, DataValue> Floats(string name, long[] dims, params float[] values)
    {
        var t = new Schema.TensorProto { Name = name, DataType = (int)Schema.TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return new Dictionary<string, DataValue> { [name] = DataValue.Tensor(t) };
    }

    /// <summary>Adds a scalar bool input to <paramref name="feeds"/>.</summary>
    public static Dictionary<string, DataValue> WithBool(Dictionary<string, DataValue> feeds, string name, bool value)
    {
        var t = new Schema.TensorProto { Name = name, DataType = (int)Schema.TensorProto.Types.DataType.Bool };
        t.Int32Data.Add(value ? 1 : 0);
        return new Dictionary<string, DataValue>(feeds) { [name] = DataValue.Tensor(t) };
    }
}

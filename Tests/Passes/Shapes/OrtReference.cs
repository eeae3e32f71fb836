using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxRev.Ir;
using Tensor = OnnxRev.Ir.Tensor;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Passes.Shapes;

/// <summary>
/// Runs models with ONNX Runtime (CPU, graph optimizations off, so ORT's own constant folding does
/// not hide what our passes did) and compares outputs with rtol 1e-4, atol 1e-5.
/// </summary>
internal static class OrtReference
{
    public const double RelativeTolerance = 1e-4;
    public const double AbsoluteTolerance = 1e-5;

    /// <summary>A named input tensor: float or int64 data and its dims.</summary>
    public sealed record Input(string Name, int ElemType, long[] Dims, float[]? Floats, long[]? Longs);

    /// <summary>Reads a fixture's input_N.pb files, named after the model's graph inputs in order.</summary>
    public static List<Input> FixtureInputs(string name, Model model)
    {
        var inputs = new List<Input>();
        var dir = Path.Combine(RepoPaths.Fixtures, name + "_data");
        var graphInputs = model.Graph.Inputs.Where(v => !v.IsConstant).ToList();
        for (int i = 0; File.Exists(Path.Combine(dir, $"input_{i}.pb")); i++)
        {
            var t = new Tensor(TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, $"input_{i}.pb"))));
            inputs.Add(new Input(graphInputs[i].Name, t.DataType, t.Dims.ToArray(),
                t.DataType == (int)DT.Float ? t.ToFloatArray() : null, t.DataType == (int)DT.Int64 ? t.ToInt64Array() : null));
        }
        return inputs;
    }

    /// <summary>The fixture's expected output_0.pb as floats.</summary>
    public static float[] FixtureOutput(string name) =>
        new Tensor(TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(RepoPaths.Fixtures, name + "_data", "output_0.pb")))).ToFloatArray();

    /// <summary>Saves <paramref name="model"/> with <see cref="ModelWriter.Save"/> to a temporary folder and runs it; returns output 0 and its dims.</summary>
    public static (float[] Values, long[] Dims) Run(Model model, IReadOnlyList<Input> inputs)
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string path = Path.Combine(dir, "model.onnx");
            ModelWriter.Save(model, path);
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
            using var session = new InferenceSession(path, options);
            var feeds = inputs.Select(i => i.Floats is not null
                ? NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<float>(i.Floats, i.Dims.Select(d => (int)d).ToArray()))
                : NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<long>(i.Longs!, i.Dims.Select(d => (int)d).ToArray()))).ToList();
            using var results = session.Run(feeds);
            var tensor = results.First().AsTensor<float>();
            return (tensor.ToArray(), tensor.Dimensions.ToArray().Select(d => (long)d).ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Asserts |a - e| ≤ atol + rtol·|e| element-wise.</summary>
    public static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what + ": element count");
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double excess = Math.Abs(actual[i] - expected[i]) - (AbsoluteTolerance + RelativeTolerance * Math.Abs(expected[i]));
            if (excess > worst) { worst = excess; worstAt = i; }
        }
        Assert.That(worstAt, Is.EqualTo(-1), () => $"{what}: element {worstAt} is {actual[worstAt]}, expected {expected[worstAt]} (rtol {RelativeTolerance}, atol {AbsoluteTolerance})");
    }

    /// <summary>Uniform random floats in [-1, 1).</summary>
    public static float[] RandomFloats(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }
}

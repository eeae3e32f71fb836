using OnnxRev.Ir;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;
using IrAttribute = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>Small models and helpers for the quantization tests.</summary>
internal static class QuantTestModels
{
    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>y = x·W (x [rows, k], W [k, n] initializer).</summary>
    public static Model MatMul(int rows, int k, int n, int seed = 1)
    {
        var g = new Graph("matmul");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(rows, k));
        var w = GraphBuild.FloatInit(g, "W", new long[] { k, n }, Random(k * n, seed));
        GraphBuild.Output(g, GraphBuild.Op(g, "MatMul", new[] { x, w }, "y"), ModelFactory.FloatType(rows, n));
        return ModelFactory.Wrap(g);
    }

    /// <summary>y = Gemm(x, W, b) as PyTorch exports Linear: W [n, k], transB=1, with alpha/beta.</summary>
    public static Model Gemm(int rows, int k, int n, float alpha = 1f, float beta = 1f, bool transB = true, bool constantBias = true, int seed = 2)
    {
        var g = new Graph("gemm");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(rows, k));
        var w = GraphBuild.FloatInit(g, "W", transB ? new long[] { n, k } : new long[] { k, n }, Random(k * n, seed));
        Value bias = constantBias ? GraphBuild.FloatInit(g, "b", new long[] { n }, Random(n, seed + 1)) : GraphBuild.Input(g, "b", ModelFactory.FloatType(n));
        var y = GraphBuild.Op(g, "Gemm", new[] { x, w, bias }, "y", IrAttribute.FromInt("transB", transB ? 1 : 0), IrAttribute.FromFloat("alpha", alpha), IrAttribute.FromFloat("beta", beta));
        GraphBuild.Output(g, y, ModelFactory.FloatType(rows, n));
        return ModelFactory.Wrap(g);
    }

    /// <summary>y = Relu(Conv(x, W, b)) (3×3, pad 1), x [1, c, h, h].</summary>
    public static Model Conv(int c, int m, int h, bool relu = true, int seed = 3, long opset = 17)
    {
        var g = new Graph("conv");
        var x = GraphBuild.Input(g, "x", ModelFactory.FloatType(1, c, h, h));
        var w = GraphBuild.FloatInit(g, "W", new long[] { m, c, 3, 3 }, Random(m * c * 9, seed, 0.3f));
        var b = GraphBuild.FloatInit(g, "b", new long[] { m }, Random(m, seed + 1, 0.1f));
        var y = GraphBuild.Op(g, "Conv", new[] { x, w, b }, relu ? "conv" : "y", IrAttribute.FromInts("pads", new long[] { 1, 1, 1, 1 }), IrAttribute.FromInts("kernel_shape", new long[] { 3, 3 }));
        if (relu) y = GraphBuild.Op(g, "Relu", new[] { y }, "y");
        GraphBuild.Output(g, y, ModelFactory.FloatType(1, m, h, h));
        return ModelFactory.Wrap(g, opset);
    }

    public static Dictionary<string, DataValue> Feed(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DT.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return new Dictionary<string, DataValue> { [name] = DataValue.Tensor(t) };
    }

    public static float[] Floats(DataValue v) => new Tensor(v.AsTensor()).ToFloatArray();

    /// <summary>Runs a model with ORT optimizations off and returns its first output.</summary>
    public static float[] RunFirst(Model m, Dictionary<string, DataValue> feeds) =>
        Floats(OrtCheck.Run(ModelWriter.ToBytes(m), feeds).Values.First());

    /// <summary>The op types in ONNX Runtime's own optimized graph (saved through SessionOptions.OptimizedModelFilePath).</summary>
    public static Dictionary<string, int> OptimizedOps(Model m, OptimizationLevel level = OptimizationLevel.Extended)
    {
        string path = Path.Combine(Path.GetTempPath(), $"onnxrev-ortopt-{Guid.NewGuid():N}.onnx");
        try
        {
            using (new OrtRunner(ModelWriter.ToBytes(m), new RunnerOptions { OptimizationLevel = level, OptimizedModelPath = path }, "quantized")) { }
            var opt = ModelReader.Load(path);
            return opt.Graph.Nodes.GroupBy(n => n.OpType).ToDictionary(gr => gr.Key, gr => gr.Count());
        }
        finally { File.Delete(path); }
    }
}

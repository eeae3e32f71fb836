using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>
/// fp16 conversion in stock ONNX Runtime CPU. Every fixture converted (both targets) runs on its own test inputs
/// with float32 inputs and outputs, every output within 1e-2 of the float32 output relative to that output's
/// scale: max |y16 − y32| ≤ 1e-2 · max |y32|. With the cpu target ORT has to insert no Cast of its own (every
/// op left in fp16 has a CPU fp16 kernel); the op lists behind that are measured here one op at a time.
/// </summary>
public class Fp16ConversionTests
{
    /// <summary>Tolerance relative to the output's scale.</summary>
    public const double RelativeToScale = 1e-2;

    private const string OrtCastPrefix = "InsertedPrecisionFreeCast";

    /// <summary>Casts ORT's CPU provider added to a model (its InsertCastTransformer: ops without a float16 kernel).</summary>
    private static int OrtInsertedCasts(byte[] model, string what)
    {
        string opt = Path.Combine(Path.GetTempPath(), $"fp16-{Guid.NewGuid():N}.onnx");
        try
        {
            using (new OrtRunner(model, new RunnerOptions { OptimizationLevel = OptimizationLevel.None, OptimizedModelPath = opt }, what)) { }
            return ModelReader.Load(opt).Graph.Nodes.Count(n => n.OpType == "Cast" && n.Name.StartsWith(OrtCastPrefix, StringComparison.Ordinal));
        }
        finally { File.Delete(opt); }
    }

    [Test]
    public void FixtureRunsCloseToFloat32([ValueSource(typeof(RepoPaths), nameof(RepoPaths.FixtureModels))] string name, [Values("cpu", "any")] string target)
    {
        string path = Path.Combine(RepoPaths.Fixtures, name + ".onnx");
        var model = ModelReader.Load(path);
        long before = ModelWriter.ToBytes(model).Length;
        TestDataSet data;
        OrderedDictionary<string, DataValue> expected;
        IoInfo[] inputs;
        using (var runner = new OrtRunner(ModelWriter.ToBytes(model), OrtCheck.NoOpt, name))
        {
            data = TestDataFolder.Read(Path.Combine(RepoPaths.Fixtures, name + "_data"), runner);
            expected = runner.Run(data.Inputs);
            inputs = runner.Inputs.ToArray();
        }
        var pass = new Fp16Conversion(target: target == "any" ? Fp16Target.Any : Fp16Target.Cpu);
        Assert.That(pass.Run(model).Modified, Is.True);
        var bytes = ModelWriter.ToBytes(model);
        int inserted = OrtInsertedCasts(bytes, name);
        if (target == "cpu") Assert.That(inserted, Is.Zero, "with the cpu target every fp16 node has an ORT CPU fp16 kernel");
        foreach (var level in new[] { OptimizationLevel.None, OptimizationLevel.All })
        {
            using var half = new OrtRunner(bytes, new RunnerOptions { OptimizationLevel = level }, name + " fp16");
            Assert.That(half.Inputs.Select(i => (i.Name, i.ElementType)), Is.EqualTo(inputs.Select(i => (i.Name, i.ElementType))), "inputs unchanged");
            var actual = half.Run(data.Inputs);
            Assert.That(actual.Keys, Is.EqualTo(expected.Keys));
            foreach (var (k, e) in expected)
            {
                var et = e.AsTensor();
                var at = actual[k].AsTensor();
                Assert.That(at.DataType, Is.EqualTo(et.DataType), $"output {k} keeps its type");
                if (et.DataType != (int)DT.Float) continue;
                var ev = GradCheck.ToDoubles(et);
                var av = GradCheck.ToDoubles(at);
                double scale = ev.Max(Math.Abs), err = ev.Zip(av, (x, y) => Math.Abs(x - y)).Max();
                if (level == OptimizationLevel.All)
                    TestContext.Out.WriteLine($"fp16 {name} target {target}: output {k} max|err| {err:G3} / scale {scale:G3} = {err / scale:G3}; bytes {before} → {bytes.Length} ({(double)before / bytes.Length:F2}×); fp16 nodes {pass.HalfNodes}; ORT-inserted casts {inserted}; fp32 nodes: {string.Join(", ", pass.FloatNodes.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key}×{kv.Value}"))}");
                Assert.That(err, Is.LessThanOrEqualTo(RelativeToScale * scale), $"{name} output {k} drifts from float32");
            }
        }
    }

    private static Model OneNode(string op, long[][] shapes, int[]? types, Attr[] attrs, int opset = 17)
    {
        var g = new Graph("one");
        var ins = new List<Value?>();
        for (int i = 0; i < shapes.Length; i++) ins.Add(Input(g, $"x{i}", ModelFactory.TensorType(types?[i] ?? (int)DT.Float16, shapes[i])));
        var y = new Value("y");
        var n = new Node(op, ins, new[] { y }, name: "n");
        n.Attributes.AddRange(attrs);
        g.Append(n);
        g.Outputs.Add(y);
        return ModelFactory.Wrap(g, opset);
    }

    private static readonly long[] S = { 2, 3 };
    private const int H = (int)DT.Float16, I64 = (int)DT.Int64;

    /// <summary>A single fp16 node of each op: shapes, input types, attributes.</summary>
    private static Model Case(string op) => op switch
    {
        "Reshape" => OneNode(op, new[] { S, new long[] { 1 } }, new[] { H, I64 }, Array.Empty<Attr>()),
        "Unsqueeze" => OneNode(op, new[] { S, new long[] { 1 } }, new[] { H, I64 }, Array.Empty<Attr>()),
        "Squeeze" => OneNode(op, new[] { new long[] { 1, 3 } }, null, Array.Empty<Attr>()),
        "Slice" => OneNode(op, new[] { S, new long[] { 1 }, new long[] { 1 } }, new[] { H, I64, I64 }, Array.Empty<Attr>()),
        "Split" => OneNode(op, new[] { new long[] { 2, 4 } }, null, new[] { Attr.FromInt("num_outputs", 2) }, 18),
        "Gather" => OneNode(op, new[] { S, new long[] { 2 } }, new[] { H, I64 }, Array.Empty<Attr>()),
        "Expand" => OneNode(op, new[] { new long[] { 1, 3 }, new long[] { 2 } }, new[] { H, I64 }, Array.Empty<Attr>()),
        "Tile" or "Pad" => OneNode(op, new[] { S, new long[] { op == "Pad" ? 4 : 2 } }, new[] { H, I64 }, Array.Empty<Attr>()),
        "Concat" => OneNode(op, new[] { S, S }, null, new[] { Attr.FromInt("axis", 0) }),
        "Max" or "Min" or "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Equal" => OneNode(op, new[] { S, S }, null, Array.Empty<Attr>()),
        "Where" => OneNode(op, new[] { S, S, S }, new[] { (int)DT.Bool, H, H }, Array.Empty<Attr>()),
        "LayerNormalization" => OneNode(op, new[] { S, new long[] { 3 } }, null, Array.Empty<Attr>()),
        "MatMul" or "Gemm" => OneNode(op, new[] { new long[] { 2, 3 }, new long[] { 3, 4 } }, null, Array.Empty<Attr>()),
        "Conv" => OneNode(op, new[] { new long[] { 1, 2, 5, 5 }, new long[] { 3, 2, 3, 3 } }, null, Array.Empty<Attr>()),
        "BatchNormalization" => OneNode(op, new[] { new long[] { 1, 2, 3, 3 }, new long[] { 2 }, new long[] { 2 }, new long[] { 2 }, new long[] { 2 } }, null, Array.Empty<Attr>()),
        "GlobalAveragePool" => OneNode(op, new[] { new long[] { 1, 2, 3, 3 } }, null, Array.Empty<Attr>()),
        "MaxPool" or "AveragePool" => OneNode(op, new[] { new long[] { 1, 2, 4, 4 } }, null, new[] { Attr.FromInts("kernel_shape", new long[] { 2, 2 }) }),
        "LSTM" => OneNode(op, new[] { new long[] { 2, 1, 3 }, new long[] { 1, 16, 3 }, new long[] { 1, 16, 4 } }, null, new[] { Attr.FromInt("hidden_size", 4) }),
        _ => OneNode(op, new[] { S }, null, Array.Empty<Attr>()),
    };

    [Test]
    public void CpuHalfOpsRunWithoutInsertedCasts()
    {
        var wrapped = Fp16Conversion.CpuHalfOps.Where(op => OrtInsertedCasts(ModelWriter.ToBytes(Case(op)), op) > 0).ToList();
        Assert.That(wrapped, Is.Empty, "ops listed as having ORT CPU fp16 kernels that ORT wraps in Casts");
    }

    [TestCase("Add"), TestCase("Sub"), TestCase("Mul"), TestCase("Div"), TestCase("Pow"), TestCase("MatMul"), TestCase("Gemm"), TestCase("Conv")]
    [TestCase("LSTM"), TestCase("BatchNormalization"), TestCase("Relu"), TestCase("Sigmoid"), TestCase("Tanh"), TestCase("Erf"), TestCase("Sqrt")]
    [TestCase("Exp"), TestCase("Softmax"), TestCase("ReduceMean"), TestCase("ReduceSum"), TestCase("ReduceMax"), TestCase("GlobalAveragePool")]
    [TestCase("MaxPool"), TestCase("AveragePool"), TestCase("Pad"), TestCase("Tile"), TestCase("Where"), TestCase("Equal"), TestCase("HardSwish"), TestCase("HardSigmoid")]
    public void OpsWithoutCpuHalfKernelsAreWrappedByOrt(string op)
    {
        Assert.That(Fp16Conversion.CpuHalfOps, Does.Not.Contain(op));
        Assert.That(OrtInsertedCasts(ModelWriter.ToBytes(Case(op)), op), Is.GreaterThan(0), $"ORT CPU now has an fp16 {op} kernel: add it to CpuHalfOps");
    }

    /// <summary>x → MatMul(W) → decomposed LayerNorm (ReduceMean, Sub, Pow, ReduceMean, Add ε, Sqrt, Div) → Cast(int64→float) add → output.</summary>
    [Test]
    public void IslandsTypedAttributesAndBoundaries()
    {
        var g = new Graph("ln");
        var x = Input(g, "x", ModelFactory.FloatType(2, 8));
        var w = ConstantTensor(g, "W", FloatTensor(new long[] { 8, 8 }, Enumerable.Range(0, 64).Select(i => (float)Math.Sin(i)).ToArray()));
        var h = Op(g, "MatMul", new[] { x, w }, "h");
        var axes = Int64Init(g, "axes", new long[] { 1 }, -1);
        var mean = Op(g, "ReduceMean", new[] { h, axes }, "mean", Attr.FromInt("keepdims", 1));
        var c = Op(g, "Sub", new[] { h, mean }, "centered");
        var two = FloatInit(g, "two", Array.Empty<long>(), 2f);
        var sq = Op(g, "Pow", new[] { c, two }, "sq");
        var v = Op(g, "ReduceMean", new[] { sq, axes }, "var", Attr.FromInt("keepdims", 1));
        var eps = FloatInit(g, "eps", Array.Empty<long>(), 1e-5f);
        var ve = Op(g, "Add", new[] { v, eps }, "var_eps");
        var sd = Op(g, "Sqrt", new[] { ve }, "sd");
        var n = Op(g, "Div", new[] { c, sd }, "normed");
        var shape = Op(g, "Shape", new[] { n }, "shape");
        var ones = Op(g, "ConstantOfShape", new[] { shape }, "ones", Attr.FromTensor("value", FloatTensor(new long[] { 1 }, 0.5f)));
        var k = Int64Init(g, "k", new long[] { 1 }, 3);
        var kf = Op(g, "Cast", new[] { k }, "kf", Attr.FromInt("to", (int)DT.Float));
        var y = Op(g, "Add", new[] { Op(g, "Mul", new[] { n, ones }, "half_n"), kf }, "y");
        Output(g, y, ModelFactory.FloatType(2, 8));
        var model = ModelFactory.Wrap(g, 18);
        var original = ModelWriter.ToBytes(model);
        new Fp16Conversion(target: Fp16Target.Any).Run(model);

        Node Producer(string name) => model.Graph.Nodes.First(nd => nd.Outputs.Any(o => o.Name == name));
        Assert.That(model.Graph.Initializers.Single(i => i.Name.StartsWith("W", StringComparison.Ordinal)).Initializer!.DataType, Is.EqualTo((int)DT.Float16), "the Constant-node weight is fp16");
        Assert.That(Producer("kf").Attributes.GetInt("to", 0), Is.EqualTo((int)DT.Float16), "Cast 'to' follows its node");
        Assert.That(Producer("ones").Attributes.Find("value")!.TensorValue!.DataType, Is.EqualTo((int)DT.Float16), "ConstantOfShape value follows its node");
        // The variance chain Pow → ReduceMean → Add ε → Sqrt is one fp32 island; its input and output are the only casts inside.
        var casts = model.Graph.Nodes.Where(nd => nd.OpType == "Cast" && nd.Outputs[0].Name != "kf").ToList();
        Assert.That(casts.Select(cc => cc.Attributes.GetInt("to", 0)).OrderBy(t => t),
            Is.EqualTo(new long[] { (int)DT.Float, (int)DT.Float, (int)DT.Float, (int)DT.Float16, (int)DT.Float16, (int)DT.Float16 }),
            "casts: x→fp16, h→fp32 (mean), centered→fp32 (Pow), mean→fp16, sd→fp16, y→fp32 (output)");
        Assert.That(model.Graph.Inputs[0].ElementType, Is.EqualTo((int)DT.Float));
        Assert.That(model.Graph.Outputs[0].Name, Is.EqualTo("y"));
        using var a = new OrtRunner(original, OrtCheck.NoOpt, "fp32");
        using var b = new OrtRunner(ModelWriter.ToBytes(model), OrtCheck.NoOpt, "fp16");
        var feeds = Feeds.Floats("x", new long[] { 2, 8 }, Enumerable.Range(0, 16).Select(i => (float)Math.Cos(i)).ToArray());
        var e = GradCheck.ToDoubles(a.Run(feeds)["y"].AsTensor());
        var r = GradCheck.ToDoubles(b.Run(feeds)["y"].AsTensor());
        Assert.That(e.Zip(r, (p, q) => Math.Abs(p - q)).Max(), Is.LessThanOrEqualTo(RelativeToScale * e.Max(Math.Abs)));
    }
}

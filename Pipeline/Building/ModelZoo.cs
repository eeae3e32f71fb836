using OnnxRev.Ir;
using OnnxRev.Schema;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Building;

/// <summary>
/// Untrained sample models built with the project's own graph builder, initialized the way PyTorch
/// initializes its layers by default (weights and biases uniform in ±1/√fan_in; LayerNorm 1 and 0),
/// from a seed. Used for training tests, benchmarks and the demo.
/// </summary>
public static class ModelZoo
{
    /// <summary>A small CNN for 28×28 grey images: Conv(1→16,3×3)–ReLU–MaxPool–Conv(16→32,3×3)–ReLU–MaxPool–Flatten–Linear(1568→128)–ReLU–Linear(128→10).</summary>
    public static Model SmallCnn(int seed = 0, int classes = 10)
    {
        var (m, b, rng) = Start("small_cnn", seed);
        var x = Input(m, "x", new Dim("n"), 1, 28, 28);
        var h = Conv(b, rng, x, 1, 16, "conv1");
        h = b.Op("Relu", new[] { h });
        h = MaxPool(b, h);
        h = Conv(b, rng, h, 16, 32, "conv2");
        h = b.Op("Relu", new[] { h });
        h = MaxPool(b, h);
        h = b.Op("Flatten", new[] { h }, new[] { Attr.FromInt("axis", 1) });
        h = b.Op("Relu", new[] { Linear(b, rng, h, 32 * 7 * 7, 128, "fc1") });
        var logits = Linear(b, rng, h, 128, classes, "fc2");
        return Finish(m, logits, "logits", classes);
    }

    /// <summary>LeNet-300-100: 784–300–100–10 with ReLU (LeCun et al.; the network of Deep Compression's table).</summary>
    public static Model LeNet300100(int seed = 0)
    {
        var (m, b, rng) = Start("lenet_300_100", seed);
        var x = Input(m, "x", new Dim("n"), 784);
        var h = b.Op("Relu", new[] { Linear(b, rng, x, 784, 300, "fc1") });
        h = b.Op("Relu", new[] { Linear(b, rng, h, 300, 100, "fc2") });
        return Finish(m, Linear(b, rng, h, 100, 10, "fc3"), "logits", 10);
    }

    /// <summary>Pre-LN residual MLP: h = Linear_in(x); h += Linear(GELU(Linear(LN(h)))) per block (width→2·width→width); logits = Linear_out(h).</summary>
    public static Model ResidualMlp(int depth, int width, int inputs = 64, int classes = 10, int seed = 0)
    {
        var (m, b, rng) = Start($"resmlp_d{depth}_w{width}", seed);
        var x = Input(m, "x", new Dim("n"), inputs);
        var h = Linear(b, rng, x, inputs, width, "inp");
        for (int i = 0; i < depth; i++)
        {
            var n = LayerNorm(b, h, width, $"blocks.{i}.ln");
            var u = Gelu(b, Linear(b, rng, n, width, 2 * width, $"blocks.{i}.fc1"));
            h = b.Op("Add", new[] { h, Linear(b, rng, u, 2 * width, width, $"blocks.{i}.fc2") }, hint: $"blocks.{i}.out");
        }
        return Finish(m, Linear(b, rng, h, width, classes, "out"), "logits", classes);
    }

    /// <summary>
    /// A linear classifier head, logits = x·Wᵀ + b (one Gemm), for features of <paramref name="inputs"/> values,
    /// e.g. the pooled 512 features of a frozen ResNet18.
    /// </summary>
    public static Model LinearClassifier(int inputs, int classes = 10, int seed = 0)
    {
        var (m, b, rng) = Start($"linear_{inputs}_{classes}", seed);
        var x = Input(m, "x", new Dim("n"), inputs);
        return Finish(m, Linear(b, rng, x, inputs, classes, "fc"), "logits", classes);
    }

    private readonly record struct Dim(string Name);

    private static (Model, GraphBuilder, Random) Start(string name, int seed)
    {
        var header = new ModelProto { IrVersion = 8, ProducerName = "onnxrev", ProducerVersion = "model-zoo", DocString = $"{name}, untrained, seed {seed}" };
        header.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        var model = new Model(new Graph(name), header);
        return (model, new GraphBuilder(model.Graph), new Random(seed));
    }

    private static Value Input(Model m, string name, Dim batch, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = batch.Name });
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return m.Graph.AddInput(new Value(name, new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DT.Float, Shape = shape } }));
    }

    private static Model Finish(Model m, Value logits, string name, int classes)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "n" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = classes });
        var output = new Value(name, new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DT.Float, Shape = shape } });
        m.Graph.Append(new Node("Identity", new[] { logits }, new[] { output }, name: "output"));
        m.Graph.Outputs.Add(output);
        return m;
    }

    private static Value Param(GraphBuilder b, string name, long[] dims, Func<float> init)
    {
        long n = dims.Aggregate(1L, (x, y) => x * y);
        var data = new float[n];
        for (long i = 0; i < n; i++) data[i] = init();
        return b.Graph.AddInitializer(new Value(name), Tensor.FromFloats(name, dims, data));
    }

    private static Func<float> Uniform(Random rng, double bound) => () => (float)((rng.NextDouble() * 2 - 1) * bound);

    /// <summary>y = x·Wᵀ + b as Gemm(transB=1), W [out, in] as PyTorch stores it.</summary>
    private static Value Linear(GraphBuilder b, Random rng, Value x, int fanIn, int fanOut, string name)
    {
        double bound = 1 / Math.Sqrt(fanIn);
        var w = Param(b, name + ".weight", new long[] { fanOut, fanIn }, Uniform(rng, bound));
        var bias = Param(b, name + ".bias", new long[] { fanOut }, Uniform(rng, bound));
        return b.Op("Gemm", new[] { x, w, bias }, new[] { Attr.FromInt("transB", 1) }, hint: name);
    }

    private static Value Conv(GraphBuilder b, Random rng, Value x, int cin, int cout, string name)
    {
        double bound = 1 / Math.Sqrt(cin * 9);
        var w = Param(b, name + ".weight", new long[] { cout, cin, 3, 3 }, Uniform(rng, bound));
        var bias = Param(b, name + ".bias", new long[] { cout }, Uniform(rng, bound));
        return b.Op("Conv", new[] { x, w, bias }, new[] { Attr.FromInts("kernel_shape", new long[] { 3, 3 }), Attr.FromInts("pads", new long[] { 1, 1, 1, 1 }) }, hint: name);
    }

    private static Value MaxPool(GraphBuilder b, Value x) =>
        b.Op("MaxPool", new[] { x }, new[] { Attr.FromInts("kernel_shape", new long[] { 2, 2 }), Attr.FromInts("strides", new long[] { 2, 2 }) });

    private static Value LayerNorm(GraphBuilder b, Value x, int width, string name)
    {
        var scale = Param(b, name + ".weight", new long[] { width }, () => 1f);
        var bias = Param(b, name + ".bias", new long[] { width }, () => 0f);
        return b.Op("LayerNormalization", new[] { x, scale, bias }, new[] { Attr.FromInt("axis", -1), Attr.FromFloat("epsilon", 1e-5f) }, hint: name);
    }

    /// <summary>Exact GELU as opset 17 spells it: x·½(1 + erf(x/√2)).</summary>
    private static Value Gelu(GraphBuilder b, Value x)
    {
        Value C(float v) => b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { v }), "gelu_const");
        var e = b.Op("Erf", new[] { b.Op("Div", new[] { x, C(MathF.Sqrt(2)) }) });
        return b.Op("Mul", new[] { b.Op("Mul", new[] { x, b.Op("Add", new[] { e, C(1) }) }), C(0.5f) });
    }
}

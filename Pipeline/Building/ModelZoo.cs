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
    /// A tiny pre-LN vision transformer (ViT) for <paramref name="image"/>² images of <paramref name="channels"/> channels:
    /// patch embedding Conv(channels→width, kernel = stride = patch) to T = (image/patch)² tokens, plus a learned position
    /// embedding; per block i two residual sub-blocks on the token stream,
    /// h = h + Attn_i(LN(h)) (multi-head self-attention, softmax(Q·Kᵀ/√d)·V, output projection) and
    /// h = h + MLP_i(LN(h)) (width → 2·width → width, exact GELU); then a final LayerNorm, the mean over tokens
    /// (ReduceMean) and a linear head. Shapes are static except the batch dimension "n".
    /// Names follow timm's VisionTransformer: <c>patch_embed.proj.*</c>, <c>pos_embed</c>, <c>blocks.{i}.norm1.*</c>,
    /// <c>blocks.{i}.attn.{q,k,v,proj}.*</c>, <c>blocks.{i}.norm2.*</c>, <c>blocks.{i}.mlp.{fc1,fc2}.*</c>, <c>norm.*</c>,
    /// <c>head.*</c>. Token-wise linear layers are MatMul + Add with the weight stored [in, out] (PyTorch's [out, in]
    /// transposed); the head is a Gemm like the other zoo models. Initialization: PyTorch's defaults (uniform ±1/√fan_in,
    /// LayerNorm 1 and 0), the position embedding uniform ±0.02.
    /// The 2·depth residual sub-blocks form one chain, so the <c>coupling</c> pass (pairs) turns it into depth coupling
    /// blocks (F = attention, G = MLP of the same block).
    /// </summary>
    /// <param name="depth">Transformer blocks (≥ 1).</param>
    /// <param name="width">Token width (embedding dimension); a multiple of <paramref name="heads"/>.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="patch">Patch side; divides <paramref name="image"/>.</param>
    /// <param name="image">Image side.</param>
    /// <param name="channels">Image channels.</param>
    /// <param name="classes">Output logits.</param>
    /// <param name="seed">Seed of the initialization.</param>
    public static Model VitTiny(int depth, int width, int heads, int patch = 7, int image = 28, int channels = 1, int classes = 10, int seed = 0)
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "a ViT needs at least one block");
        if (heads < 1 || width < heads || width % heads != 0) throw new ArgumentOutOfRangeException(nameof(width), width, $"the width must be a positive multiple of the {heads} heads");
        if (patch < 1 || image % patch != 0) throw new ArgumentOutOfRangeException(nameof(patch), patch, $"the patch side must divide the image side {image}");
        var (m, b, rng) = Start($"vit_d{depth}_w{width}_h{heads}", seed);
        var x = Input(m, "x", new Dim("n"), channels, image, image);
        int grid = image / patch, tokens = grid * grid, dh = width / heads;
        Value Shape(params long[] dims) => b.Initializer(Tensor.FromInt64s("", new long[] { dims.Length }, dims), "shape");
        Value Perm(Value v, params long[] perm) => b.Op("Transpose", new[] { v }, new[] { Attr.FromInts("perm", perm) });

        // Patch embedding: [n, c, H, W] → Conv → [n, width, g, g] → [n, width, T] → [n, T, width]; + position embedding.
        double bound = 1 / Math.Sqrt(channels * patch * patch);
        var pw = Param(b, "patch_embed.proj.weight", new long[] { width, channels, patch, patch }, Uniform(rng, bound));
        var pb = Param(b, "patch_embed.proj.bias", new long[] { width }, Uniform(rng, bound));
        var conv = b.Op("Conv", new[] { x, pw, pb }, new[]
        {
            Attr.FromInts("kernel_shape", new long[] { patch, patch }), Attr.FromInts("strides", new long[] { patch, patch }),
        }, hint: "patch_embed.proj");
        var h = Perm(b.Op("Reshape", new[] { conv, Shape(0, width, tokens) }), 0, 2, 1);
        var pos = Param(b, "pos_embed", new long[] { 1, tokens, width }, Uniform(rng, 0.02));
        h = b.Op("Add", new[] { h, pos }, hint: "pos_embed_add");

        var scale = b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { (float)(1 / Math.Sqrt(dh)) }), "attn_scale");
        for (int i = 0; i < depth; i++)
        {
            string blk = $"blocks.{i}";
            // Attention: q, k, v [n, T, w] → heads [n, H, T, dh]; softmax(q·kᵀ/√dh)·v → [n, T, w] → proj.
            var n1 = LayerNorm(b, h, width, $"{blk}.norm1");
            var q = Perm(b.Op("Reshape", new[] { TokenLinear(b, rng, n1, width, width, $"{blk}.attn.q"), Shape(0, tokens, heads, dh) }), 0, 2, 1, 3);
            var k = Perm(b.Op("Reshape", new[] { TokenLinear(b, rng, n1, width, width, $"{blk}.attn.k"), Shape(0, tokens, heads, dh) }), 0, 2, 3, 1);
            var v = Perm(b.Op("Reshape", new[] { TokenLinear(b, rng, n1, width, width, $"{blk}.attn.v"), Shape(0, tokens, heads, dh) }), 0, 2, 1, 3);
            var scores = b.Op("Mul", new[] { b.Op("MatMul", new[] { q, k }, hint: $"{blk}.attn.qk"), scale }, hint: $"{blk}.attn.scores");
            var attn = b.Op("Softmax", new[] { scores }, new[] { Attr.FromInt("axis", -1) }, hint: $"{blk}.attn.softmax");
            var ctx = b.Op("Reshape", new[] { Perm(b.Op("MatMul", new[] { attn, v }, hint: $"{blk}.attn.av"), 0, 2, 1, 3), Shape(0, tokens, width) });
            h = b.Op("Add", new[] { h, TokenLinear(b, rng, ctx, width, width, $"{blk}.attn.proj") }, hint: $"{blk}.attn_out");
            // MLP: width → 2·width → width with exact GELU.
            var n2 = LayerNorm(b, h, width, $"{blk}.norm2");
            var u = Gelu(b, TokenLinear(b, rng, n2, width, 2 * width, $"{blk}.mlp.fc1"));
            h = b.Op("Add", new[] { h, TokenLinear(b, rng, u, 2 * width, width, $"{blk}.mlp.fc2") }, hint: $"{blk}.mlp_out");
        }
        var pooled = b.Op("ReduceMean", new[] { LayerNorm(b, h, width, "norm") }, new[] { Attr.FromInts("axes", new long[] { 1 }), Attr.FromInt("keepdims", 0) }, hint: "pool");
        return Finish(m, Linear(b, rng, pooled, width, classes, "head"), "logits", classes);
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

    /// <summary>
    /// Reversible (additive-coupling, RevNet) MLP, the same module as <c>RevMLP</c> in models/fixtures/make_fixtures.py:
    /// h = Linear_in(x); x1, x2 = the halves of h along the last axis (Split); per block i:
    /// y1 = x1 + F_i(x2); y2 = x2 + G_i(y1); logits = Linear_out(Concat(x1, x2)), with F_i and G_i =
    /// Linear(GELU(Linear(LN(·)))) on width/2 (width/2 → width → width/2).
    /// Names follow PyTorch's export of that module: initializers <c>F.{i}.0.weight</c> (LayerNorm), <c>F.{i}.1.weight</c>,
    /// <c>F.{i}.3.bias</c>, … (likewise <c>G.{i}</c>), <c>inp.*</c>, <c>out.*</c>; nodes carry module scopes
    /// (<c>/F.{i}/F.{i}.1/Gemm</c>, outputs <c>…_output_0</c>), the coupling adds are top-level <c>/Add</c>, <c>/Add_1</c>, …
    /// Each block's nodes are contiguous in the graph: F_i, its add, G_i, its add.
    /// </summary>
    /// <param name="depth">Coupling blocks (≥ 1).</param>
    /// <param name="width">Width of the hidden state; even (each half is width/2).</param>
    /// <param name="inputs">Input features.</param>
    /// <param name="classes">Output logits.</param>
    /// <param name="seed">Seed of the PyTorch-default initialization.</param>
    public static Model RevMlp(int depth, int width, int inputs = 64, int classes = 10, int seed = 0)
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "a RevMLP needs at least one block");
        if (width < 2 || width % 2 != 0) throw new ArgumentOutOfRangeException(nameof(width), width, "a RevMLP's width must be even (the hidden state is split in halves)");
        var (m, b, rng) = Start($"revmlp_d{depth}_w{width}", seed);
        var x = Input(m, "x", new Dim("n"), inputs);
        int half = width / 2;
        var h = Linear(b, rng, x, inputs, width, "inp", scope: "/inp");
        var sizes = b.Initializer(Tensor.FromInt64s("", new long[] { 2 }, new long[] { half, half }), "split_sizes");
        var halves = ScopedOps(b, "Split", new[] { h, sizes }, 2, new[] { Attr.FromInt("axis", -1) }, "");
        Value x1 = halves[0], x2 = halves[1];
        for (int i = 0; i < depth; i++)
        {
            var y1 = ScopedOp(b, "Add", new[] { x1, CouplingFunction(b, rng, x2, half, $"F.{i}") }, null, "");
            var y2 = ScopedOp(b, "Add", new[] { x2, CouplingFunction(b, rng, y1, half, $"G.{i}") }, null, "");
            (x1, x2) = (y1, y2);
        }
        var joined = ScopedOp(b, "Concat", new[] { x1, x2 }, new[] { Attr.FromInt("axis", -1) }, "");
        return Finish(m, Linear(b, rng, joined, width, classes, "out", scope: "/out"), "logits", classes);
    }

    /// <summary>F or G of a coupling block: Sequential(LayerNorm, Linear(h→2h), GELU, Linear(2h→h)) named as PyTorch names it.</summary>
    private static Value CouplingFunction(GraphBuilder b, Random rng, Value x, int half, string module)
    {
        string scope = "/" + module;
        var n = LayerNorm(b, x, half, $"{module}.0", scope: $"{scope}/{module}.0");
        var u = Linear(b, rng, n, half, 2 * half, $"{module}.1", scope: $"{scope}/{module}.1");
        u = Gelu(b, u, scope: $"{scope}/{module}.2");
        return Linear(b, rng, u, 2 * half, half, $"{module}.3", scope: $"{scope}/{module}.3");
    }

    /// <summary>
    /// A node named the way PyTorch's exporter names it: <c>{scope}/{op}</c> (made unique with _1, _2, …), its outputs
    /// <c>{node}_output_{k}</c>.
    /// </summary>
    private static Value[] ScopedOps(GraphBuilder b, string opType, IEnumerable<Value> inputs, int outputCount, IEnumerable<Attr>? attributes, string scope)
    {
        string nodeName = b.FreshName($"{scope}/{opType}");
        var outputs = Enumerable.Range(0, outputCount).Select(k => new Value(b.FreshName($"{nodeName}_output_{k}"))).ToArray();
        var node = new Node(opType, inputs, outputs, name: nodeName);
        if (attributes is not null) node.Attributes.AddRange(attributes);
        b.Graph.Append(node);
        return outputs;
    }

    private static Value ScopedOp(GraphBuilder b, string opType, IEnumerable<Value> inputs, IEnumerable<Attr>? attributes, string scope) =>
        ScopedOps(b, opType, inputs, 1, attributes, scope)[0];

    /// <summary>A node named by <paramref name="scope"/> when given (PyTorch style), else by the builder's hint.</summary>
    private static Value Emit(GraphBuilder b, string opType, Value[] inputs, Attr[]? attributes, string hint, string? scope) =>
        scope is null ? b.Op(opType, inputs, attributes, hint: hint) : ScopedOp(b, opType, inputs, attributes, scope);

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
    private static Value Linear(GraphBuilder b, Random rng, Value x, int fanIn, int fanOut, string name, string? scope = null)
    {
        double bound = 1 / Math.Sqrt(fanIn);
        var w = Param(b, name + ".weight", new long[] { fanOut, fanIn }, Uniform(rng, bound));
        var bias = Param(b, name + ".bias", new long[] { fanOut }, Uniform(rng, bound));
        return Emit(b, "Gemm", new[] { x, w, bias }, new[] { Attr.FromInt("transB", 1) }, name, scope);
    }

    /// <summary>A linear layer applied to every token of [n, T, in]: MatMul(x, W) + b, W stored [in, out].</summary>
    private static Value TokenLinear(GraphBuilder b, Random rng, Value x, int fanIn, int fanOut, string name)
    {
        double bound = 1 / Math.Sqrt(fanIn);
        var w = Param(b, name + ".weight", new long[] { fanIn, fanOut }, Uniform(rng, bound));
        var bias = Param(b, name + ".bias", new long[] { fanOut }, Uniform(rng, bound));
        return b.Op("Add", new[] { b.Op("MatMul", new[] { x, w }, hint: name), bias }, hint: name + "_bias");
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

    private static Value LayerNorm(GraphBuilder b, Value x, int width, string name, string? scope = null)
    {
        var scale = Param(b, name + ".weight", new long[] { width }, () => 1f);
        var bias = Param(b, name + ".bias", new long[] { width }, () => 0f);
        return Emit(b, "LayerNormalization", new[] { x, scale, bias }, new[] { Attr.FromInt("axis", -1), Attr.FromFloat("epsilon", 1e-5f) }, name, scope);
    }

    /// <summary>Exact GELU as opset 17 spells it: x·½(1 + erf(x/√2)).</summary>
    private static Value Gelu(GraphBuilder b, Value x, string? scope = null)
    {
        Value C(float v) => b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { v }), "gelu_const");
        Value Op(string op, Value l, Value r) => Emit(b, op, new[] { l, r }, null, op.ToLowerInvariant(), scope);
        var e = Emit(b, "Erf", new[] { Op("Div", x, C(MathF.Sqrt(2))) }, null, "erf", scope);
        return Op("Mul", Op("Mul", x, Op("Add", e, C(1))), C(0.5f));
    }
}

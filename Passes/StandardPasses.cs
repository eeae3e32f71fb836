using OnnxRev.Passes.Cleanup;
using OnnxRev.Passes.Compression;
using OnnxRev.Passes.Cleanup.Shapes;
using OnnxRev.Passes.Quantization;
using OnnxRev.Passes.Reversible;

namespace OnnxRev.Passes;

/// <summary>Registers this library's passes with <see cref="PassRegistry"/>.</summary>
public static class StandardPasses
{
    private static bool _registered;
    private static readonly object Gate = new();

    /// <summary>The passes the "cleanup" pass runs, in order, repeated to a fixed point.</summary>
    public static IReadOnlyList<IPass> CleanupPasses() => new IPass[]
    {
        new ConstantsToInitializers(),
        new IdentityElimination(),
        new ShapeFolding(),
        new ConstantFolding(),
        new DeadCodeElimination(),
    };

    /// <summary>Registers every pass once.</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            _registered = true;
            PassRegistry.Register(new("cleanup", "all cleanup passes below, repeated until nothing changes", () => new CompositePass("cleanup", CleanupPasses())));
            PassRegistry.Register(new("constants-to-initializers", "weights held in Constant nodes become initializers", () => new ConstantsToInitializers()));
            PassRegistry.Register(new("initializers-to-constants", "initializers become Constant nodes (the reverse)", () => new InitializersToConstants()));
            PassRegistry.Register(new("identity-elimination", "removes Identity nodes, keeping output names", () => new IdentityElimination()));
            PassRegistry.Register(new("shape-folding", "Shape/Gather/Concat/Unsqueeze chains with statically known results become constants (symbolic dims stay symbolic)", () => new ShapeFolding()));
            PassRegistry.Register(new("constant-folding", "computes nodes whose inputs are all constants", () => new ConstantFolding()));
            PassRegistry.Register(new("dead-code-elimination", "removes nodes and initializers nothing reads", () => new DeadCodeElimination()));
            PassRegistry.Register(new("gemm-to-matmul", "Gemm with a constant B becomes MatMul (B' = alpha·op(B)) + Add(beta·C); exact", () => new GemmToMatMul()));
            PassRegistry.Register(new("fold-batchnorm", "Conv → BatchNormalization (constant statistics) becomes one Conv with scaled weights and bias", () => new BatchNormFolding()));
            PassRegistry.Register(new("opset-upgrade", "raises the opset to 13 when every operator allows it (converts BatchNormalization, Dropout, axes/split/clip attributes)", () => new OpsetUpgrade(13)));
            PassRegistry.Register(new("quantize-dynamic", "dynamic INT8: MatMul/Gemm/Conv weights int8, activations quantized at run time (changes numerics; static QDQ needs calibration: onnxrev quantize --mode static)",
                o => new DynamicQuantization(new QuantizationOptions
                {
                    PerChannel = o.Has("quant-per-channel"),
                    PerTokenActivations = o.Has("quant-per-token"),
                    TokenScaledActivations = o.Has("quant-token-scaled"),
                    KeepFloat = QuantizationOptions.ParseKeepFloat(o.Get("quant-keep-float")),
                }),
                new PassOptionSpec[]
                {
                    new("quant-per-channel", "quantize-dynamic: one weight scale per output channel", TakesValue: false),
                    new("quant-per-token", "quantize-dynamic: one activation scale per token (row)", TakesValue: false),
                    new("quant-token-scaled", "quantize-dynamic: per-token steps on the fused kernel by row normalization (with --quant-per-token: rows also centred)", TakesValue: false),
                    new("quant-keep-float", "quantize-dynamic: op types or node names that stay float", "OPS"),
                }));
            PassRegistry.Register(new("quantize-embeddings", "weight-only int8 for embedding tables read by Gather (one scale per row, dequantized after the lookup)",
                () => new Quantization.EmbeddingQuantization()));
            RegisterCompression();
            PassRegistry.Register(new("coupling", "chains of residual blocks become additive coupling blocks (pairs: y1 = x1 + F(x2), y2 = x2 + G(y1); changes the function; meft: scaled, starts from the pretrained function) for --memory reversible",
                o => new CouplingConversion(new CouplingOptions(
                    o.GetChoice("coupling-variant", "pairs", "pairs", "meft") == "meft" ? CouplingVariant.Meft : CouplingVariant.Pairs,
                    (float)o.GetDouble("coupling-lambda", 0.1), (float)o.GetDouble("coupling-beta", 1.0), o.GetInt("coupling-rank", 8, min: 1))),
                new PassOptionSpec[]
                {
                    new("coupling-variant", "coupling: pairs (default) or meft", "V"),
                    new("coupling-lambda", "coupling meft: λ, the scale of x1 (default 0.1)", "L"),
                    new("coupling-beta", "coupling meft: β, the scale of x2 (default 1)", "B"),
                    new("coupling-rank", "coupling meft: adapter rank (default 8)", "R"),
                }));
            PassRegistry.Register(new("coupling-fp16", "the F and G branches of additive coupling blocks run in float16 while the two streams stay float32 (Cast at each branch's ends; float32 weights read through a Cast); reversible reconstruction stays float32-exact; approximate",
                () => new CouplingHalfBranches()));
            PassRegistry.Register(new("low-rank", "MatMul/Gemm/1×1 Conv/embedding weights become two thinner factors (SVD), k×k Conv becomes 1×1, core, 1×1 (Tucker-2), where the rank saves parameters and FLOPs; approximate",
                o => new LowRankFactorization(LowRankOptions.From(o)), LowRankOptions.Specs));
            PassRegistry.Register(new("low-rank-fold", "two consecutive thin MatMul/Gemm or 1×1 Conv with constant weights whose width saves nothing become one; LoRA adapters are merged (--fold-all: every pair)",
                o => new LowRankFold(o.Has("fold-all")), new PassOptionSpec[] { new("fold-all", "low-rank-fold: fold every pair, whatever its width", TakesValue: false) }));
            PassRegistry.Register(new("int4", "MatMul/Gemm with constant weights become com.microsoft MatMulNBits: 4-bit block-wise round-to-nearest weights (weight-only)",
                o => new MatMulNBitsQuantization(new Int4Options(o.GetInt("block-size", 32, min: 16, max: 256), !o.Has("asymmetric"),
                    o.GetInt("accuracy-level", 0, min: 0, max: 4), o.GetList("keep-float").ToHashSet(), HalfScales: o.Has("half-scales"))),
                new PassOptionSpec[]
                {
                    new("block-size", "int4: weights per block along K: 16, 32, 64, 128 or 256 (default 32)", "B"),
                    new("asymmetric", "int4: per-block zero points (default symmetric)", TakesValue: false),
                    new("half-scales", "int4: store the block scales as float16 (read through a Cast that ONNX Runtime folds at load): block 16 at 5.25 bits per weight", TakesValue: false),
                    new("accuracy-level", "int4: MatMulNBits accuracy_level 0..4 (default 0; 4 = int8 compute on A)", "L"),
                    new("keep-float", "int4, fp16, fake-quant: op types or node names left in float32 (int4, fake-quant: also weight names)", "OPS"),
                }));
            PassRegistry.Register(new("fp16", "float32 weights and computation become float16 with float32 islands for sensitive ops (--keep-float adds op types or node names) and float32 model inputs/outputs",
                o => new Fp16Conversion(o.GetList("keep-float"), o.GetChoice("fp16-target", "cpu", "cpu", "any") == "any" ? Fp16Target.Any : Fp16Target.Cpu),
                new PassOptionSpec[]
                {
                    new("keep-float", "int4, fp16, fake-quant: op types or node names left in float32 (int4, fake-quant: also weight names)", "OPS"),
                    new("fp16-target", "fp16: cpu (default: only ops ORT's CPU provider runs in fp16 compute in fp16, weights stored fp16) or any (every op but the fp32 islands)", "T"),
                }));
            PassRegistry.Register(new("fake-quant", "quantization-aware training: int8 QuantizeLinear→DequantizeLinear on MatMul/Gemm/Conv weights (per channel, fixed scales; --fake-quant-activations: inputs too, per tensor at run time); trains through a straight-through estimator",
                o => new FakeQuantization(o.Has("fake-quant-activations"), o.GetList("keep-float").ToHashSet()),
                new PassOptionSpec[]
                {
                    new("fake-quant-activations", "fake-quant: also fake-quantize the data input of each quantized node", TakesValue: false),
                    new("keep-float", "int4, fp16, fake-quant: op types or node names left in float32 (int4, fake-quant: also weight names)", "OPS"),
                }));
        }
    
    }

    private static void RegisterCompression()
    {
        PassRegistry.Register(new("prune-magnitude", "unstructured pruning: the Gemm/MatMul/Conv weights of smallest |w| become 0 (global threshold or per layer); changes the function",
            o => new MagnitudePruning(o.GetDouble("sparsity", 0.9, 0, 1), o.GetChoice("prune-scope", "global", "global", "layer") == "layer" ? PruningScope.Layer : PruningScope.Global,
                Sparsifier.ParseLayerShares(o.GetList("layer-sparsity"))),
            new PassOptionSpec[]
            {
                new("sparsity", "prune-magnitude: share of weights set to zero (default 0.9)", "S"),
                new("prune-scope", "prune-magnitude: global (one threshold, default) or layer (each tensor loses the same share)", "SCOPE"),
                new("layer-sparsity", "prune-magnitude: per-weight shares NAME=S,NAME=S overriding --sparsity", "LIST"),
            }));
        PassRegistry.Register(new("prune-nm", "N:M sparsity (2:4 default): in every M consecutive inputs of an output the N largest |w| stay; changes the function",
            o => new NmPruning(o.GetInt("nm-n", 2, min: 0), o.GetInt("nm-m", 4, min: 1)),
            new PassOptionSpec[] { new("nm-n", "prune-nm: weights kept per group (default 2)", "N"), new("nm-m", "prune-nm: group size (default 4)", "M") }));
        PassRegistry.Register(new("prune-channels", "structured pruning: removes the lowest-norm neurons/channels of each Gemm/MatMul/Conv and shrinks every consumer (BatchNorm, activations, pooling, Flatten, next layer); residual streams stay whole; changes the function",
            o => new ChannelPruning(o.GetDouble("channel-ratio", 0.5, 0, 0.999), o.GetChoice("channel-norm", "l2", "l1", "l2") == "l1" ? ChannelNorm.L1 : ChannelNorm.L2),
            new PassOptionSpec[] { new("channel-ratio", "prune-channels: share of each layer's channels removed (default 0.5)", "R"), new("channel-norm", "prune-channels: l1 or l2 (default) norm of a channel's weights", "NORM") }));
        PassRegistry.Register(new("block-diagonal", "splits Gemm/MatMul layers whose inputs/outputs form independent groups into one small MatMul per group (keeps the function with the default threshold 0)",
            o => new BlockDiagonal(o.GetDouble("block-threshold", 0, 0), o.GetDouble("block-alpha", 0, 0, 0.999)),
            new PassOptionSpec[] { new("block-threshold", "block-diagonal: |w| at or below this is no connection (default 0: exact zeros only)", "T"), new("block-alpha", "block-diagonal: significance level of the support test (default 0: off; changes the function)", "A") }));
        PassRegistry.Register(new("cluster", "weight sharing: k-means per Gemm/MatMul/Conv weight (non-zeros, 2^bits-1 centroids; zeros stay); changes the function",
            o => new WeightClustering(o.GetInt("cluster-bits", 5, 1, 16), o.GetChoice("cluster-init", "linear", "linear", "kmeans++", "density") switch
            {
                "kmeans++" => CentroidInit.KMeansPlusPlus,
                "density" => CentroidInit.Density,
                _ => CentroidInit.Linear,
            }, o.GetInt("cluster-seed", 0)),
            new PassOptionSpec[]
            {
                new("cluster-bits", "cluster: index bits per weight (default 5: 31 centroids + zero)", "B"),
                new("cluster-init", "cluster: linear (default), kmeans++ or density", "INIT"),
                new("cluster-seed", "cluster: seed of kmeans++ (default 0)", "S"),
            }));
    }
}

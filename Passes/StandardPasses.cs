using OnnxRev.Passes.Cleanup;
using OnnxRev.Passes.Cleanup.Shapes;
using OnnxRev.Passes.Compression;
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
            PassRegistry.Register(new("low-rank", "MatMul/Gemm/1×1 Conv/embedding weights become two thinner factors (SVD), k×k Conv becomes 1×1, core, 1×1 (Tucker-2), where the rank saves parameters and FLOPs; approximate",
                o => new LowRankFactorization(LowRankOptions.From(o)), LowRankOptions.Specs));
            PassRegistry.Register(new("low-rank-fold", "two consecutive thin MatMul/Gemm or 1×1 Conv with constant weights whose width saves nothing become one; LoRA adapters are merged (--fold-all: every pair)",
                o => new LowRankFold(o.Has("fold-all")), new PassOptionSpec[] { new("fold-all", "low-rank-fold: fold every pair, whatever its width", TakesValue: false) }));
        }
    }
}

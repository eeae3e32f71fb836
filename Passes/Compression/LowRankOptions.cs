namespace OnnxRev.Passes.Compression;

/// <summary>How the low-rank pass chooses each weight's rank.</summary>
public enum RankRule
{
    /// <summary>Each weight keeps the smallest rank holding a share of its (weighted) energy Σσ².</summary>
    Energy,
    /// <summary>One fixed rank (capped by each weight's size).</summary>
    Fixed,
    /// <summary>Ranks allocated over the whole model so its parameters drop to a target share (least total weighted error).</summary>
    TargetParameters,
    /// <summary>Each weight keeps the smallest rank whose relative output error on the calibration data stays within a budget.</summary>
    ErrorBudget,
}

/// <summary>Which layers the sequential error-correcting refit (<c>--refit</c>) changes.</summary>
public enum RefitScope
{
    /// <summary>No refit.</summary>
    None,
    /// <summary>Only the factored MatMul/Gemm layers (at their rank).</summary>
    Factored,
    /// <summary>Also every MatMul/Gemm layer left whole downstream of a change (in full rank: no parameter cost).</summary>
    All,
}

/// <summary>Settings of <see cref="LowRankFactorization"/>.</summary>
public sealed record LowRankOptions
{
    /// <summary>The rank rule.</summary>
    public RankRule Rule { get; init; } = RankRule.Energy;

    /// <summary><see cref="RankRule.Energy"/>: the share of Σσ² kept (default 0.99).</summary>
    public double Energy { get; init; } = 0.99;

    /// <summary><see cref="RankRule.Fixed"/>: the rank.</summary>
    public int Rank { get; init; }

    /// <summary><see cref="RankRule.TargetParameters"/>: the model's parameters after the pass ≤ this share of those before (0.75: ≥ 1.33× fewer).</summary>
    public double TargetParameters { get; init; } = 1;

    /// <summary><see cref="RankRule.ErrorBudget"/>: the largest relative error ‖(W − Ŵ)X‖/‖WX‖ per weight.</summary>
    public double ErrorBudget { get; init; }

    /// <summary>Ops whose weights may be factored.</summary>
    public IReadOnlySet<LowRankUse> Uses { get; init; } = new HashSet<LowRankUse>(Enum.GetValues<LowRankUse>());

    /// <summary>Factor even where the rank saves no parameters or FLOPs (to check the rewrite itself: at full rank it preserves the function).</summary>
    public bool FactorAll { get; init; }

    /// <summary>HOOI sweeps after the HOSVD for Tucker-2 kernels.</summary>
    public int TuckerIterations { get; init; } = 2;

    /// <summary>Calibration data (a test-data folder, a folder of them, or a text file of sentences with <see cref="Vocab"/>): activation-aware factorization.</summary>
    public string? Calibration { get; init; }

    /// <summary>The WordPiece vocabulary for a text calibration file.</summary>
    public string? Vocab { get; init; }

    /// <summary>Measure each weight's effect on the model output (one run per weight) and weigh the allocation by it.</summary>
    public bool Sensitivity { get; init; }

    /// <summary>At most this many calibration samples (sentences, test-data sets).</summary>
    public int CalibrationLimit { get; init; } = 256;

    /// <summary>Calibration statistics are regularized towards the plain weight norm: XᵀX + ridge·mean(diag)·I, lookup counts + ridge·mean count.</summary>
    public double CalibrationRidge { get; init; } = 0.01;

    /// <summary>Sequential error-correcting refit of MatMul/Gemm layers on the calibration data (<see cref="ReducedRankRegression"/>).</summary>
    public RefitScope Refit { get; init; } = RefitScope.None;

    /// <summary>The refit's pull towards the original weight: λ = this · mean(diag X̃ᵀX̃) in ‖X̃M − XW‖² + λ‖M − W‖².</summary>
    public double RefitRidge { get; init; } = 0.01;

    /// <summary>Embedding tables: the lookup counts get this share of the mean count added (tokens the calibration never saw still count); null: <see cref="CalibrationRidge"/>.</summary>
    public double? EmbeddingFloor { get; init; }

    /// <summary>Embedding tables feeding a LayerNorm are factored for the error after its centering and γ scale (<see cref="EmbeddingLayerNorm"/>).</summary>
    public bool LayerNormAware { get; init; }

    /// <summary>Weights with fewer elements than this are left alone.</summary>
    public long MinParameters { get; init; } = 1024;

    /// <summary>Parses the pass options (bad values: exit 2).</summary>
    public static LowRankOptions From(PassOptions o)
    {
        var rules = new[] { "energy", "rank", "target-parameters", "error-budget" }.Where(o.Has).ToList();
        if (rules.Count > 1) throw new OnnxRevException($"low-rank: give one of --energy, --rank, --target-parameters, --error-budget, not {string.Join(" and ", rules.Select(r => "--" + r))}");
        var result = new LowRankOptions
        {
            Energy = o.GetDouble("energy", 0.99, min: 1e-9, max: 1),
            Rank = o.GetInt("rank", 0, min: 1),
            TargetParameters = o.GetDouble("target-parameters", 1, min: 1e-9, max: 1),
            ErrorBudget = o.GetDouble("error-budget", 0, min: 0, max: 1),
            FactorAll = o.Has("factor-all"),
            TuckerIterations = o.GetInt("tucker-iterations", 2, min: 0, max: 100),
            Calibration = o.Get("calibration"),
            Vocab = o.Get("vocab"),
            Sensitivity = o.Has("sensitivity"),
            CalibrationLimit = o.GetInt("calibration-limit", 256, min: 1),
            CalibrationRidge = o.GetDouble("calibration-ridge", 0.01, min: 0),
            MinParameters = o.GetInt("min-parameters", 1024, min: 0),
            LayerNormAware = o.Has("layernorm-aware"),
            RefitRidge = o.GetDouble("refit-ridge", 0.01, min: 0),
            EmbeddingFloor = o.Has("embedding-floor") ? o.GetDouble("embedding-floor", 0.01, min: 0) : null,
            Refit = o.Get("refit") switch
            {
                null => RefitScope.None,
                "factored" => RefitScope.Factored,
                "all" => RefitScope.All,
                var x => throw new OnnxRevException($"option '--refit' must be 'factored' or 'all', got '{x}'"),
            },
            Rule = rules.Count == 0 ? RankRule.Energy : rules[0] switch
            {
                "rank" => RankRule.Fixed,
                "target-parameters" => RankRule.TargetParameters,
                "error-budget" => RankRule.ErrorBudget,
                _ => RankRule.Energy,
            },
        };
        if (o.Has("factor-all") && o.Get("factor-all") is { } v) throw new OnnxRevException($"option '--factor-all' takes no value, got '{v}'");
        if (o.Has("target-parameters") && result.TargetParameters >= 1) throw new OnnxRevException($"option '--target-parameters' must be below 1 (the share of parameters to keep), got '{o.Get("target-parameters")}'");
        if (result.Rule == RankRule.ErrorBudget && result.Calibration is null) throw new OnnxRevException("option '--error-budget' needs --calibration DATA (the error is measured on calibration activations)");
        if (result.Sensitivity && result.Calibration is null) throw new OnnxRevException("option '--sensitivity' needs --calibration DATA");
        if (result.Refit != RefitScope.None && result.Calibration is null) throw new OnnxRevException("option '--refit' needs --calibration DATA (the layers are refitted on calibration activations)");
        if (o.Has("layernorm-aware") && o.Get("layernorm-aware") is { } lv) throw new OnnxRevException($"option '--layernorm-aware' takes no value, got '{lv}'");
        if (result.LayerNormAware && result.Calibration is null) throw new OnnxRevException("option '--layernorm-aware' needs --calibration DATA (it shapes the activation-aware embedding factorization)");
        if (o.Has("refit-ridge") && result.Refit == RefitScope.None) throw new OnnxRevException("option '--refit-ridge' only applies with --refit");
        if (o.Has("embedding-floor") && result.Calibration is null) throw new OnnxRevException("option '--embedding-floor' needs --calibration DATA (it adjusts the lookup counts)");
        if (result.Vocab is not null && result.Calibration is null) throw new OnnxRevException("option '--vocab' only applies with --calibration TEXT-FILE");
        var ops = o.GetList("factor-ops");
        if (ops.Count > 0)
            result = result with
            {
                Uses = ops.Select(s => s switch
                {
                    "matmul" => new[] { LowRankUse.MatMul },
                    "gemm" => new[] { LowRankUse.Gemm },
                    "conv" => new[] { LowRankUse.Conv1x1, LowRankUse.ConvKxK },
                    "conv1x1" => new[] { LowRankUse.Conv1x1 },
                    "gather" => new[] { LowRankUse.Gather },
                    _ => throw new OnnxRevException($"option '--factor-ops': unknown op '{s}'; choose from matmul, gemm, conv, conv1x1, gather"),
                }).SelectMany(x => x).ToHashSet(),
            };
        return result;
    }

    /// <summary>The options the pass declares.</summary>
    public static PassOptionSpec[] Specs { get; } =
    {
        new("energy", "low-rank: keep the smallest rank holding this share of each weight's Σσ² (default 0.99)", "E"),
        new("rank", "low-rank: one fixed rank for every weight (capped by its size)", "R"),
        new("target-parameters", "low-rank: the model keeps at most this share of its parameters (0.75 = 1.33× fewer), ranks allocated for least error", "F"),
        new("error-budget", "low-rank: per weight, the largest relative output error on the calibration data (needs --calibration)", "E"),
        new("factor-ops", "low-rank: which ops' weights to factor (matmul,gemm,conv,conv1x1,gather; default all)", "OPS"),
        new("factor-all", "low-rank: factor even where the rank saves nothing (checks the rewrite)", TakesValue: false),
        new("tucker-iterations", "low-rank: HOOI sweeps after the HOSVD of k×k kernels (default 2)", "N"),
        new("calibration", "low-rank: calibration inputs (test-data folder(s), or a text file with --vocab) for activation-aware factorization", "DATA"),
        new("vocab", "low-rank: WordPiece vocab.txt to tokenize a text calibration file", "FILE"),
        new("sensitivity", "low-rank: measure each weight's effect on the output and allocate ranks by it (needs --calibration)", TakesValue: false),
        new("calibration-limit", "low-rank: at most this many calibration samples (default 256)", "N"),
        new("calibration-ridge", "low-rank: regularize the calibration statistics towards the plain weight norm (default 0.01)", "R"),
        new("min-parameters", "low-rank: leave weights with fewer elements alone (default 1024)", "N"),
        new("refit", "low-rank: after factoring, refit MatMul/Gemm layers in graph order to the original's outputs from the compressed model's own inputs (reduced-rank regression on the calibration data): 'factored' (at their rank) or 'all' (also whole layers downstream, no parameter cost); needs --calibration", "SCOPE"),
        new("refit-ridge", "low-rank: --refit's pull towards the original weight, λ = R·mean(diag X̃ᵀX̃) (default 0.01)", "R"),
        new("layernorm-aware", "low-rank: embedding tables that feed a LayerNorm (through Adds) are factored for the error after it: row mean removed, columns weighted by γ² (needs --calibration)", TakesValue: false),
        new("embedding-floor", "low-rank: embedding rows are weighted by lookup count + this share of the mean count, so unseen tokens still count (default: --calibration-ridge; needs --calibration)", "F"),
    };
}

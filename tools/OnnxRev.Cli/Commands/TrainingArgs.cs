using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime.Data;

namespace OnnxRev.Cli.Commands;

/// <summary>Options shared by grad, train and make-training: the loss, the optimizer, what trains, and how data is read.</summary>
internal static class TrainingArgs
{
    public static readonly OptionSpec[] Loss =
    {
        new("loss", "cross-entropy (default), mse, l1, bce-with-logits, or output (a scalar model output is the loss)", ValueName: "L"),
        new("prediction", "model output the loss reads (default: the first output)", ValueName: "NAME"),
        new("label-smoothing", "cross-entropy label smoothing ε (default 0)", ValueName: "E"),
        new("ignore-index", "cross-entropy: label value that is ignored (default -100)", ValueName: "K"),
        new("trainable", "all (default), regex:PATTERN, names:a,b or last:K", ValueName: "SPEC"),
        new("lora", "train rank-R LoRA adapters on the selected Gemm/MatMul weights (base frozen; merged into the weights on export)", ValueName: "R"),
        new("lora-alpha", "LoRA α; the adapter is scaled by α/R (default α = R)", ValueName: "A"),
        new("untie", "shared initializers that get one copy per use before training: constant (default: all-equal ones such as fresh LayerNorm scales that exporters merge), all, none", ValueName: "MODE"),
        new("keep-zeros", "weights that are exactly 0 (pruned) stay exactly 0: a constant mask multiplies them in the training graph", TakesValue: false),
        new("memory", "store (default): keep every activation; recompute: residual blocks keep only their input and recompute the rest; reversible: coupling blocks keep nothing and rebuild their inputs from their outputs; auto (train only): the fastest one whose estimate fits --memory-budget", ValueName: "MODE"),
    };

    public static readonly OptionSpec[] Optimizer =
    {
        new("optimizer", "adamw (default) or sgd", ValueName: "NAME"),
        new("lr", "learning rate (default 1e-3)", ValueName: "LR"),
        new("momentum", "SGD momentum (default 0)", ValueName: "M"),
        new("nesterov", "SGD: Nesterov momentum", TakesValue: false),
        new("weight-decay", "weight decay (AdamW: decoupled; SGD: L2) (default 0 for SGD, 0.01 for AdamW)", ValueName: "WD"),
        new("beta1", "AdamW β1 (default 0.9)", ValueName: "B"),
        new("beta2", "AdamW β2 (default 0.999)", ValueName: "B"),
        new("clip-norm", "clip gradients to this global L2 norm", ValueName: "C"),
    };

    public static readonly OptionSpec[] Data =
    {
        new("scale", "multiply features by this (default: 1/255 for IDX, else 1); e.g. 0.0625 for scikit-learn digits", ValueName: "F"),
        new("split", "IDX folders: train or test (default train)", ValueName: "NAME"),
        new("max-samples", "read at most this many samples", ValueName: "N"),
    };

    public static LossOptions ParseLoss(Args a)
    {
        return new LossOptions(
            LossOptions.Parse(a.GetChoice("loss", "cross-entropy", "cross-entropy", "mse", "l1", "bce-with-logits", "output")),
            IgnoreIndex: a.GetInt("ignore-index", -100),
            LabelSmoothing: (float)a.GetDouble("label-smoothing", 0, min: 0),
            Prediction: a.Get("prediction"));
    }

    public static TrainableSpec ParseTrainable(Args a) => new(a.Get("trainable") ?? "all");

    public static TrainingOptions ParseTraining(Args a, OptimizerOptions? optimizer = null, MemoryMode? memory = null) =>
        new(ParseLoss(a), optimizer ?? ParseOptimizer(a), ParseTrainable(a), ParseUntie(a), a.GetInt("lora", 0, min: 0), (float)a.GetDouble("lora-alpha", 0, min: 0), memory ?? ParseMemory(a),
            KeepZeros: a.Has("keep-zeros"));

    /// <summary>
    /// train's --memory (store, recompute, reversible or auto: Mode null) and --memory-budget (auto only; plain bytes or
    /// a K/M/G/T suffix, binary). A budget without auto, or one that does not parse, is a usage error.
    /// </summary>
    public static (MemoryMode? Mode, long? Budget) ParseTrainMemory(Args a)
    {
        bool auto = a.GetChoice("memory", "store", "store", "recompute", "reversible", "auto") == "auto";
        long? budget = null;
        if (a.Get("memory-budget") is { } text)
        {
            if (!auto) throw new UsageException("--memory-budget applies to --memory auto only");
            budget = OnnxRev.Passes.Autodiff.Memory.MemoryPlanner.ParseBytes(text)
                ?? throw new UsageException($"option '--memory-budget' must be a positive byte count such as 1073741824, 512M or 2G, got '{text}'");
        }
        return (auto ? null : ParseMemory(a), budget);
    }

    public static MemoryMode ParseMemory(Args a) => a.GetChoice("memory", "store", "store", "recompute", "reversible") switch
    {
        "recompute" => MemoryMode.Recompute,
        "reversible" => MemoryMode.Reversible,
        _ => MemoryMode.Store,
    };

    public static UntieMode ParseUntie(Args a) => a.GetChoice("untie", "constant", "constant", "all", "none") switch
    {
        "all" => UntieMode.All,
        "none" => UntieMode.None,
        _ => UntieMode.Constant,
    };

    public static OptimizerOptions ParseOptimizer(Args a)
    {
        bool sgd = a.GetChoice("optimizer", "adamw", "adamw", "sgd") == "sgd";
        if (a.Get("clip-norm") is not null && a.GetDouble("clip-norm", 1, min: 0) <= 0) throw new UsageException("option '--clip-norm' must be positive");
        return new OptimizerOptions(
            sgd ? OptimizerKind.Sgd : OptimizerKind.AdamW,
            Momentum: a.GetDouble("momentum", 0, min: 0),
            Nesterov: a.Has("nesterov"),
            WeightDecay: a.GetDouble("weight-decay", sgd ? 0 : 0.01, min: 0),
            Beta1: a.GetDouble("beta1", 0.9, min: 0),
            Beta2: a.GetDouble("beta2", 0.999, min: 0),
            ClipGlobalNorm: a.Get("clip-norm") is null ? null : a.GetDouble("clip-norm", 1, min: 0));
    }

    public static Dataset LoadData(Args a, string path, string? split = null)
    {
        var layout = DatasetLoader.DetectLayout(path);
        float scale = a.Get("scale") is null ? DatasetLoader.DefaultScale(layout) : (float)a.GetDouble("scale", 1, min: 0);
        int max = a.GetInt("max-samples", 0, min: 0);
        return DatasetLoader.Load(path, new DataOptions { Scale = scale, Split = split ?? a.Get("split"), MaxSamples = max > 0 ? max : null });
    }
}

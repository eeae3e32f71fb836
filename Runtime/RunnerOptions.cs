namespace OnnxRev.Runtime;

/// <summary>Where ONNX Runtime executes the model.</summary>
public enum ExecutionDevice
{
    /// <summary>The CPU execution provider.</summary>
    Cpu,
    /// <summary>The CUDA execution provider (needs a CUDA build of ONNX Runtime and a GPU).</summary>
    Cuda,
}

/// <summary>ONNX Runtime's graph optimization level, in OnnxRev's own terms.</summary>
public enum OptimizationLevel
{
    /// <summary>ORT_DISABLE_ALL: run the graph as given (use this to test OnnxRev's own rewrites).</summary>
    None,
    /// <summary>ORT_ENABLE_BASIC.</summary>
    Basic,
    /// <summary>ORT_ENABLE_EXTENDED.</summary>
    Extended,
    /// <summary>ORT_ENABLE_ALL (ONNX Runtime's default).</summary>
    All,
}

/// <summary>Options for <see cref="OrtRunner"/>.</summary>
public sealed class RunnerOptions
{
    /// <summary>Execution device; default CPU.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>Intra-op thread count; null leaves ONNX Runtime's default.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Graph optimization level; default <see cref="OptimizationLevel.All"/>.</summary>
    public OptimizationLevel OptimizationLevel { get; init; } = OptimizationLevel.All;

    /// <summary>
    /// Names of ONNX Runtime optimizers to disable (session config entry
    /// <c>optimization.disable_specified_optimizers</c>).
    /// </summary>
    public IReadOnlyList<string> DisabledOptimizers { get; init; } = [];

    /// <summary>When set, ONNX Runtime writes the optimized model to this path.</summary>
    public string? OptimizedModelPath { get; init; }

    /// <summary>Further session configuration entries (key → value), e.g. <c>session.save_model_format</c>.</summary>
    public IReadOnlyDictionary<string, string> ConfigEntries { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether ONNX Runtime's memory pattern optimization is on; default true.</summary>
    public bool EnableMemoryPattern { get; init; } = true;
}

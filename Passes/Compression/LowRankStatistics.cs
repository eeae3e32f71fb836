using OnnxRev.Ir;

namespace OnnxRev.Passes.Compression;

/// <summary>What calibration data says about the weights the low-rank pass factors.</summary>
public interface ILowRankStatistics
{
    /// <summary>
    /// The weighting of a weight's input side: XᵀX of the activations that multiply it (summed over its uses),
    /// or, for embedding tables, how often each row was looked up; null when unknown.
    /// </summary>
    SideWeighting? InputWeighting(LowRankSite site);

    /// <summary>How much a relative error of this weight moves the model's output, relative to the others (1 when not measured).</summary>
    double Sensitivity(LowRankSite site);
}

/// <summary>Computes <see cref="ILowRankStatistics"/> by running the model (ONNX Runtime lives in the Runtime project, which installs one).</summary>
public interface ILowRankCalibrator
{
    /// <summary>Runs the model on the calibration data of <paramref name="options"/> and gathers the statistics of <paramref name="sites"/>.</summary>
    ILowRankStatistics Collect(Model model, IReadOnlyList<LowRankSite> sites, LowRankOptions options);

    /// <summary>
    /// Sequential error-correcting refit (<c>--refit</c>): in graph order, each target's weight in <paramref name="compressed"/>
    /// is replaced by the <see cref="ReducedRankRegression"/> fit of the original layer's output (from
    /// <paramref name="original"/>) on the inputs the layer receives in the compressed model as it stands after the
    /// earlier refits. Returns one result per target refitted.
    /// </summary>
    IReadOnlyList<LowRankRefitResult> Refit(Model original, Model compressed, IReadOnlyList<LowRankRefitTarget> targets, LowRankOptions options);
}

/// <summary>
/// A linear layer the refit may change: the data input <paramref name="DataInput"/> (same name in the original and the
/// compressed model) multiplies the original weight W (k×n in x·W orientation); the compressed model holds either the
/// factors <paramref name="Left"/>·<paramref name="Right"/> of the stored matrix or, when they are null, the whole stored
/// matrix under <paramref name="Weight"/>.
/// </summary>
/// <param name="Weight">The original weight's name.</param>
/// <param name="DataInput">The value the layer multiplies.</param>
/// <param name="Transposed">True when the stored matrix is Wᵀ (Gemm transB = 1).</param>
/// <param name="Original">W, k×n row-major (x·W orientation).</param>
/// <param name="K">Input features.</param>
/// <param name="N">Output features.</param>
/// <param name="Left">The stored matrix's left factor initializer, or null (refit in full rank).</param>
/// <param name="Right">The stored matrix's right factor initializer, or null.</param>
/// <param name="Rank">The factors' rank (0 when whole).</param>
public sealed record LowRankRefitTarget(string Weight, string DataInput, bool Transposed, float[] Original, int K, int N, string? Left, string? Right, int Rank);

/// <summary>What the refit did to one layer: ‖X̃·Ŵ − X·W‖ / ‖X·W‖ on the calibration data before and after.</summary>
/// <param name="Weight">The original weight's name.</param>
/// <param name="Rank">The rank kept (0: whole).</param>
/// <param name="ErrorBefore">Relative output error of the layer before its refit (on its compressed-model inputs).</param>
/// <param name="ErrorAfter">The same after.</param>
public sealed record LowRankRefitResult(string Weight, int Rank, double ErrorBefore, double ErrorAfter);

/// <summary>Where the pass finds its calibrator: set once by the Runtime side (OnnxRev.Runtime.Compression.CompressionPasses.Register).</summary>
public static class LowRankCalibration
{
    /// <summary>The installed calibrator, or null (then --calibration is an error).</summary>
    public static ILowRankCalibrator? Calibrator { get; set; }
}

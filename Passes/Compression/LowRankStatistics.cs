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
}

/// <summary>Where the pass finds its calibrator: set once by the Runtime side (OnnxRev.Runtime.Compression.CompressionPasses.Register).</summary>
public static class LowRankCalibration
{
    /// <summary>The installed calibrator, or null (then --calibration is an error).</summary>
    public static ILowRankCalibrator? Calibrator { get; set; }
}

using OnnxRev.Passes.Compression;

namespace OnnxRev.Runtime.Compression;

/// <summary>Installs the ONNX Runtime parts of the compression passes (the low-rank pass's calibrator); the CLI calls it at start.</summary>
public static class CompressionPasses
{
    /// <summary>Installs the calibrator (once; later calls only replace its log).</summary>
    public static void Register(Action<string>? log = null)
    {
        LowRankCalibration.Calibrator = new OrtLowRankCalibrator { Log = log };
    }
}

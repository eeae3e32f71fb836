using System.Runtime.InteropServices;
using OnnxRev.Ir;
using OnnxRev.Passes.Reversible;
using OnnxRev.Schema;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Reversible;

/// <summary>Reconstruction error of one coupling block: max |rebuilt − forward| over its inputs x1, x2, absolute and relative to max |x|.</summary>
/// <param name="Index">Block index in graph order.</param>
/// <param name="LocalMaxAbs">Inputs rebuilt from this block's own forward outputs.</param>
/// <param name="LocalRelative">The same over the inputs' scale.</param>
/// <param name="ChainedMaxAbs">Inputs rebuilt block by block from the last block's outputs (what the reversible backward uses).</param>
/// <param name="ChainedRelative">The same over the inputs' scale.</param>
public sealed record BlockReconstruction(int Index, double LocalMaxAbs, double LocalRelative, double ChainedMaxAbs, double ChainedRelative);

/// <summary>What a coupling conversion did to a model on given inputs.</summary>
/// <param name="OutputMaxAbs">max |converted − original| over the first output.</param>
/// <param name="OutputScale">max |original| over the first output.</param>
/// <param name="Blocks">Per coupling block of the converted model.</param>
public sealed record CouplingReportResult(double OutputMaxAbs, double OutputScale, IReadOnlyList<BlockReconstruction> Blocks)
{
    /// <summary><see cref="OutputMaxAbs"/> / <see cref="OutputScale"/>.</summary>
    public double OutputRelative => OutputMaxAbs / Math.Max(OutputScale, 1e-30);

    /// <summary>Worst chained relative reconstruction error over the blocks (0 when there are none).</summary>
    public double WorstChainedRelative => Blocks.Count == 0 ? 0 : Blocks.Max(b => b.ChainedRelative);

    /// <summary>Worst local relative reconstruction error over the blocks (0 when there are none).</summary>
    public double WorstLocalRelative => Blocks.Count == 0 ? 0 : Blocks.Max(b => b.LocalRelative);
}

/// <summary>Measures a coupling conversion with ONNX Runtime (graph optimizations off, float32).</summary>
public static class CouplingReport
{
    /// <summary>Runs <paramref name="original"/> and <paramref name="converted"/> on <paramref name="inputs"/> and the converted model's reconstruction probes.</summary>
    public static CouplingReportResult Measure(Model original, Model converted, IReadOnlyDictionary<string, DataValue> inputs)
    {
        var options = new RunnerOptions { OptimizationLevel = OptimizationLevel.None, IntraOpThreads = 1 };
        string outName = original.Graph.Outputs[0].Name;
        float[] a, b;
        using (var r = new OrtRunner(ModelWriter.ToBytes(original), options)) a = Floats(r.Run(inputs)[outName].AsTensor());
        var (probe, probes) = CouplingReconstruction.Build(converted);
        var names = new[] { converted.Graph.Outputs[0].Name }.Concat(probes.SelectMany(p => new[] { p.X1, p.X2, p.LocalX1, p.LocalX2, p.ChainedX1, p.ChainedX2 })).Distinct().ToList();
        using var runner = new OrtRunner(ModelWriter.ToBytes(probe), options);
        var outs = runner.Run(inputs, names);
        b = Floats(outs[names[0]].AsTensor());
        if (a.Length != b.Length) throw new OnnxRevException($"the converted model's output has {b.Length} values, the original's {a.Length}");
        double diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++) { diff = Math.Max(diff, Math.Abs((double)a[i] - b[i])); scale = Math.Max(scale, Math.Abs((double)a[i])); }
        var blocks = new List<BlockReconstruction>();
        foreach (var p in probes)
        {
            var x1 = Floats(outs[p.X1].AsTensor());
            var x2 = Floats(outs[p.X2].AsTensor());
            double s = Math.Max(MaxAbs(x1), MaxAbs(x2));
            double local = Math.Max(MaxDiff(x1, Floats(outs[p.LocalX1].AsTensor())), MaxDiff(x2, Floats(outs[p.LocalX2].AsTensor())));
            double chained = Math.Max(MaxDiff(x1, Floats(outs[p.ChainedX1].AsTensor())), MaxDiff(x2, Floats(outs[p.ChainedX2].AsTensor())));
            blocks.Add(new BlockReconstruction(p.Index, local, local / Math.Max(s, 1e-30), chained, chained / Math.Max(s, 1e-30)));
        }
        return new CouplingReportResult(diff, scale, blocks);
    }

    private static float[] Floats(TensorProto t) => TensorProtoData.Floats(t);

    private static double MaxAbs(float[] x) => x.Length == 0 ? 0 : x.Max(v => Math.Abs((double)v));

    private static double MaxDiff(float[] x, float[] y)
    {
        double d = 0;
        for (int i = 0; i < x.Length; i++) d = Math.Max(d, Math.Abs((double)x[i] - y[i]));
        return d;
    }
}

using Microsoft.ML.OnnxRuntime;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Runtime.Data;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Training;

/// <summary>One coupling block's reconstruction: max |rebuilt − forward| over x1 and x2, and max |forward| (the scale).</summary>
public sealed record BlockReconstruction(int Block, double MaxAbsError, double Scale)
{
    /// <summary>The error relative to the activations' scale.</summary>
    public double Relative => Scale > 0 ? MaxAbsError / Scale : MaxAbsError;
}

/// <summary>
/// Runs <see cref="Reconstruction"/>'s probe in ONNX Runtime on one batch: the forward, then every coupling
/// block's inputs rebuilt from its outputs as the reversible backward rebuilds them.
/// </summary>
public static class ReconstructionCheck
{
    /// <summary>Per-block errors on the first <paramref name="batch"/> samples of <paramref name="data"/> (fewer when it has fewer).</summary>
    public static IReadOnlyList<BlockReconstruction> Run(Model model, Dataset data, int batch, RunnerOptions runner)
    {
        var probe = Reconstruction.Build(model);
        using var ort = new OrtRunner(ModelWriter.ToBytes(probe.Model), runner, "reconstruction probe");
        var dataInputs = ort.Inputs.Where(i => model.Graph.Inputs.Any(v => v.Name == i.Name && v.Initializer is null)).ToList();
        if (dataInputs.Count != 1) throw new OnnxRevException($"the reconstruction check needs exactly one data input; the model has {dataInputs.Count}");
        var input = dataInputs[0];
        data = data.ReshapeFor(input.Shape, input.Name);
        int count = Math.Min(batch, data.Count);
        var shape = new long[] { count }.Concat(data.SampleShape.Select(d => (long)d)).ToArray();
        var features = data.Features.AsSpan(0, count * data.FeatureCount).ToArray();
        using var x = OrtValue.CreateTensorValueFromMemory(features, shape);
        var names = ort.Outputs.Select(o => o.Name).ToList();
        using var runOptions = new RunOptions();
        IDisposableReadOnlyCollection<OrtValue> outs;
        try { outs = ort.Session.Run(runOptions, new[] { input.Name }, new[] { x }, names); }
        catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed("reconstruction probe", e); }
        using (outs)
        {
            float[] Get(string name) => outs[names.IndexOf(name)].GetTensorDataAsSpan<float>().ToArray();
            var result = new List<BlockReconstruction>();
            foreach (var blk in probe.Blocks)
            {
                double err = 0, scale = 0;
                foreach (var (fwd, reb) in new[] { (blk.ForwardX1, blk.RebuiltX1), (blk.ForwardX2, blk.RebuiltX2) })
                {
                    var a = Get(fwd);
                    var r = Get(reb);
                    for (int i = 0; i < a.Length; i++)
                    {
                        err = Math.Max(err, Math.Abs((double)r[i] - a[i]));
                        scale = Math.Max(scale, Math.Abs((double)a[i]));
                    }
                }
                result.Add(new BlockReconstruction(blk.Index, err, scale));
            }
            return result;
        }
    }
}

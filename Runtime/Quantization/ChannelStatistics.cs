using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime.Quantization;

/// <summary>Per-input-channel statistics of one activation tensor over calibration data: max |x| and mean |x| per channel of its last axis.</summary>
/// <param name="MaxAbs">Largest |x| seen per channel.</param>
/// <param name="MeanAbs">Mean |x| per channel over every row seen.</param>
/// <param name="Rows">Rows (tokens, samples) seen.</param>
public sealed record ChannelStats(float[] MaxAbs, float[] MeanAbs, long Rows);

/// <summary>
/// Runs a float model in ONNX Runtime over calibration inputs with every activation that a MatMul/Gemm multiplies by a
/// constant weight (<see cref="ActivationScaling.Consumers"/>) exposed as an output, and gathers per-channel statistics
/// of each: the input of activation-aware scaling (SmoothQuant for INT8, AWQ for int4).
/// </summary>
public static class ChannelStatistics
{
    /// <summary>Activation tensor name → its statistics.</summary>
    public static Dictionary<string, ChannelStats> Collect(Model model, IEnumerable<IReadOnlyDictionary<string, DataValue>> batches, RunnerOptions? options = null)
    {
        var copy = ModelReader.FromProto(ModelWriter.ToProto(model), model.BaseDirectory, "statistics copy");
        var g = copy.Graph;
        var k = new Dictionary<string, int>();
        foreach (var node in g.Nodes)
        {
            if (node.Inputs.Count < 1 || node.Inputs[0] is not { } a || k.ContainsKey(a.Name)) continue;
            var c = ActivationScaling.Consumers(a).FirstOrDefault(c => c.Node == node);
            if (c.Node is null) continue;
            k[a.Name] = (int)(c.Transposed ? c.Weight.Dims[1] : c.Weight.Dims[0]);
            if (!g.Inputs.Contains(a) && !g.Outputs.Contains(a))
            {
                a.Type ??= new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DT.Float } };
                g.Outputs.Add(a);
            }
        }
        var max = k.ToDictionary(kv => kv.Key, kv => new float[kv.Value]);
        var sum = k.ToDictionary(kv => kv.Key, kv => new double[kv.Value]);
        var rows = k.ToDictionary(kv => kv.Key, _ => 0L);
        using (var runner = new OrtRunner(ModelWriter.ToBytes(copy), options, "statistics"))
        {
            var wanted = k.Keys.Where(n => runner.Outputs.Any(o => o.Name == n)).ToList();
            // Activations that are graph inputs come from the feeds; ORT still needs one output requested.
            if (wanted.Count == 0) wanted.Add(runner.Outputs[0].Name);
            foreach (var feeds in batches)
            {
                var outputs = runner.Run(feeds, wanted);
                foreach (var (name, width) in k)
                {
                    var x = TensorProtoData.Floats((outputs.TryGetValue(name, out var o) ? o : feeds[name]).AsTensor());
                    var m = max[name];
                    var s = sum[name];
                    for (int i = 0; i < x.Length; i++)
                    {
                        float v = Math.Abs(x[i]);
                        int j = i % width;
                        if (v > m[j]) m[j] = v;
                        s[j] += v;
                    }
                    rows[name] += x.Length / width;
                }
            }
        }
        return k.Keys.ToDictionary(n => n, n => new ChannelStats(max[n], sum[n].Select(v => (float)(v / Math.Max(1, rows[n]))).ToArray(), rows[n]));
    }
}

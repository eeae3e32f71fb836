using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using OnnxRev.Runtime;

namespace OnnxRev.Bench;

/// <summary>Time per operator type from ONNX Runtime's own profiler (node events of the optimized graph), averaged per run.</summary>
internal static class OpProfile
{
    /// <summary>Runs <paramref name="model"/> <paramref name="runs"/> times (after 3 unprofiled-equivalent warm-ups) at <paramref name="threads"/> threads; op type → ms per run, largest first.</summary>
    public static List<(string Op, double Ms)> Measure(string model, IReadOnlyDictionary<string, DataValue> inputs, int threads, int runs)
    {
        string prefix = Path.Combine(Path.GetTempPath(), $"onnxrev-profile-{Guid.NewGuid():N}");
        using var options = new SessionOptions { EnableProfiling = true, ProfileOutputPathPrefix = prefix, IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        var values = inputs.ToDictionary(kv => kv.Key, kv => new Ir.Tensor(kv.Value.AsTensor()));
        var names = values.Keys.ToArray();
        for (int i = 0; i < runs + 3; i++)
        {
            var ort = names.Select(n => OrtValue.CreateTensorValueFromMemory(values[n].ToInt64Array(), values[n].Dims.ToArray())).ToArray();
            using var r = session.Run(new RunOptions(), names, ort, session.OutputNames.ToArray());
            foreach (var v in ort) v.Dispose();
        }
        string file = session.EndProfiling();
        var totals = new Dictionary<string, double>();
        using (var doc = JsonDocument.Parse(File.ReadAllText(file)))
        {
            var events = doc.RootElement.EnumerateArray().Where(e => e.TryGetProperty("cat", out var c) && c.GetString() == "Node"
                && e.TryGetProperty("name", out var nm) && nm.GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)).ToList();
            foreach (var e in events)
            {
                string op = e.GetProperty("args").GetProperty("op_name").GetString()!;
                totals[op] = totals.GetValueOrDefault(op) + e.GetProperty("dur").GetDouble() / 1000.0;
            }
        }
        File.Delete(file);
        // The first 3 runs are warm-up; ORT profiles all of them, so divide by all runs (a small overestimate of steady state).
        return totals.Select(kv => (kv.Key, kv.Value / (runs + 3))).OrderByDescending(t => t.Item2).ToList();
    }
}

using System.Numerics;
using OnnxRev.Ir;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime.Quantization;

/// <summary>
/// Calibration for GPTQ: runs the float model in ONNX Runtime over calibration batches and accumulates, for every
/// MatMul/Gemm weight the int4 pass would quantize, H = Σ x xᵀ over the rows x of the input that weight multiplies
/// (inputs shared by several weights — Q, K, V — are accumulated once). Pass the result as
/// <c>Int4Options.Hessians</c>.
/// </summary>
public static class Int4Calibration
{
    /// <summary>Weight name → H (K × K, row-major).</summary>
    public static Dictionary<string, double[]> Hessians(Model model, IEnumerable<IReadOnlyDictionary<string, DataValue>> batches, RunnerOptions? options = null)
    {
        var copy = ModelReader.FromProto(ModelWriter.ToProto(model), model.BaseDirectory, "calibration copy");
        var g = copy.Graph;
        var byInput = new Dictionary<string, (int K, List<string> Weights)>();
        foreach (var node in g.Nodes)
        {
            if (!node.IsStandardDomain || node.OpType is not ("MatMul" or "Gemm") || node.Inputs.Count < 2 || node.Inputs[0] is not { } a || node.Inputs[1] is not { } w) continue;
            if (node.OpType == "Gemm" && node.Attributes.GetInt("transA", 0) != 0) continue;
            var t = w.IsConstant ? w.Initializer : w.Producer is { OpType: "Constant" } p ? Passes.Cleanup.ConstantsToInitializers.ToTensor(p) : null;
            if (t is null || t.DataType != (int)DT.Float || t.Dims.Count != 2) continue;
            int k = (int)(node.OpType == "Gemm" && node.Attributes.GetInt("transB", 0) != 0 ? t.Dims[1] : t.Dims[0]);
            if (!byInput.TryGetValue(a.Name, out var entry)) byInput[a.Name] = entry = (k, new List<string>());
            entry.Weights.Add(w.Name);
            if (!g.Inputs.Contains(a) && !g.Outputs.Contains(a))
            {
                a.Type ??= new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DT.Float } };
                g.Outputs.Add(a);
            }
        }
        var sums = byInput.ToDictionary(kv => kv.Key, kv => new double[(long)kv.Value.K * kv.Value.K]);
        using (var runner = new OrtRunner(ModelWriter.ToBytes(copy), options, "calibration"))
        {
            var wanted = byInput.Keys.Where(n => runner.Outputs.Any(o => o.Name == n)).ToList();
            foreach (var feeds in batches)
            {
                var outputs = runner.Run(feeds, wanted);
                foreach (var (name, (k, _)) in byInput)
                {
                    var value = outputs.TryGetValue(name, out var o) ? o : feeds[name];
                    Accumulate(sums[name], TensorProtoData.Floats(value.AsTensor()), k);
                }
            }
        }
        var result = new Dictionary<string, double[]>();
        foreach (var (name, (k, weights)) in byInput)
        {
            var h = sums[name];
            for (int i = 0; i < k; i++)
                for (int j = 0; j < i; j++) h[(long)i * k + j] = h[(long)j * k + i];
            foreach (var w in weights) result[w] = h;
        }
        return result;
    }

    /// <summary>Adds Σ x xᵀ (upper triangle) over the rows of <paramref name="x"/> ([rows, K] flattened).</summary>
    private static void Accumulate(double[] h, float[] x, int k)
    {
        int rows = x.Length / k;
        var xd = new double[x.Length];
        for (int i = 0; i < x.Length; i++) xd[i] = x[i];
        int width = Vector<double>.Count;
        Parallel.For(0, k, i =>
        {
            var hi = h.AsSpan((int)((long)i * k), k);
            for (int r = 0; r < rows; r++)
            {
                double ai = xd[(long)r * k + i];
                if (ai == 0) continue;
                var row = xd.AsSpan((int)((long)r * k), k);
                var av = new Vector<double>(ai);
                int j = i;
                for (; j + width <= k; j += width)
                    (new Vector<double>(hi[j..]) + av * new Vector<double>(row[j..])).CopyTo(hi[j..]);
                for (; j < k; j++) hi[j] += ai * row[j];
            }
        });
    }
}

using System.Runtime.InteropServices;
using MathNet.Numerics.LinearAlgebra;
using OnnxRev.Ir;
using OnnxRev.Passes.Compression;
using OnnxRev.Serialization;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime.Compression;

/// <summary>
/// Gathers the low-rank pass's calibration statistics in ONNX Runtime (optimizations off): the model is run on
/// every calibration sample with the data inputs of the factorable weights as extra outputs, and for each weight
/// XᵀX (input features × input features, in double, summed over every row of every use: tokens, batch rows,
/// pixels) or, for embedding tables, how often each row is looked up. With <c>--sensitivity</c> each matrix is
/// then replaced alone by its (activation-aware) approximation at half its rank and the model's outputs are
/// compared with the original's: the measured relative output error² over the predicted relative error² is
/// the weight's sensitivity.
/// </summary>
public sealed class OrtLowRankCalibrator : ILowRankCalibrator
{
    /// <summary>Progress lines (the CLI prints them); null for silence.</summary>
    public Action<string>? Log { get; set; }

    /// <inheritdoc/>
    public ILowRankStatistics Collect(Model model, IReadOnlyList<LowRankSite> sites, LowRankOptions options)
    {
        var noOpt = new RunnerOptions { OptimizationLevel = OptimizationLevel.None };
        var probeModel = ModelReader.FromProto(ModelWriter.ToProto(model), model.BaseDirectory, "calibration");
        var originalOutputs = probeModel.Graph.Outputs.Select(o => o.Name).ToList();
        var tapped = new List<string>();
        foreach (var site in sites)
            foreach (var (node, use) in site.Users)
                if (LowRankSite.DataInput(node, use) is { } x && !tapped.Contains(x.Name)) tapped.Add(x.Name);
        var values = probeModel.Graph.AllGraphs().SelectMany(g => g.Nodes.SelectMany(n => n.Outputs).Concat(g.Inputs)).GroupBy(v => v.Name).ToDictionary(g => g.Key, g => g.First());
        foreach (var name in tapped)
            if (values.TryGetValue(name, out var v) && v.Graph == probeModel.Graph && !probeModel.Graph.Outputs.Contains(v)) probeModel.Graph.Outputs.Add(v);
        using var runner = new OrtRunner(ModelWriter.ToBytes(probeModel), noOpt, "calibration");
        var samples = CalibrationData.Load(options.Calibration!, options.Vocab, runner, options.CalibrationLimit);
        var stats = new Statistics();
        var available = runner.Outputs.Select(o => o.Name).ToHashSet();
        var accumulators = new Dictionary<LowRankSite, Accumulator>();
        foreach (var site in sites)
            if (site.Side is { } side && (site.GatherOnly || site.Users.All(u => u.Use != LowRankUse.Gather)) && site.Users.All(u => LowRankSite.DataInput(u.Node, u.Use) is { } x && available.Contains(x.Name)))
                accumulators[site] = new Accumulator(site.GatherOnly ? site.Rows : side == InputSide.Rows ? site.Rows : site.Cols, site.GatherOnly);
        var reference = new List<OrderedDictionary<string, DataValue>>();
        int done = 0;
        foreach (var sample in samples)
        {
            var outputs = runner.Run(sample);
            reference.Add(new OrderedDictionary<string, DataValue>(originalOutputs.Select(n => KeyValuePair.Create(n, outputs[n]))));
            foreach (var (site, acc) in accumulators)
                foreach (var (node, use) in site.Users)
                    acc.Add(outputs[LowRankSite.DataInput(node, use)!.Name].AsTensor(), node, use);
            if (++done % 32 == 0) Log?.Invoke($"calibration: {done}/{samples.Count} samples");
        }
        foreach (var (site, acc) in accumulators) stats.Weighting[site] = acc.Result();
        Log?.Invoke($"calibration: {samples.Count} samples, statistics of {accumulators.Count} of {sites.Count} weights");
        if (options.Sensitivity) MeasureSensitivity(model, sites, stats, samples, reference, noOpt);
        return stats;
    }

    private void MeasureSensitivity(Model model, IReadOnlyList<LowRankSite> sites, Statistics stats, List<IReadOnlyDictionary<string, DataValue>> samples,
        List<OrderedDictionary<string, DataValue>> reference, RunnerOptions noOpt)
    {
        var proto = ModelWriter.ToProto(model);
        var refEnergy = reference.Sum(r => r.Values.Sum(v => Floats(v.AsTensor()).Sum(x => (double)x * x)));
        int k = 0;
        foreach (var site in sites.Where(s => !s.IsKernel))
        {
            stats.Weighting.TryGetValue(site, out var weighting);
            var basis = new LowRankBasis(site.Tensor.ToFloatArray(), site.Rows, site.Cols, site.Side == InputSide.Rows ? weighting : null, site.Side == InputSide.Cols ? weighting : null);
            int rank = Math.Max(1, basis.Spectrum.Length / 2);
            double predicted = basis.Total <= 0 ? 0 : basis.Discarded(rank) / basis.Total;
            if (predicted <= 0) continue;
            var (l, r) = basis.Factors(rank);
            var approx = new float[site.Rows * site.Cols];
            for (int i = 0; i < site.Rows; i++)
                for (int p = 0; p < rank; p++)
                {
                    float f = l[i * rank + p];
                    for (int j = 0; j < site.Cols; j++) approx[i * site.Cols + j] += f * r[p * site.Cols + j];
                }
            var probe = ModelReader.FromProto(proto.Clone(), model.BaseDirectory, "probe");
            Replace(probe, site.Weight.Name, site.Tensor.Dims, approx);
            using var runner = new OrtRunner(ModelWriter.ToBytes(probe), noOpt, "sensitivity probe");
            double err = 0;
            for (int s = 0; s < samples.Count; s++)
            {
                var outputs = runner.Run(samples[s], reference[s].Keys.ToList());
                foreach (var (name, expected) in reference[s])
                {
                    var a = Floats(outputs[name].AsTensor());
                    var e = Floats(expected.AsTensor());
                    for (int i = 0; i < a.Length; i++) err += (double)(a[i] - e[i]) * (a[i] - e[i]);
                }
            }
            stats.Sensitivity[site] = err / Math.Max(refEnergy, double.Epsilon) / predicted;
            Log?.Invoke($"sensitivity {++k}: {site.Describe()}: {stats.Sensitivity[site]:G3}");
        }
    }

    private static void Replace(Model model, string name, IReadOnlyList<long> dims, float[] data)
    {
        foreach (var g in model.Graph.AllGraphs())
        {
            if (g.Initializers.FirstOrDefault(v => v.Name == name) is { } init) { g.ReplaceInitializer(init, Tensor.FromFloats(name, dims, data)); return; }
            if (g.Nodes.FirstOrDefault(n => n.OpType == "Constant" && n.Outputs[0].Name == name) is { } c)
            {
                var t = Tensor.FromFloats("", dims, data).Proto;
                c.Attributes.Clear();
                c.Attributes.Add(Ir.Attribute.FromTensor("value", t));
                return;
            }
        }
        throw new InvalidOperationException($"weight '{name}' not found in the probe model");
    }

    private static ReadOnlySpan<float> FloatSpan(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes);

    private static float[] Floats(Schema.TensorProto t) =>
        t.DataType == (int)DT.Float ? FloatSpan(TensorProtoData.GetBytes(t)).ToArray() : Array.Empty<float>();

    private sealed class Statistics : ILowRankStatistics
    {
        public Dictionary<LowRankSite, SideWeighting> Weighting { get; } = new();
        public Dictionary<LowRankSite, double> Sensitivity { get; } = new();
        SideWeighting? ILowRankStatistics.InputWeighting(LowRankSite site) => Weighting.GetValueOrDefault(site);
        double ILowRankStatistics.Sensitivity(LowRankSite site) => Sensitivity.GetValueOrDefault(site, 1.0);
    }

    /// <summary>Σ xxᵀ over rows of the data entering a weight (or lookup counts of table rows).</summary>
    private sealed class Accumulator(int size, bool counts)
    {
        private readonly double[] _counts = counts ? new double[size] : Array.Empty<double>();
        private Matrix<double>? _gram = counts ? null : Matrix<double>.Build.Dense(size, size);

        public void Add(Schema.TensorProto t, Node node, LowRankUse use)
        {
            if (counts)
            {
                var ids = t.DataType == (int)DT.Int64 ? MemoryMarshal.Cast<byte, long>(TensorProtoData.GetBytes(t)).ToArray()
                    : MemoryMarshal.Cast<byte, int>(TensorProtoData.GetBytes(t)).ToArray().Select(i => (long)i).ToArray();
                foreach (var id in ids)
                {
                    long i = id < 0 ? id + size : id;
                    if (i >= 0 && i < size) _counts[i]++;
                }
                return;
            }
            var x = Floats(t);
            var dims = t.Dims.ToArray();
            Matrix<double> rows;
            if (use is LowRankUse.Conv1x1)
            {
                // [N, C, H, W]: one row per pixel (strided pixels only, as the 1×1 convolution reads them).
                long n = dims[0], c = dims[1], h = dims[2], w = dims[3];
                var strides = node.Attributes.GetInts("strides") ?? new long[] { 1, 1 };
                var list = new List<int>();
                for (long b = 0; b < n; b++)
                    for (long i = 0; i < h; i += strides[0])
                        for (long j = 0; j < w; j += strides[1]) list.Add((int)((b * c * h + i) * w + j));
                rows = Matrix<double>.Build.Dense(list.Count, (int)c, (r, ch) => x[list[r] + ch * (int)(h * w)]);
            }
            else
            {
                bool transA = use == LowRankUse.Gemm && node.Attributes.GetInt("transA", 0) != 0;
                int k = size;
                int count = x.Length / k;
                rows = transA
                    ? Matrix<double>.Build.Dense(count, k, (r, f) => x[f * count + r])
                    : Matrix<double>.Build.Dense(count, k, (r, f) => x[r * k + f]);
            }
            _gram = _gram! + rows.TransposeThisAndMultiply(rows);
        }

        public SideWeighting Result() => counts ? SideWeighting.FromDiagonal(_counts) : SideWeighting.FromMatrix(_gram!.ToRowMajorArray(), size);
    }
}

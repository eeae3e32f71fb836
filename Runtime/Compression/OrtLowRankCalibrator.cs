using System.Runtime.InteropServices;
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
/// then replaced alone by its (activation-aware) approximation at the rank keeping 90 % of its energy and the model's outputs are
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
        var g = probeModel.Graph;
        var originalOutputs = g.Outputs.Select(o => o.Name).ToList();
        var values = g.Nodes.SelectMany(n => n.Outputs).Concat(g.Inputs).GroupBy(v => v.Name).ToDictionary(x => x.Key, x => x.First());
        bool canReshape = (probeModel.OpsetVersion("") ?? 1) >= 5;
        // One tap per (data value, layout): its Gram matrix XᵀX computed in ORT for one sample, summed here in double.
        var grams = new Dictionary<(string Value, LowRankUse Layout, bool TransA), string>();
        var counts = new Dictionary<string, string>();
        var b = new Building.GraphBuilder(g);
        var siteTaps = new Dictionary<LowRankSite, List<string>>();
        foreach (var site in sites)
        {
            if (site.Side is null || (!site.GatherOnly && site.Users.Any(u => u.Use == LowRankUse.Gather))) continue;
            var taps = new List<string>();
            foreach (var (node, use) in site.Users)
            {
                if (LowRankSite.DataInput(node, use) is not { } x || !values.TryGetValue(x.Name, out var v)) { taps = null; break; }
                if (use == LowRankUse.Gather)
                {
                    if (!counts.TryGetValue(v.Name, out var c)) { c = v.Name; if (!g.Outputs.Contains(v)) g.Outputs.Add(v); counts[v.Name] = c; }
                    taps.Add(c);
                    continue;
                }
                bool transA = use == LowRankUse.Gemm && node.Attributes.GetInt("transA", 0) != 0;
                var key = (v.Name, use == LowRankUse.Conv1x1 ? LowRankUse.Conv1x1 : LowRankUse.MatMul, transA);
                if (!grams.TryGetValue(key, out var name))
                {
                    if (!canReshape && !transA) { taps = null; break; }
                    int k = site.Side == InputSide.Rows ? site.Rows : site.Cols;
                    Value rows = v;
                    if (use == LowRankUse.Conv1x1) rows = b.Op("Transpose", new[] { v }, new[] { Ir.Attribute.FromInts("perm", new long[] { 0, 2, 3, 1 }) });
                    Value gram;
                    if (transA) gram = b.Op("MatMul", new[] { v, b.Op("Transpose", new[] { v }) });
                    else
                    {
                        var shape = b.Initializer(Tensor.FromInt64s("", new long[] { 2 }, new long[] { -1, k }), "gram_shape");
                        var flat = b.Op("Reshape", new[] { rows, shape });
                        gram = b.Op("MatMul", new[] { b.Op("Transpose", new[] { flat }), flat }, hint: "lowrank_gram");
                    }
                    g.Outputs.Add(gram);
                    name = gram.Name;
                    grams[key] = name;
                }
                taps.Add(name);
            }
            if (taps is not null) siteTaps[site] = taps;
        }
        using var runner = new OrtRunner(ModelWriter.ToBytes(probeModel), noOpt, "calibration");
        var samples = CalibrationData.Load(options.Calibration!, options.Vocab, runner, options.CalibrationLimit);
        var stats = new Statistics();
        var sums = new Dictionary<string, double[]>();
        var lookups = new Dictionary<string, List<long>>();
        var reference = new List<OrderedDictionary<string, DataValue>>();
        var wanted = originalOutputs.Concat(grams.Values).Concat(counts.Values).Distinct().ToList();
        int done = 0;
        foreach (var sample in samples)
        {
            var outputs = runner.Run(sample, wanted);
            reference.Add(new OrderedDictionary<string, DataValue>(originalOutputs.Select(n => KeyValuePair.Create(n, outputs[n]))));
            foreach (var name in grams.Values)
            {
                var f = Floats(outputs[name].AsTensor());
                if (!sums.TryGetValue(name, out var acc)) sums[name] = acc = new double[f.Length];
                for (int i = 0; i < f.Length; i++) acc[i] += f[i];
            }
            foreach (var name in counts.Values)
            {
                var t = outputs[name].AsTensor();
                var ids = t.DataType == (int)DT.Int64 ? MemoryMarshal.Cast<byte, long>(TensorProtoData.GetBytes(t)).ToArray()
                    : MemoryMarshal.Cast<byte, int>(TensorProtoData.GetBytes(t)).ToArray().Select(i => (long)i).ToArray();
                if (!lookups.TryGetValue(name, out var list)) lookups[name] = list = new List<long>();
                list.AddRange(ids);
            }
            if (++done % 64 == 0) Log?.Invoke($"calibration: {done}/{samples.Count} samples");
        }
        foreach (var (site, taps) in siteTaps)
        {
            if (site.GatherOnly)
            {
                var w = new double[site.Rows];
                foreach (var tap in taps)
                    foreach (var id in lookups[tap])
                    {
                        long i = id < 0 ? id + site.Rows : id;
                        if (i >= 0 && i < site.Rows) w[i]++;
                    }
                double prior = (options.EmbeddingFloor ?? options.CalibrationRidge) * Math.Max(w.Sum(), 1) / site.Rows;
                for (int i = 0; i < w.Length; i++) w[i] += prior;
                var gamma = options.LayerNormAware ? EmbeddingLayerNorm.Scale(site.Users[0].Node.Outputs[0], site.Cols) : null;
                stats.Weighting[site] = gamma is null ? SideWeighting.FromDiagonal(w) : SideWeighting.FromDiagonal(w, EmbeddingLayerNorm.ColumnMetric(gamma), site.Cols);
                if (gamma is not null) Log?.Invoke($"calibration: {site.Describe()} feeds a LayerNorm: error measured after its centering and scale");
                continue;
            }
            int k = site.Side == InputSide.Rows ? site.Rows : site.Cols;
            var total = new double[k * k];
            foreach (var tap in taps.Distinct())
            {
                var s2 = sums[tap];
                for (int i = 0; i < total.Length; i++) total[i] += s2[i];
            }
            double ridge = 0;
            for (int i = 0; i < k; i++) ridge += total[i * k + i];
            ridge = options.CalibrationRidge * ridge / k;
            for (int i = 0; i < k; i++) total[i * k + i] += ridge;
            stats.Weighting[site] = SideWeighting.FromMatrix(total, k);
        }
        Log?.Invoke($"calibration: {samples.Count} samples, statistics of {siteTaps.Count} of {sites.Count} weights");
        if (options.Sensitivity) MeasureSensitivity(model, sites, stats, samples, reference, noOpt);
        return stats;
    }

    /// <inheritdoc/>
    public IReadOnlyList<LowRankRefitResult> Refit(Model original, Model compressed, IReadOnlyList<LowRankRefitTarget> targets, LowRankOptions options) =>
        OrtLowRankRefit.Run(original, compressed, targets, options, Log);

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
            // Probe where truncation starts to bite: the rank keeping 90% of the (weighted) energy, a relative error of about 0.3.
            int rank = basis.RankForEnergy(0.9);
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
}

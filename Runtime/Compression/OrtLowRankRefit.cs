using OnnxRev.Ir;
using OnnxRev.Passes.Compression;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime.Compression;

/// <summary>
/// The low-rank pass's sequential error-correcting refit in ONNX Runtime (optimizations off). The layers are taken in
/// graph order of their data input; for each data input (the layers reading it, e.g. Q, K and V, are refitted
/// together) every calibration sample is run through the original model (the layer's input X) and through the
/// compressed model as it stands, whose probe copy takes X as an extra input and returns X̃ᵀX̃, X̃ᵀX and XᵀX for the
/// layer's input X̃, computed in the graph and summed here in double. <see cref="ReducedRankRegression"/> then gives
/// the new weight (at the layer's rank), written into the compressed model before the next data input is probed, so
/// each refit sees the errors left by everything before it. Layers whose input lies before every change of the model
/// see X̃ = X and are only refitted when factored.
/// </summary>
internal static class OrtLowRankRefit
{
    public static IReadOnlyList<LowRankRefitResult> Run(Model original, Model compressed, IReadOnlyList<LowRankRefitTarget> targets, LowRankOptions options, Action<string>? log)
    {
        var results = new List<LowRankRefitResult>();
        if (targets.Count == 0) return results;
        var noOpt = new RunnerOptions { OptimizationLevel = OptimizationLevel.None };
        var g = compressed.Graph;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < g.Nodes.Count; i++)
            foreach (var o in g.Nodes[i].Outputs)
                if (o is not null) index[o.Name] = i;
        // The first node of the compressed model that reads a tensor the original does not have: nothing before it changed.
        var originalInitializers = original.Graph.Initializers.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        int firstChange = g.Nodes.Count;
        for (int i = 0; i < g.Nodes.Count && firstChange == g.Nodes.Count; i++)
            if (g.Nodes[i].Inputs.Any(v => v is not null && v.IsConstant && v.Initializer is not null && !originalInitializers.Contains(v.Name))) firstChange = i;
        var groups = targets.GroupBy(t => t.DataInput)
            .Select(x => (Input: x.Key, Position: index.GetValueOrDefault(x.Key, -1), Targets: x.ToList()))
            .Where(x => x.Position >= firstChange || x.Targets.Any(t => t.Left is not null))
            .OrderBy(x => x.Position).ToList();
        if (groups.Count == 0) return results;

        var tapModel = ModelReader.FromProto(ModelWriter.ToProto(original), original.BaseDirectory, "refit original");
        var tapValues = tapModel.Graph.Nodes.SelectMany(n => n.Outputs).Concat(tapModel.Graph.Inputs).Where(v => v is not null)
            .GroupBy(v => v!.Name).ToDictionary(x => x.Key, x => x.First()!);
        foreach (var (input, _, _) in groups)
        {
            if (!tapValues.TryGetValue(input, out var v)) throw new OnnxRevException($"--refit: the original model has no value '{input}'");
            if (!tapModel.Graph.Outputs.Contains(v)) tapModel.Graph.Outputs.Add(v);
        }
        using var originalRunner = new OrtRunner(ModelWriter.ToBytes(tapModel), noOpt, "refit original");
        var samples = CalibrationData.Load(options.Calibration!, options.Vocab, originalRunner, options.CalibrationLimit);
        int stage = 0;
        foreach (var (input, _, group) in groups)
        {
            int k = group[0].K;
            if (group.Any(t => t.K != k)) throw new OnnxRevException($"--refit: layers reading '{input}' disagree on its width");
            var (saa, sab, sbb, _, _, _) = Moments(compressed, originalRunner, samples, input, k, noOpt);
            double diag = 0;
            for (int i = 0; i < k; i++) diag += saa[i * k + i];
            double ridge = options.RefitRidge * diag / k;
            foreach (var t in group)
            {
                var current = Current(compressed, t);
                double energy = Math.Max(ReducedRankRegression.TargetEnergy(sbb, t.Original, k, t.N), double.Epsilon);
                double before = Math.Sqrt(ReducedRankRegression.SquaredError(saa, sab, sbb, current, t.Original, k, t.N) / energy);
                var (left, right) = ReducedRankRegression.Fit(saa, sab, t.Original, k, t.N, t.Left is null ? 0 : t.Rank, ridge);
                var fitted = right is null ? left : Multiply(left, right, k, t.Rank, t.N);
                double after = Math.Sqrt(ReducedRankRegression.SquaredError(saa, sab, sbb, fitted, t.Original, k, t.N) / energy);
                Write(compressed, t, left, right);
                results.Add(new LowRankRefitResult(t.Weight, t.Left is null ? 0 : t.Rank, before, after));
            }
            log?.Invoke($"refit {++stage}/{groups.Count}: {string.Join(", ", results.TakeLast(group.Count).Select(r => $"{r.Weight} {r.ErrorBefore:G3} → {r.ErrorAfter:G3}"))}");
        }
        return results;
    }

    /// <summary>
    /// Σ over the samples of X̃ᵀX̃, X̃ᵀX and XᵀX for the value <paramref name="input"/> (rows = every position, k features),
    /// with the column sums of X̃ and X and the number of rows (for centred moments).
    /// </summary>
    internal static (double[] Saa, double[] Sab, double[] Sbb, double[] SumA, double[] SumB, long Rows) Moments(Model compressed, OrtRunner originalRunner, List<IReadOnlyDictionary<string, DataValue>> samples, string input, int k, RunnerOptions options)
    {
        var probe = ModelReader.FromProto(ModelWriter.ToProto(compressed), compressed.BaseDirectory, "refit probe");
        var pg = probe.Graph;
        var x = pg.Nodes.SelectMany(n => n.Outputs).Concat(pg.Inputs).FirstOrDefault(v => v is not null && v.Name == input)
            ?? throw new OnnxRevException($"--refit: the compressed model has no value '{input}'");
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "rows" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = k });
        string feedName = probe.Names.Fresh("refit_original_rows");
        var feed = pg.AddInput(new Value(feedName, new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DT.Float, Shape = shape } }));
        var b = new Building.GraphBuilder(pg);
        var flatShape = b.Initializer(Tensor.FromInt64s("", new long[] { 2 }, new long[] { -1, k }), "refit_shape");
        var rows = b.Op("Reshape", new[] { x, flatShape });
        var rowsT = b.Op("Transpose", new[] { rows });
        var outputs = new[] { b.Op("MatMul", new[] { rowsT, rows }), b.Op("MatMul", new[] { rowsT, feed }), b.Op("MatMul", new[] { b.Op("Transpose", new[] { feed }), feed }), rows };
        pg.Outputs.Clear();
        foreach (var o in outputs) pg.Outputs.Add(o);
        using var runner = new OrtRunner(ModelWriter.ToBytes(probe), options, "refit probe");
        var names = outputs.Select(o => o.Name).ToList();
        var sums = new[] { new double[k * k], new double[k * k], new double[k * k] };
        var sumA = new double[k];
        var sumB = new double[k];
        long count = 0;
        foreach (var sample in samples)
        {
            var xo = TensorProtoData.Floats(originalRunner.Run(sample, new[] { input })[input].AsTensor());
            var inputs = new Dictionary<string, DataValue>(sample) { [feedName] = DataValue.Floats(feedName, new long[] { xo.Length / k, k }, xo) };
            var result = runner.Run(inputs, names);
            for (int s = 0; s < 3; s++)
            {
                var f = TensorProtoData.Floats(result[names[s]].AsTensor());
                var acc = sums[s];
                for (int i = 0; i < f.Length; i++) acc[i] += f[i];
            }
            var xt = TensorProtoData.Floats(result[names[3]].AsTensor());
            for (int i = 0; i < xt.Length; i++) sumA[i % k] += xt[i];
            for (int i = 0; i < xo.Length; i++) sumB[i % k] += xo[i];
            count += xo.Length / k;
        }
        return (sums[0], sums[1], sums[2], sumA, sumB, count);
    }

    /// <summary>The layer's current weight in x·W orientation (k×n).</summary>
    private static double[] Current(Model model, LowRankRefitTarget t)
    {
        if (t.Left is null)
        {
            var stored = Read(model, t.Weight);
            return Orient(stored, t.Transposed, t.K, t.N);
        }
        var l = Read(model, t.Left);
        var r = Read(model, t.Right!);
        // Stored ≈ L·R: [k, r]·[r, n] or, transposed, [n, r]·[r, k].
        int rows = t.Transposed ? t.N : t.K, cols = t.Transposed ? t.K : t.N;
        var product = new double[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int p = 0; p < t.Rank; p++)
            {
                double f = l[i * t.Rank + p];
                if (f == 0) continue;
                for (int j = 0; j < cols; j++) product[i * cols + j] += f * r[p * cols + j];
            }
        return t.Transposed ? Transpose(product, rows, cols) : product;
    }

    private static void Write(Model model, LowRankRefitTarget t, double[] left, double[]? right)
    {
        if (right is null)
        {
            var stored = t.Transposed ? Transpose(left, t.K, t.N) : left;
            Replace(model, t.Weight, t.Transposed ? new long[] { t.N, t.K } : new long[] { t.K, t.N }, stored);
            return;
        }
        int r = t.Rank;
        if (!t.Transposed)
        {
            Replace(model, t.Left!, new long[] { t.K, r }, left);
            Replace(model, t.Right!, new long[] { r, t.N }, right);
        }
        else
        {
            // Stored Wᵀ = (Left·Right)ᵀ = Rightᵀ·Leftᵀ.
            Replace(model, t.Left!, new long[] { t.N, r }, Transpose(right, r, t.N));
            Replace(model, t.Right!, new long[] { r, t.K }, Transpose(left, t.K, r));
        }
    }

    internal static double[] Read(Model model, string name)
    {
        foreach (var g in model.Graph.AllGraphs())
        {
            if (g.Initializers.FirstOrDefault(v => v.Name == name) is { Initializer: { } t }) return t.ToFloatArray().Select(f => (double)f).ToArray();
            if (g.Nodes.FirstOrDefault(n => n.OpType == "Constant" && n.Outputs[0].Name == name) is { } c && c.Attributes[0].TensorValue is { } tv)
                return new Tensor(tv).ToFloatArray().Select(f => (double)f).ToArray();
        }
        throw new InvalidOperationException($"refit: weight '{name}' not found");
    }

    internal static void Replace(Model model, string name, long[] dims, double[] data)
    {
        var floats = data.Select(d => (float)d).ToArray();
        foreach (var g in model.Graph.AllGraphs())
        {
            if (g.Initializers.FirstOrDefault(v => v.Name == name) is { } init) { g.ReplaceInitializer(init, Tensor.FromFloats(name, dims, floats)); return; }
            if (g.Nodes.FirstOrDefault(n => n.OpType == "Constant" && n.Outputs[0].Name == name) is { } c)
            {
                c.Attributes.Clear();
                c.Attributes.Add(Ir.Attribute.FromTensor("value", Tensor.FromFloats("", dims, floats).Proto));
                return;
            }
        }
        throw new InvalidOperationException($"refit: weight '{name}' not found");
    }

    private static double[] Orient(double[] stored, bool transposed, int k, int n) => transposed ? Transpose(stored, n, k) : stored;

    internal static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }

    private static double[] Multiply(double[] a, double[] b, int m, int r, int n)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < r; p++)
            {
                double f = a[i * r + p];
                for (int j = 0; j < n; j++) c[i * n + j] += f * b[p * n + j];
            }
        return c;
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime.Compression;
using OnnxRev.Serialization;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime.Quantization;

/// <summary>
/// GPTQ with error feedback across layers (the "asymmetric calibration" of GPTAQ): the layers are quantized in graph
/// order of their data input, each fitted to the float model's output XW from the input X̃ it receives in the model
/// quantized so far. With H̃ = X̃ᵀX̃ and C = X̃ᵀX over the calibration tokens, ‖X̃Ŵ − XW‖² = ‖X̃(Ŵ − M)‖² + const for
/// M = (H̃ + λI)⁻¹(C·W + λW) (λ a ridge, the fraction <c>ridge</c> of H̃'s mean diagonal), so GPTQ of M with Hessian H̃
/// minimizes it. Each layer's quantized values are written back before the next data input is measured, so every layer
/// sees the error left by everything before it. The moments come from ONNX Runtime (optimizations off): the float model
/// gives X, a probe copy of the model as it stands takes X as an extra input and returns X̃ᵀX̃ and X̃ᵀX.
/// The result replaces each weight of the model by M and returns the Hessians H̃: running
/// <see cref="MatMulNBitsQuantization"/> with them reproduces exactly the codes the feedback was measured with.
/// With <c>biasCorrection</c> each layer is fitted with a free bias: the moments are centred and the mean output error
/// left over the calibration rows is added to the layer's bias (<see cref="BiasShift"/>; the returned Hessians are the
/// centred ones). <c>sweeps</c> and <c>damping</c> are passed to <see cref="Gptq.Quantize"/> (and must be given to the int4 pass as well).
/// </summary>
public static class SequentialGptq
{
    /// <summary>
    /// Prepares <paramref name="model"/> (float, AWQ-scaled already when used) for GPTQ with error feedback and returns
    /// the Hessians to quantize it with. <paramref name="format"/> gives each weight's format (bits, block) as the int4
    /// pass will store it; weights it returns null for stay float.
    /// </summary>
    public static Dictionary<string, double[]> Apply(Model model, IReadOnlyList<IReadOnlyDictionary<string, DataValue>> samples, Func<string, WeightFormat?> format,
        bool symmetric, bool halfScales, double ridge = 0.01, Action<string>? log = null, bool biasCorrection = false, int sweeps = 0, double damping = Gptq.Damping)
    {
        if (samples.Count == 0) throw new OnnxRevException("GPTQ with error feedback needs calibration samples");
        var noOpt = new RunnerOptions { OptimizationLevel = OptimizationLevel.None };
        var g = model.Graph;
        // Eligible layers: MatMul(x, W) with W [K, N], or Gemm(x, B) with transA 0 and α 1 (B stored [K, N] or, transB, [N, K]).
        var layers = new List<(string Input, int Position, string Weight, bool Transposed, int K, int N, WeightFormat Format)>();
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var node = g.Nodes[i];
            if (!node.IsStandardDomain || node.OpType is not ("MatMul" or "Gemm") || node.Inputs.Count < 2 || node.Inputs[0] is not { } a || node.Inputs[1] is not { Initializer: { } t } w) continue;
            if (t.DataType != (int)DT.Float || t.Dims.Count != 2 || format(w.Name) is not { } f) continue;
            bool transposed = false;
            if (node.OpType == "Gemm")
            {
                if (node.Attributes.GetInt("transA", 0) != 0 || node.Attributes.GetFloat("alpha", 1f) != 1f) continue;
                transposed = node.Attributes.GetInt("transB", 0) != 0;
            }
            if (w.Uses.Count != 1) continue;   // a weight shared by several layers keeps plain GPTQ
            int k = (int)(transposed ? t.Dims[1] : t.Dims[0]), n = (int)(transposed ? t.Dims[0] : t.Dims[1]);
            layers.Add((a.Name, i, w.Name, transposed, k, n, f));
        }
        var groups = layers.GroupBy(l => l.Input).OrderBy(x => x.Min(l => l.Position)).ToList();
        var tap = ModelReader.FromProto(ModelWriter.ToProto(model), model.BaseDirectory, "feedback float model");
        var tapValues = tap.Graph.Nodes.SelectMany(n => n.Outputs).Concat(tap.Graph.Inputs).Where(v => v is not null).GroupBy(v => v!.Name).ToDictionary(x => x.Key, x => x.First()!);
        foreach (var grp in groups)
            if (!tap.Graph.Outputs.Contains(tapValues[grp.Key])) tap.Graph.Outputs.Add(tapValues[grp.Key]);
        using var floatRunner = new OrtRunner(ModelWriter.ToBytes(tap), noOpt, "feedback float model");
        var working = ModelReader.FromProto(ModelWriter.ToProto(model), model.BaseDirectory, "feedback working copy");
        var hessians = new Dictionary<string, double[]>();
        var targets = new Dictionary<string, float[]>();
        var biasShifts = new Dictionary<string, float[]>();
        int stage = 0;
        foreach (var grp in groups)
        {
            int k = grp.First().K;
            var (h, c, _, sumQ, sumF, rows) = OrtLowRankRefit.Moments(working, floatRunner, samples.ToList(), grp.Key, k, noOpt);
            if (biasCorrection) Center(h, c, sumQ, sumF, rows, k);
            double mean = 0;
            for (int i = 0; i < k; i++) mean += h[(long)i * k + i];
            double lambda = ridge * mean / k;
            var reg = (double[])h.Clone();
            for (int i = 0; i < k; i++) reg[(long)i * k + i] += lambda;
            var chol = Gptq.Cholesky(reg, k);
            foreach (var layer in grp)
            {
                var stored = OrtLowRankRefit.Read(model, layer.Weight);
                var w = layer.Transposed ? OrtLowRankRefit.Transpose(stored, layer.N, layer.K) : stored;   // x·W orientation, K × N
                // M = (H̃ + λI)⁻¹ (C·W + λW), column by column through the Cholesky factor.
                var rhs = new double[(long)k * layer.N];
                Parallel.For(0, k, i =>
                {
                    for (int m = 0; m < k; m++)
                    {
                        double cim = c[(long)i * k + m];
                        if (cim == 0) continue;
                        for (int j = 0; j < layer.N; j++) rhs[(long)i * layer.N + j] += cim * w[(long)m * layer.N + j];
                    }
                    for (int j = 0; j < layer.N; j++) rhs[(long)i * layer.N + j] += lambda * w[(long)i * layer.N + j];
                });
                var target = Solve(chol, rhs, k, layer.N);
                var target32 = target.Select(x => (float)x).ToArray();                 // K × N, what the pass will read
                var nk = new float[target32.Length];
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < layer.N; j++) nk[(long)j * k + i] = target32[(long)i * layer.N + j];
                var q = Gptq.Quantize(nk, layer.N, k, layer.Format.BlockSize, symmetric, h, halfScales, layer.Format.Bits, sweeps, damping);
                var quantized = q.DequantizeKN();                                       // K × N
                Write(working, layer, quantized);
                if (biasCorrection)
                {
                    // The mean output error over the calibration rows, (Σx·W − Σx̃·Ŵ) / rows, goes into the bias.
                    var delta = new float[layer.N];
                    for (int j = 0; j < layer.N; j++)
                    {
                        double d = 0;
                        for (int i = 0; i < k; i++) d += sumF[i] * w[(long)i * layer.N + j] - sumQ[i] * quantized[(long)i * layer.N + j];
                        delta[j] = (float)(d / rows);
                    }
                    BiasShift.Apply(working, layer.Weight, delta);
                    biasShifts[layer.Weight] = delta;
                }
                targets[layer.Weight] = target32;
                hessians[layer.Weight] = h;
            }
            log?.Invoke($"error feedback {++stage}/{groups.Count}: {string.Join(", ", grp.Select(l => l.Weight))}");
        }
        foreach (var layer in layers) if (targets.TryGetValue(layer.Weight, out var m)) Write(model, layer, m);
        foreach (var (weight, delta) in biasShifts) BiasShift.Apply(model, weight, delta);
        return hessians;
    }

    /// <summary>
    /// Centres the moments in place: H̃ −= Σx̃ Σx̃ᵀ / rows and C −= Σx̃ Σxᵀ / rows. Fitted with a free bias, the layer's
    /// error is ‖(X̃ − 1μ̃ᵀ)Ŵ − (X − 1μᵀ)W‖² once the bias takes the mean error μᵀW − μ̃ᵀŴ, so GPTQ spends none of
    /// its budget on the constant part of the input (large in the few channels a LayerNorm output keeps offset).
    /// </summary>
    private static void Center(double[] h, double[] c, double[] sumQ, double[] sumF, long rows, int k)
    {
        if (rows == 0) return;
        Parallel.For(0, k, i =>
        {
            for (int j = 0; j < k; j++)
            {
                h[(long)i * k + j] -= sumQ[i] * sumQ[j] / rows;
                c[(long)i * k + j] -= sumQ[i] * sumF[j] / rows;
            }
        });
    }

    /// <summary>Solves (L Lᵀ) X = B for X (K × N) with L the lower Cholesky factor.</summary>
    private static double[] Solve(double[] l, double[] b, int k, int n)
    {
        var x = new double[b.Length];
        Parallel.For(0, n, j =>
        {
            var y = new double[k];
            for (int i = 0; i < k; i++)
            {
                double s = b[(long)i * n + j];
                for (int m = 0; m < i; m++) s -= l[(long)i * k + m] * y[m];
                y[i] = s / l[(long)i * k + i];
            }
            for (int i = k - 1; i >= 0; i--)
            {
                double s = y[i];
                for (int m = i + 1; m < k; m++) s -= l[(long)m * k + i] * x[(long)m * n + j];
                x[(long)i * n + j] = s / l[(long)i * k + i];
            }
        });
        return x;
    }

    /// <summary>Stores <paramref name="kn"/> (K × N, x·W orientation) as the layer's weight, transposed back where the layer keeps Wᵀ.</summary>
    private static void Write(Model model, (string Input, int Position, string Weight, bool Transposed, int K, int N, WeightFormat Format) layer, float[] kn)
    {
        var values = kn.Select(x => (double)x).ToArray();   // float → double → float is exact
        OrtLowRankRefit.Replace(model, layer.Weight, layer.Transposed ? new long[] { layer.N, layer.K } : new long[] { layer.K, layer.N },
            layer.Transposed ? OrtLowRankRefit.Transpose(values, layer.K, layer.N) : values);
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime.Data;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Quantization;

/// <summary>Dynamic or static (calibrated QDQ) INT8.</summary>
public enum Int8Mode
{
    /// <summary>Weights int8, activations quantized at run time.</summary>
    Dynamic,
    /// <summary>Weights int8, activations quantized with calibrated ranges (QDQ).</summary>
    Static,
}

/// <summary>What <see cref="Int8Quantizer.Quantize"/> did.</summary>
/// <param name="Model">The quantized model.</param>
/// <param name="QuantizedNodes">Names of the nodes now computed in integers.</param>
/// <param name="OpsetBefore">The standard opset before (the model may have been upgraded).</param>
public sealed record Int8Result(Model Model, IReadOnlyList<string> QuantizedNodes, long OpsetBefore);

/// <summary>
/// INT8 quantization of one model with everything that needs ONNX Runtime: calibration for static mode, and quantized
/// variants with chosen layers kept float (the building block of sensitivity analysis). Calibration is done once on
/// the prepared float model for every candidate layer, so variants differ only in which layers are quantized.
/// </summary>
public sealed class Int8Quantizer
{
    private byte[] _prepared;
    private readonly IReadOnlyDictionary<string, TensorRange>? _ranges;

    /// <summary>
    /// Prepares <paramref name="model"/> (a copy is taken) and, for static mode, calibrates every candidate layer's
    /// activations on <paramref name="calibration"/>.
    /// </summary>
    public Int8Quantizer(Model model, Int8Mode mode, QuantizationOptions options, Dataset? calibration = null, CalibrationOptions? calibrationOptions = null)
    {
        Mode = mode;
        Options = options;
        OpsetBefore = model.OpsetVersion("") ?? 0;
        var copy = ModelReader.Load(ModelWriter.ToBytes(model), "quantization copy");
        if (mode == Int8Mode.Static)
        {
            if (calibration is null) throw new OnnxRevException("static quantization needs calibration data (--calibration DATA)");
            StaticQdqQuantization.Prepare(copy, options);
            var all = QdqPlan.For(copy, options with { KeepFloat = new HashSet<string>() });
            _ranges = Calibrator.Collect(copy, all.ActivationTensors, calibration, calibrationOptions);
        }
        else DynamicQuantization.Prepare(copy, options);
        _prepared = ModelWriter.ToBytes(copy);
        Candidates = QdqPlan.Candidates(copy).Select(n => (n.Name.Length > 0 ? n.Name : n.Outputs[0].Name, n.OpType)).ToList();
    }

    /// <summary>
    /// SmoothQuant for dynamic mode: measures max |x| per input channel of every MatMul activation on
    /// <paramref name="calibration"/> (inputs of the prepared float model) and moves s = max|x|^α / max|W|^(1−α) from
    /// the activation into the weights (<see cref="ActivationScaling"/>; max |W| over the K row of every weight reading
    /// that activation). Outlier channels then no longer set the step of a per-tensor activation scale. Exact in float;
    /// costs one elementwise Mul per scaled activation. Returns the scaled activation names. Layers kept float are not scaled.
    /// </summary>
    public IReadOnlyList<string> Smooth(IEnumerable<IReadOnlyDictionary<string, DataValue>> calibration, double alpha)
    {
        if (Mode != Int8Mode.Dynamic) throw new OnnxRevException("smoothing applies to dynamic quantization (static QDQ calibrates the scaled model itself)");
        if (!(alpha is >= 0 and <= 1)) throw new OnnxRevException($"the smoothing strength must be in [0, 1], got {alpha}");
        var model = ModelReader.Load(_prepared, "prepared model");
        var stats = ChannelStatistics.Collect(model, calibration);
        var scales = new Dictionary<string, float[]>();
        foreach (var (name, st) in stats)
        {
            var x = model.Graph.Nodes.SelectMany(n => n.Inputs).First(v => v?.Name == name)!;
            var consumers = ActivationScaling.Consumers(x).ToList();
            if (consumers.Count == 0 || consumers.Any(c => Options.KeepsFloat(c.Node))) continue;
            int k = st.MaxAbs.Length;
            var wmax = new float[k];
            foreach (var (_, w, transposed) in consumers)
            {
                var d = w.ToFloatArray();
                long cols = w.Dims[1];
                for (long i = 0; i < d.Length; i++)
                {
                    int j = (int)(transposed ? i % cols : i / cols);
                    wmax[j] = Math.Max(wmax[j], Math.Abs(d[i]));
                }
            }
            scales[name] = Enumerable.Range(0, k).Select(j =>
                (float)Math.Clamp(Math.Pow(Math.Max(st.MaxAbs[j], 1e-5), alpha) / Math.Pow(Math.Max(wmax[j], 1e-5), 1 - alpha), 1e-4, 1e4)).ToArray();
        }
        new ActivationScaling(scales).Run(model);
        _prepared = ModelWriter.ToBytes(model);
        return scales.Keys.ToList();
    }

    /// <summary>The mode.</summary>
    public Int8Mode Mode { get; }

    /// <summary>The options (their keep-float list applies to every variant).</summary>
    public QuantizationOptions Options { get; }

    /// <summary>Standard opset of the model as given.</summary>
    public long OpsetBefore { get; }

    /// <summary>The prepared float model (opset ≥ 13, Gemm as MatMul, BatchNormalization folded for static).</summary>
    public byte[] PreparedFloat => _prepared;

    /// <summary>Layers that can be quantized (name, op type), in graph order.</summary>
    public IReadOnlyList<(string Name, string OpType)> Candidates { get; }

    /// <summary>The calibrated ranges (static mode).</summary>
    public IReadOnlyDictionary<string, TensorRange>? Ranges => _ranges;

    /// <summary>The quantized model, with <paramref name="keepFloat"/> (node names or op types) kept float besides the options' own list.</summary>
    public Int8Result Quantize(IEnumerable<string>? keepFloat = null) =>
        QuantizeWith(keepFloat is null ? Options : Options.WithKeepFloat(keepFloat));

    /// <summary>
    /// The quantized model under <paramref name="options"/> instead of the quantizer's own (for example another
    /// <see cref="QuantizationOptions.PerTokenNodes"/> set in dynamic mode). Static mode has calibrated ranges only for
    /// the candidate layers, which any options can use.
    /// </summary>
    public Int8Result QuantizeWith(QuantizationOptions options)
    {
        var model = ModelReader.Load(_prepared, "prepared model");
        IReadOnlyList<string> nodes;
        if (Mode == Int8Mode.Static)
        {
            var pass = new StaticQdqQuantization(_ranges!, options);
            pass.Run(model);
            nodes = pass.QuantizedNodes;
        }
        else
        {
            var pass = new DynamicQuantization(options);
            pass.Run(model);
            nodes = pass.QuantizedNodes;
        }
        return new Int8Result(model, nodes, OpsetBefore);
    }
}

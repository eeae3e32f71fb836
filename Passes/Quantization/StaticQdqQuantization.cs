using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>A calibrated float range of one activation tensor.</summary>
public readonly record struct TensorRange(float Min, float Max);

/// <summary>
/// Static INT8 quantization in QDQ form, with activation ranges measured beforehand (calibration lives in
/// Runtime). For each planned node (<see cref="QdqPlan"/>): the activation input passes through
/// QuantizeLinear → DequantizeLinear with the calibrated scale and zero point; the weight is stored as an 8-bit
/// initializer read through DequantizeLinear (per output channel: axis 1 for MatMul's [K, N], axis 0 for Conv);
/// a Conv bias is stored as int32 with scale x_scale · w_scale (zero point 0); a Conv's output (or the output of
/// the Relu right after it) gets Q/DQ too. ONNX Runtime's CPU provider turns DQ → Conv → Q into QLinearConv and
/// DQ → MatMul into MatMulIntegerToFloat (or QLinearMatMul). The model is prepared first as for
/// <see cref="DynamicQuantization"/>, and Conv → BatchNormalization pairs are folded.
/// </summary>
public sealed class StaticQdqQuantization : IPass
{
    private readonly QuantizationOptions _options;
    private readonly IReadOnlyDictionary<string, TensorRange> _ranges;

    /// <summary>Creates the pass with the calibrated ranges of the plan's activation tensors (by name, in the prepared model).</summary>
    public StaticQdqQuantization(IReadOnlyDictionary<string, TensorRange> ranges, QuantizationOptions? options = null)
    {
        _ranges = ranges;
        _options = options ?? new QuantizationOptions();
    }

    /// <inheritdoc/>
    public string Name => "quantize-static";

    /// <summary>Names of the nodes the last <see cref="Run"/> quantized.</summary>
    public IReadOnlyList<string> QuantizedNodes { get; private set; } = Array.Empty<string>();

    /// <summary>
    /// Brings a model into the form static quantization and its calibration work on: opset 13, weights as
    /// initializers, quantizable Gemms as MatMul, Conv → BatchNormalization folded. Idempotent.
    /// </summary>
    public static bool Prepare(Model model, QuantizationOptions options)
    {
        bool modified = DynamicQuantization.Prepare(model, options);
        modified |= new BatchNormFolding().Run(model).Modified;
        return modified;
    }

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        bool modified = Prepare(model, _options);
        var plan = QdqPlan.For(model, _options);
        var g = model.Graph;
        var missing = plan.ActivationTensors.Where(t => !_ranges.ContainsKey(t)).ToList();
        if (missing.Count > 0) throw new OnnxRevException($"quantize-static: no calibrated range for tensor '{missing[0]}' ({missing.Count} missing)");
        var dq = new Dictionary<Value, (Value Value, QuantParams Params)>(ReferenceEqualityComparer.Instance);
        foreach (var item in plan.Items)
        {
            var x = Activation(g, item.Input, dq);
            item.Node.SetInput(0, x.Value);
            QuantizeWeights(g, item.Node, x.Params);
            if (item.Relu is { } relu)
            {
                // Q/DQ on the Conv output with the Relu output's range (zero point = lowest code) computes Relu too.
                var y = Activation(g, item.Node.Outputs[0], dq, item.Output!);
                Rewiring.Replace(relu.Outputs[0], y.Value);
                g.Remove(relu);
            }
            else if (item.Output is { } o) Activation(g, o, dq);
        }
        QuantizedNodes = plan.Items.Select(i => Rewiring.Hint(i.Node)).ToList();
        return new PassResult(model, modified || plan.Items.Count > 0);
    }

    /// <summary>Inserts Q → DQ after tensor <paramref name="t"/> (once) and points every node that reads it at the DQ output.</summary>
    private (Value Value, QuantParams Params) Activation(Graph g, Value t, Dictionary<Value, (Value, QuantParams)> done, Value? rangeOf = null)
    {
        if (done.TryGetValue(t, out var existing)) return existing;
        var range = _ranges[(rangeOf ?? t).Name];
        var p = QuantMath.FromRange(range.Min, range.Max, _options.ActivationType, _options.SymmetricActivations);
        var users = t.Uses.Select(u => u.Node).Distinct().ToList();
        var first = g.Nodes.FirstOrDefault(users.Contains);
        var b = new GraphBuilder(g, first);
        string hint = t.Name;
        var s = Rewiring.Add(g, hint + "_scale", QuantMath.ScaleTensor(new[] { p.Scale }, scalar: true));
        var zp = Rewiring.Add(g, hint + "_zero_point", QuantMath.ZeroPointTensor(new[] { p.ZeroPoint }, _options.ActivationType, scalar: true));
        var uses = t.Uses.ToList();
        var q = b.Op("QuantizeLinear", new[] { t, s, zp }, hint: hint + "_quantized");
        var d = b.Op("DequantizeLinear", new[] { q, s, zp }, hint: hint + "_dequantized");
        foreach (var u in uses) u.Node.SetInput(u.InputIndex, d);
        done[t] = (d, p);
        if (rangeOf is not null) done[rangeOf] = (d, p);
        return (d, p);
    }

    private void QuantizeWeights(Graph g, Node node, QuantParams x)
    {
        string hint = Rewiring.Hint(node);
        bool conv = node.OpType == "Conv";
        var w = Rewiring.ConstantFloat(node.Inputs[1])!;
        var q = QuantizedWeight.Quantize(w, _options.PerChannel ? (conv ? 0 : 1) : null, _options.WeightType, _options.SymmetricWeights);
        var b = new GraphBuilder(g, node);
        var attrs = q.PerTensor ? null : new[] { Ir.Attribute.FromInt("axis", q.Axis!.Value) };
        var wq = Rewiring.Add(g, hint + "_weight_quantized", q.Data);
        var ws = Rewiring.Add(g, hint + "_weight_scale", q.ScaleTensor());
        var wzp = Rewiring.Add(g, hint + "_weight_zero_point", q.ZeroPointTensor());
        var oldW = node.Inputs[1];
        node.SetInput(1, b.Op("DequantizeLinear", new[] { wq, ws, wzp }, attrs, hint: hint + "_weight"));
        Rewiring.DropIfUnused(oldW);
        if (!conv || node.Inputs.Count < 3 || node.Inputs[2] is not { } bias) return;
        var bv = Rewiring.ConstantFloat(bias)!.ToFloatArray();
        var scales = bv.Select((_, c) => x.Scale * q.Scales[q.PerTensor ? 0 : c]).ToArray();
        var raw = new byte[bv.Length * 4];
        for (int c = 0; c < bv.Length; c++)
        {
            double v = Math.Round(bv[c] / (double)scales[c], MidpointRounding.ToEven);
            BitConverter.TryWriteBytes(raw.AsSpan(4 * c), (int)Math.Clamp(v, int.MinValue, int.MaxValue));
        }
        var bq = Rewiring.Add(g, hint + "_bias_quantized", Tensor.FromRawBytes("", (int)Schema.TensorProto.Types.DataType.Int32, new long[] { bv.Length }, raw));
        var bs = Rewiring.AddFloats(g, hint + "_bias_scale", new long[] { bv.Length }, scales);
        node.SetInput(2, b.Op("DequantizeLinear", new[] { bq, bs }, new[] { Ir.Attribute.FromInt("axis", 0) }, hint: hint + "_bias"));
        Rewiring.DropIfUnused(bias);
    }
}

using OnnxRev.Building;
using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// Dynamic INT8 quantization: weights of MatMul (Gemm first becomes MatMul, see <see cref="GemmToMatMul"/>) and Conv
/// are stored as 8-bit integers (per output channel or per tensor); activations are quantized at run time:
/// <c>DynamicQuantizeLinear(x) → MatMulInteger / ConvInteger → Cast(float) → Mul(x_scale · w_scale) [→ Add(bias)]</c>.
/// ONNX Runtime's CPU provider fuses the MatMul form into its DynamicQuantizeMatMul / MatMulIntegerToFloat kernels.
/// Only constant float weights are quantized (MatMul: 2-D [K, N], per channel along N; Conv: per output channel);
/// nodes named by <see cref="QuantizationOptions.KeepFloat"/> stay float. Models below opset 13 are upgraded first
/// (<see cref="OpsetUpgrade"/>).
/// </summary>
public sealed class DynamicQuantization : IPass
{
    private readonly QuantizationOptions _options;
    private readonly bool _conv;
    private readonly Dictionary<(Value, long), (Value, Value, Value)> _perToken = new();
    private readonly Dictionary<Value, (Value Scaled, Value RowMax)> _tokenScaled = new();
    private readonly Dictionary<Value, (Value Scaled, Value HalfRange, Value Center)> _tokenCentered = new();

    /// <summary>Creates the pass. <paramref name="includeConv"/> also rewrites Conv into ConvInteger.</summary>
    public DynamicQuantization(QuantizationOptions? options = null, bool includeConv = true)
    {
        _options = options ?? new QuantizationOptions();
        _conv = includeConv;
    }

    /// <inheritdoc/>
    public string Name => "quantize-dynamic";

    /// <summary>Names of the nodes the last <see cref="Run"/> quantized (the original node names).</summary>
    public IReadOnlyList<string> QuantizedNodes { get; private set; } = Array.Empty<string>();

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        var quantized = new List<string>();
        _perToken.Clear();
        _tokenScaled.Clear();
        _tokenCentered.Clear();
        bool modified = Prepare(model, _options);
        var g = model.Graph;
        foreach (var node in g.Nodes.Where(n => n.IsStandardDomain && !_options.KeepsFloat(n)).ToList())
        {
            if (node.OpType == "MatMul" && Rewiring.ConstantFloat(node.Inputs[1]) is { Dims.Count: 2 } w)
            {
                quantized.Add(Rewiring.Hint(node));
                RewriteMatMul(g, node, w);
            }
            else if (_conv && node.OpType == "Conv" && Rewiring.ConstantFloat(node.Inputs[1]) is { } cw && cw.Dims.Count >= 3)
            {
                quantized.Add(Rewiring.Hint(node));
                RewriteConv(g, node, cw);
            }
        }
        QuantizedNodes = quantized;
        return new PassResult(model, modified || quantized.Count > 0);
    }

    /// <summary>Upgrades the opset when needed, makes Constant-node weights initializers and turns quantizable Gemms into MatMul.</summary>
    public static bool Prepare(Model model, QuantizationOptions options)
    {
        bool modified = new OpsetUpgrade(13).Run(model).Modified;
        modified |= new Cleanup.ConstantsToInitializers().Run(model).Modified;
        modified |= new GemmToMatMul(n => !options.KeepsFloat(n)).Run(model).Modified;
        return modified;
    }

    private void RewriteMatMul(Graph g, Node node, Tensor w)
    {
        string hint = Rewiring.Hint(node);
        var q = QuantizedWeight.Quantize(w, _options.PerChannel ? 1 : null, WeightType, _options.SymmetricWeights);
        var b = new GraphBuilder(g, node);
        var wq = Rewiring.Add(g, hint + "_weight_quantized", q.Data);
        var wzp = q.ZeroPoints.All(z => z == 0) ? null : Rewiring.Add(g, hint + "_weight_zero_point", q.ZeroPointTensor());
        Value y;
        if (_options.TokenScaledActivations)
        {
            // Per-token nodes get the centred form (the per-row step of asymmetric per-token quantization), the others
            // the cheaper scale-only form; both run on the fused per-tensor kernel.
            y = _options.QuantizesPerToken(node)
                ? TokenCenteredMatMul(g, b, node.Inputs[0]!, wq, wzp, q, hint, _tokenCentered)
                : TokenScaledMatMul(g, b, node.Inputs[0]!, wq, wzp, q, hint, _tokenScaled);
        }
        else if (_options.QuantizesPerToken(node))
        {
            y = PerTokenMatMul(g, b, node.Inputs[0]!, wq, wzp, q, hint, _perToken);
        }
        else
        {
            var x = b.Ops("DynamicQuantizeLinear", new[] { node.Inputs[0] }, 3, hint: hint + "_x");
            var acc = b.Op("MatMulInteger", new Value?[] { x[0], wq, x[2], wzp }, hint: hint + "_int32");
            y = Scale(g, b, acc, x[1], q, hint, null);
        }
        var oldW = node.Inputs[1];
        Rewiring.Replace(node.Outputs[0], y);
        g.Remove(node);
        Rewiring.DropIfUnused(oldW);
    }

    private void RewriteConv(Graph g, Node node, Tensor w)
    {
        string hint = Rewiring.Hint(node);
        var q = QuantizedWeight.Quantize(w, _options.PerChannel ? 0 : null, WeightType, _options.SymmetricWeights);
        var b = new GraphBuilder(g, node);
        var x = b.Ops("DynamicQuantizeLinear", new[] { node.Inputs[0] }, 3, hint: hint + "_x");
        var wq = Rewiring.Add(g, hint + "_weight_quantized", q.Data);
        var wzp = q.ZeroPoints.All(z => z == 0) ? null : Rewiring.Add(g, hint + "_weight_zero_point", q.ZeroPointTensor());
        var conv = b.Ops("ConvInteger", new Value?[] { x[0], wq, x[2], wzp }, 1, node.Attributes.Select(a => new Ir.Attribute(a.Proto.Clone())), hint: hint + "_int32")[0];
        // Per-channel factors broadcast over [N, M, spatial...]: shape [M, 1, ..., 1].
        var channelShape = new long[w.Dims.Count - 1];
        channelShape[0] = q.PerTensor ? 1 : w.Dims[0];
        for (int i = 1; i < channelShape.Length; i++) channelShape[i] = 1;
        var y = Scale(g, b, conv, x[1], q, hint, channelShape);
        var bias = node.Inputs.Count > 2 ? node.Inputs[2] : null;
        if (bias is not null)
        {
            var shaped = Rewiring.ConstantFloat(bias) is { } bt
                ? Rewiring.AddFloats(g, hint + "_bias_shaped", new[] { bt.Dims[0] }.Concat(Enumerable.Repeat(1L, channelShape.Length - 1)).ToArray(), bt.ToFloatArray())
                : b.Op("Reshape", new[] { bias, g.AddInitializer(new Value(g.Model!.Names.Fresh(hint + "_bias_shape")), Tensor.FromInt64s("", new long[] { channelShape.Length }, new[] { -1L }.Concat(Enumerable.Repeat(1L, channelShape.Length - 1)).ToArray())) }, hint: hint + "_bias_shaped");
            y = b.Op("Add", new[] { y, shaped }, hint: hint + "_add");
        }
        var oldW = node.Inputs[1];
        Rewiring.Replace(node.Outputs[0], y);
        g.Remove(node);
        Rewiring.DropIfUnused(oldW);
        Rewiring.DropIfUnused(bias);
    }

    /// <summary>
    /// x·W with x quantized per token (each row of the last axis) to asymmetric uint8 at run time:
    /// x₂ = Reshape(x, [−1, K]); lo = min(row min, 0), hi = max(row max, 0); s = max(hi − lo, 1e-30)/255 and
    /// z = Round(−lo/s) per row; q = QuantizeLinear(x₂, s, z, axis 0); acc = MatMulInteger(q, W_q);
    /// y₂ = s · DequantizeLinear(acc, w_scale, axis 1) − (s · z) ⊗ (w_scale · Σ_k W_q[k, :]) (the row zero point is
    /// applied through the weight's column sums, because ONNX Runtime's MatMulInteger takes only a scalar one);
    /// y = Reshape(y₂, x.shape[:−1] + [N]). Not the Cast → Mul(x_scale · w_scale) form: ONNX Runtime 1.31 fuses that
    /// into MatMulIntegerToFloat, which gave wrong results for per-row scales on MiniLM (cosine 0.06 at ORT_ENABLE_ALL, 0.985 unfused).
    /// </summary>
    private static Value PerTokenMatMul(Graph g, GraphBuilder b, Value x, Value wq, Value? wzp, QuantizedWeight q, string hint,
        Dictionary<(Value, long), (Value Xq, Value Scale, Value Zp)> shared)
    {
        long k = q.Data.Dims[0], n = q.Data.Dims[1];
        Value Ints(string name, params long[] v) => g.AddInitializer(new Value(g.Model!.Names.Fresh(hint + "_" + name)), Tensor.FromInt64s("", new long[] { v.Length }, v));
        Value Const(string name, float v) => Rewiring.AddFloats(g, hint + "_" + name, Array.Empty<long>(), new[] { v });
        bool axesInput = (g.Model!.OpsetVersion("") ?? 13) >= 18;
        var keep = Ir.Attribute.FromInt("keepdims", 1);
        // Several MatMuls reading the same activation (attention's Q, K and V) share one quantization of it.
        if (!shared.TryGetValue((x, k), out var xqs))
        {
            var x2 = b.Op("Reshape", new[] { x, Ints("rows_shape", -1, k) }, hint: hint + "_rows");
            Value Reduce(string op) => axesInput
                ? b.Op(op, new[] { x2, Ints("axes", 1) }, new[] { keep }, hint: hint + "_" + op.ToLowerInvariant())
                : b.Op(op, new[] { x2 }, new[] { keep, Ir.Attribute.FromInts("axes", new[] { 1L }) }, hint: hint + "_" + op.ToLowerInvariant());
            var zero = Const("zero", 0f);
            var lo = b.Op("Min", new[] { Reduce("ReduceMin"), zero }, hint: hint + "_lo");
            var hi = b.Op("Max", new[] { Reduce("ReduceMax"), zero }, hint: hint + "_hi");
            var range = b.Op("Max", new[] { b.Op("Sub", new[] { hi, lo }, hint: hint + "_range"), Const("tiny", 1e-30f) }, hint: hint + "_range_safe");
            var scaleRow = b.Op("Div", new[] { range, Const("levels", 255f) }, hint: hint + "_token_scale");           // [M, 1]
            var zpRow = b.Op("Round", new[] { b.Op("Div", new[] { b.Op("Neg", new[] { lo }, hint: hint + "_neg_lo"), scaleRow }, hint: hint + "_zp_real") }, hint: hint + "_token_zero_point");
            var flat = Ints("flat", -1);
            var scale1 = b.Op("Reshape", new[] { scaleRow, flat }, hint: hint + "_token_scale_1d");
            var zp1 = b.Op("Cast", new[] { b.Op("Reshape", new[] { zpRow, flat }, hint: hint + "_token_zero_point_1d") }, new[] { Ir.Attribute.FromInt("to", (int)DT.Uint8) }, hint: hint + "_token_zero_point_u8");
            var xqRow = b.Op("QuantizeLinear", new[] { x2, scale1, zp1 }, new[] { Ir.Attribute.FromInt("axis", 0) }, hint: hint + "_x_quantized");
            xqs = (xqRow, scaleRow, zpRow);
            shared[(x, k)] = xqs;
        }
        var (xq, scale, zp) = xqs;
        var acc = b.Op("MatMulInteger", new Value?[] { xq, wq, null, wzp }, hint: hint + "_int32");
        var weighted = b.Op("DequantizeLinear", new[] { acc, Rewiring.Add(g, hint + "_weight_scale", q.ScaleTensor()) },
            q.PerTensor ? null : new[] { Ir.Attribute.FromInt("axis", 1) }, hint: hint + "_weight_scaled");
        var colSums = ColumnSums(q);
        var scaledSums = colSums.Select((c, j) => c * q.Scales[q.PerTensor ? 0 : j]).ToArray();
        var correction = b.Op("Mul", new[] { b.Op("Mul", new[] { scale, zp }, hint: hint + "_scaled_zero_point"),
            Rewiring.AddFloats(g, hint + "_weight_scaled_column_sums", new[] { n }, scaledSums) }, hint: hint + "_zero_point_term");
        var y2 = b.Op("Sub", new[] { b.Op("Mul", new[] { weighted, scale }, hint: hint + "_token_scaled"), correction }, hint: hint + "_rows_out");
        var lead = b.Op("Slice", new[] { b.Op("Shape", new[] { x }, hint: hint + "_x_shape"), Ints("slice_start", 0), Ints("slice_end", -1) }, hint: hint + "_lead_shape");
        var shape = b.Op("Concat", new[] { lead, Ints("n", n) }, new[] { Ir.Attribute.FromInt("axis", 0) }, hint: hint + "_out_shape");
        return b.Op("Reshape", new[] { y2, shape }, hint: hint + "_dequantized");
    }

    /// <summary>
    /// x·W with per-token activation steps on ONNX Runtime's fused per-tensor kernel: each row of x is divided by its
    /// own max |x| at run time (r = max(ReduceMax(|x|, last axis), 1e-30)), the normalized rows — all within [−1, 1] —
    /// go through the usual DynamicQuantizeLinear → MatMulInteger → Cast → Mul (fused into DynamicQuantizeMatMul /
    /// MatMulIntegerToFloat, one scale per tensor, which is what those kernels take), and the product is multiplied back
    /// by r: (x/r)·W = (x·W)/r row by row, so only the rounding differs. An outlier token no longer coarsens the step
    /// of every other token. Four cheap elementwise passes (Abs, ReduceMax, Div, Mul) instead of per-token
    /// QuantizeLinear with a zero-point correction. MatMuls reading the same x share r and x/r.
    /// </summary>
    private static Value TokenScaledMatMul(Graph g, GraphBuilder b, Value x, Value wq, Value? wzp, QuantizedWeight q, string hint,
        Dictionary<Value, (Value Scaled, Value RowMax)> shared)
    {
        if (!shared.TryGetValue(x, out var xs))
        {
            bool axesInput = (g.Model!.OpsetVersion("") ?? 13) >= 18;
            var keep = Ir.Attribute.FromInt("keepdims", 1);
            var abs = b.Op("Abs", new[] { x }, hint: hint + "_abs");
            var max = axesInput
                ? b.Op("ReduceMax", new[] { abs, g.AddInitializer(new Value(g.Model!.Names.Fresh(hint + "_axes")), Tensor.FromInt64s("", new long[] { 1 }, new[] { -1L })) }, new[] { keep }, hint: hint + "_token_max")
                : b.Op("ReduceMax", new[] { abs }, new[] { keep, Ir.Attribute.FromInts("axes", new[] { -1L }) }, hint: hint + "_token_max");
            var r = b.Op("Max", new[] { max, Rewiring.AddFloats(g, hint + "_tiny", Array.Empty<long>(), new[] { 1e-30f }) }, hint: hint + "_token_max_safe");
            xs = (b.Op("Div", new[] { x, r }, hint: hint + "_token_normalized"), r);
            shared[x] = xs;
        }
        var xq = b.Ops("DynamicQuantizeLinear", new[] { xs.Scaled }, 3, hint: hint + "_x");
        var acc = b.Op("MatMulInteger", new Value?[] { xq[0], wq, xq[2], wzp }, hint: hint + "_int32");
        var y = Scale(g, b, acc, xq[1], q, hint, null);
        return b.Op("Mul", new[] { y, xs.RowMax }, hint: hint + "_token_rescaled");
    }

    /// <summary>
    /// Like <see cref="TokenScaledMatMul"/>, but each row is also centred, so it fills [−1, 1] exactly whatever the sign
    /// of its outliers: m = (max + min)/2 and h = max((max − min)/2, 1e-30) per row, x' = (x − m)/h, then
    /// x·W = h ⊙ (x'·W) + m ⊗ Σ_k W[k, :] (the column sums of the float weight; the outer product is a K = 1 MatMul).
    /// The per-row step equals that of asymmetric per-token quantization; the product still runs on the fused kernel.
    /// </summary>
    private static Value TokenCenteredMatMul(Graph g, GraphBuilder b, Value x, Value wq, Value? wzp, QuantizedWeight q, string hint,
        Dictionary<Value, (Value Scaled, Value HalfRange, Value Center)> shared)
    {
        long n = q.Data.Dims[1];
        if (!shared.TryGetValue(x, out var xs))
        {
            bool axesInput = (g.Model!.OpsetVersion("") ?? 13) >= 18;
            var keep = Ir.Attribute.FromInt("keepdims", 1);
            Value Reduce(string op) => axesInput
                ? b.Op(op, new[] { x, g.AddInitializer(new Value(g.Model!.Names.Fresh(hint + "_axes")), Tensor.FromInt64s("", new long[] { 1 }, new[] { -1L })) }, new[] { keep }, hint: hint + "_" + op.ToLowerInvariant())
                : b.Op(op, new[] { x }, new[] { keep, Ir.Attribute.FromInts("axes", new[] { -1L }) }, hint: hint + "_" + op.ToLowerInvariant());
            Value Const(string name, float v) => Rewiring.AddFloats(g, hint + "_" + name, Array.Empty<long>(), new[] { v });
            var hi = Reduce("ReduceMax");
            var lo = Reduce("ReduceMin");
            var center = b.Op("Mul", new[] { b.Op("Add", new[] { hi, lo }, hint: hint + "_hi_plus_lo"), Const("half", 0.5f) }, hint: hint + "_token_center");
            var half = b.Op("Max", new[] { b.Op("Mul", new[] { b.Op("Sub", new[] { hi, lo }, hint: hint + "_token_range"), Const("half_range", 0.5f) }, hint: hint + "_token_half_range_raw"), Const("tiny", 1e-30f) }, hint: hint + "_token_half_range");
            var normalized = b.Op("Div", new[] { b.Op("Sub", new[] { x, center }, hint: hint + "_token_centred"), half }, hint: hint + "_token_normalized");
            xs = (normalized, half, center);
            shared[x] = xs;
        }
        var xq = b.Ops("DynamicQuantizeLinear", new[] { xs.Scaled }, 3, hint: hint + "_x");
        var acc = b.Op("MatMulInteger", new Value?[] { xq[0], wq, xq[2], wzp }, hint: hint + "_int32");
        var y = b.Op("Mul", new[] { Scale(g, b, acc, xq[1], q, hint, null), xs.HalfRange }, hint: hint + "_token_rescaled");
        // Σ_k of the dequantized weight (what the integer product multiplies), so the centring is undone exactly.
        var sums = ColumnSums(q).Select((c, j) => c * q.Scales[q.PerTensor ? 0 : j]).ToArray();
        var offset = b.Op("MatMul", new[] { xs.Center, Rewiring.AddFloats(g, hint + "_weight_column_sums", new[] { 1L, n }, sums) }, hint: hint + "_token_offset");
        return b.Op("Add", new[] { y, offset }, hint: hint + "_token_uncentred");
    }

    /// <summary>Σ_k (w_q[k, n] − zero_point[n]) for a [K, N] quantized weight, per column.</summary>
    private static float[] ColumnSums(QuantizedWeight q)
    {
        var raw = q.Data.ReadRawBytes();
        long n = q.Data.Dims[1], k = q.Data.Dims[0];
        var sums = new float[n];
        for (long i = 0; i < k; i++)
            for (long j = 0; j < n; j++)
            {
                int v = q.Type == QuantType.Int8 ? (sbyte)raw[i * n + j] : raw[i * n + j];
                sums[j] += v - q.ZeroPoints[q.PerTensor ? 0 : j];
            }
        return sums;
    }

    /// <summary>Asymmetric weights use uint8 (MatMulInteger/ConvInteger take uint8 × uint8), symmetric ones int8.</summary>
    private QuantType WeightType => _options.SymmetricWeights ? _options.WeightType : QuantType.UInt8;

    private static Value Scale(Graph g, GraphBuilder b, Value acc, Value xScale, QuantizedWeight q, string hint, long[]? channelShape)
    {
        var f = b.Op("Cast", new[] { acc }, new[] { Ir.Attribute.FromInt("to", (int)DT.Float) }, hint: hint + "_float");
        var wScale = channelShape is null || q.PerTensor
            ? Rewiring.Add(g, hint + "_weight_scale", q.ScaleTensor())
            : Rewiring.AddFloats(g, hint + "_weight_scale", channelShape, q.Scales);
        var s = b.Op("Mul", new[] { xScale, wScale }, hint: hint + "_scale");
        return b.Op("Mul", new[] { f, s }, hint: hint + "_dequantized");
    }
}

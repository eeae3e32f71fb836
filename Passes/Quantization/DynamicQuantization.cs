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
        var x = b.Ops("DynamicQuantizeLinear", new[] { node.Inputs[0] }, 3, hint: hint + "_x");
        var wq = Rewiring.Add(g, hint + "_weight_quantized", q.Data);
        var wzp = q.ZeroPoints.All(z => z == 0) ? null : Rewiring.Add(g, hint + "_weight_zero_point", q.ZeroPointTensor());
        var acc = b.Op("MatMulInteger", new Value?[] { x[0], wq, x[2], wzp }, hint: hint + "_int32");
        var y = Scale(g, b, acc, x[1], q, hint, null);
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

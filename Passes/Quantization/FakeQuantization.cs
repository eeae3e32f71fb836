using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// Quantization-aware training: inserts fake quantization (QuantizeLinear → DequantizeLinear, int8, symmetric,
/// zero point 0) on the float weight of every MatMul, Gemm and Conv — per output channel from opset 13 (scale =
/// max |W| / 127 over the channel, fixed at insertion), per tensor before — and, with <c>activations</c>, on their
/// float data input (per tensor, scale = max |x| / 127 computed in the graph at each run). Training through it uses
/// the straight-through estimator (QuantizationGradients): gradients pass unchanged inside the int8 range and stop
/// outside it; the weights stay float parameters, their scales stay fixed.
/// </summary>
public sealed class FakeQuantization : IPass
{
    private readonly bool _activations;
    private readonly IReadOnlyCollection<string> _keep;

    /// <summary>Creates the pass.</summary>
    public FakeQuantization(bool activations = false, IReadOnlyCollection<string>? keepFloat = null)
    {
        _activations = activations;
        _keep = keepFloat ?? Array.Empty<string>();
    }

    /// <inheritdoc/>
    public string Name => "fake-quant";

    /// <summary>Nodes given fake quantization by the last run.</summary>
    public int QuantizedNodes { get; private set; }

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        int opset = (int)(model.OpsetVersion("") ?? 1);
        if (opset < 10) throw new OnnxRevException($"fake quantization needs QuantizeLinear (opset ≥ 10); the model imports opset {opset}");
        var g = model.Graph;
        var done = new Dictionary<Value, Value>();
        int count = 0;
        foreach (var node in g.Nodes.ToList())
        {
            if (!node.IsStandardDomain || node.OpType is not ("MatMul" or "Gemm" or "Conv") || QuantizationGraph.Kept(node, _keep)) continue;
            if (node.Inputs.Count < 2 || node.Inputs[1] is not { } w || QuantizationGraph.ConstantFloat(w) is not { } t || _keep.Contains(w.Name)) continue;
            if (node.OpType == "MatMul" && t.Dims.Count != 2) continue;
            var b = new GraphBuilder(g, node);
            if (!done.TryGetValue(w, out var fq))
            {
                int axis = node.OpType switch
                {
                    "Conv" => 0,
                    "Gemm" => node.Attributes.GetInt("transB", 0) != 0 ? 0 : 1,
                    _ => 1,
                };
                done[w] = fq = WeightFakeQuant(b, w, t, opset >= 13 ? axis : -1);
            }
            node.SetInput(1, fq);
            if (_activations && node.Inputs[0] is { } x && (x.ElementType is 0 or (int)DT.Float)) node.SetInput(0, ActivationFakeQuant(b, x));
            count++;
        }
        if (count > 0) new DeadCodeElimination().Run(model);
        QuantizedNodes = count;
        return new PassResult(model, count > 0);
    }

    private static Value WeightFakeQuant(GraphBuilder b, Value w, Tensor t, int axis)
    {
        var data = t.ToFloatArray();
        float[] scales;
        if (axis < 0)
        {
            float amax = data.Length == 0 ? 0 : data.Max(Math.Abs);
            scales = new[] { amax > 0 ? amax / 127 : 1f };
        }
        else
        {
            long channels = t.Dims[axis], inner = 1;
            for (int d = axis + 1; d < t.Dims.Count; d++) inner *= t.Dims[d];
            scales = new float[channels];
            for (long i = 0; i < data.Length; i++)
            {
                long c = i / inner % channels;
                scales[c] = Math.Max(scales[c], Math.Abs(data[i]));
            }
            for (int c = 0; c < scales.Length; c++) scales[c] = scales[c] > 0 ? scales[c] / 127 : 1f;
        }
        var dims = axis < 0 ? Array.Empty<long>() : new[] { (long)scales.Length };
        var s = b.Initializer(Tensor.FromFloats("", dims, scales), w.Name + "_fq_scale");
        var z = b.Initializer(Tensor.FromRawBytes("", (int)DT.Int8, dims, new byte[scales.Length]), w.Name + "_fq_zero_point");
        var attrs = axis < 0 ? Array.Empty<Attr>() : new[] { Attr.FromInt("axis", axis) };
        var q = b.Op("QuantizeLinear", new[] { w, s, z }, attrs, hint: w.Name + "_fq_q");
        return b.Op("DequantizeLinear", new[] { q, s, z }, attrs, hint: w.Name + "_fq");
    }

    private static Value ActivationFakeQuant(GraphBuilder b, Value x)
    {
        // s = max(max|x|, 1e-8) / 127, per tensor, at run time.
        var amax = b.Op("ReduceMax", new[] { b.Op("Abs", new[] { x }) }, new[] { Attr.FromInt("keepdims", 0) });
        var floor = b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { 1e-8f }), "fq_floor");
        var s = b.Op("Div", new[] { b.Op("Max", new[] { amax, floor }), b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { 127f }), "fq_127") });
        var z = b.Initializer(Tensor.FromRawBytes("", (int)DT.Int8, Array.Empty<long>(), new byte[1]), "fq_zero_point");
        var q = b.Op("QuantizeLinear", new[] { x, s, z }, hint: x.Name + "_fq_q");
        return b.Op("DequantizeLinear", new[] { q, s, z }, hint: x.Name + "_fq");
    }
}

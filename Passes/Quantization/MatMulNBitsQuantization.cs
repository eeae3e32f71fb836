using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Quantization;

/// <summary>Settings of <see cref="MatMulNBitsQuantization"/>.</summary>
/// <param name="BlockSize">Weights per block along K: 16, 32, 64, 128 or 256 (the sizes ONNX Runtime's MatMulNBits kernels accept).</param>
/// <param name="Symmetric">Symmetric blocks (no zero-point input) or asymmetric (packed 4-bit zero points).</param>
/// <param name="AccuracyLevel">MatMulNBits accuracy_level: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 compute on A.</param>
/// <param name="KeepFloat">Op types (MatMul, Gemm), node names or weight names left in float.</param>
/// <param name="Hessians">Optional GPTQ calibration: weight name → H = Σ x xᵀ (K × K, row-major) over the inputs x the weight
/// multiplies (Runtime's Int4Calibration collects them); weights with one are quantized by <see cref="Gptq"/>, others by rounding.</param>
/// <param name="PerWeight">Optional per-weight format (weight name → bits 4 or 8 and block size) overriding 4 bits and
/// <paramref name="BlockSize"/>: a mixed plan such as <c>Int4MixedPlan</c> chooses.</param>
/// <param name="Only">When set, only these weights (by name) are quantized; every other stays float.</param>
/// <param name="HalfScales">Store the block scales as float16 (read through a Cast to float, which ONNX Runtime folds at load):
/// 2 bytes per block instead of 4, so block 16 costs 5.25 bits per weight (asymmetric) instead of 6.25.</param>
/// <param name="GptqSweeps">With <paramref name="Hessians"/>: coordinate-descent passes over each GPTQ result's codes and block
/// scales on GPTQ's own objective (<see cref="Gptq.Quantize"/>; 0 = plain GPTQ).</param>
/// <param name="GptqDamping">GPTQ's damping: added to each Hessian's diagonal as a fraction of its mean.</param>
public sealed record Int4Options(int BlockSize = 32, bool Symmetric = true, int AccuracyLevel = 0, IReadOnlyCollection<string>? KeepFloat = null,
    IReadOnlyDictionary<string, double[]>? Hessians = null, bool HalfScales = false, IReadOnlyDictionary<string, WeightFormat>? PerWeight = null,
    IReadOnlyCollection<string>? Only = null, int GptqSweeps = 0, double GptqDamping = Gptq.Damping);

/// <summary>How one weight is stored by MatMulNBits: bits per code (4 or 8) and weights per block along K.</summary>
/// <param name="Bits">4 or 8.</param>
/// <param name="BlockSize">16, 32, 64, 128 or 256.</param>
public sealed record WeightFormat(int Bits, int BlockSize)
{
    /// <summary>Stored bits per weight for this format: codes, one scale per block (16 or 32 bits), and a zero point per
    /// block (of <see cref="Bits"/> bits) when asymmetric.</summary>
    public double BitsPerWeight(bool halfScales, bool symmetric) => Bits + (halfScales ? 16.0 : 32.0) / BlockSize + (symmetric ? 0 : (double)Bits / BlockSize);

    /// <inheritdoc/>
    public override string ToString() => $"{Bits}-bit/{BlockSize}";
}

/// <summary>
/// 4-bit weight-only quantization: <c>MatMul(A, W)</c> with a constant 2-D float weight W [K, N], and
/// <c>Gemm(A, B, C)</c> with transA = 0 and a constant B, become com.microsoft <c>MatMulNBits</c> (bits = 4) with
/// block-wise round-to-nearest codes (<see cref="BlockQuantizer"/>): Y = A · dequant(B)ᵀ. Gemm's α is folded into
/// the scales and β·C is added after. A weight shared by several nodes is quantized once. Unused float weights are
/// removed. Works in every graph of the model (subgraphs included). Per weight, <see cref="Int4Options.PerWeight"/> may
/// choose 8-bit codes or another block size, and <see cref="Int4Options.HalfScales"/> stores the scales as float16.
/// </summary>
public sealed class MatMulNBitsQuantization : IPass
{
    private readonly Int4Options _o;

    /// <summary>Creates the pass.</summary>
    public MatMulNBitsQuantization(Int4Options? options = null)
    {
        _o = options ?? new Int4Options();
        foreach (var f in new[] { new WeightFormat(4, _o.BlockSize) }.Concat(_o.PerWeight?.Values ?? Array.Empty<WeightFormat>()))
        {
            if (f.BlockSize is not (16 or 32 or 64 or 128 or 256)) throw new OnnxRevException($"--block-size must be 16, 32, 64, 128 or 256 (what ONNX Runtime's MatMulNBits accepts), got {f.BlockSize}");
            if (f.Bits is not (4 or 8)) throw new OnnxRevException($"MatMulNBits weights here take 4 or 8 bits, got {f.Bits}");
        }
        if (_o.AccuracyLevel is < 0 or > 4) throw new OnnxRevException($"--accuracy-level must be 0..4, got {_o.AccuracyLevel}");
    }

    /// <inheritdoc/>
    public string Name => "int4";

    /// <summary>Nodes replaced by the last <see cref="Run"/>.</summary>
    public int QuantizedNodes { get; private set; }

    /// <summary>Float bytes of the weights replaced by the last run, and the bytes of their packed codes, scales and zero points.</summary>
    public (long FloatBytes, long QuantizedBytes) WeightBytes { get; private set; }

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        var keep = _o.KeepFloat ?? Array.Empty<string>();
        var cache = new Dictionary<(Value, bool, float), (Value B, Value S, Value? Zp, int N, int K, WeightFormat F)>();
        int count = 0;
        long floatBytes = 0, quantBytes = 0;
        foreach (var graph in model.Graph.AllGraphs().ToList())
        {
            foreach (var node in graph.Nodes.ToList())
            {
                if (!node.IsStandardDomain || node.OpType is not ("MatMul" or "Gemm") || QuantizationGraph.Kept(node, keep)) continue;
                if (node.Inputs.Count < 2 || node.Inputs[0] is not { } a || node.Inputs[1] is not { } w || keep.Contains(w.Name) || (_o.Only is not null && !_o.Only.Contains(w.Name))) continue;
                if (QuantizationGraph.ConstantFloat(w) is not { } t || t.Dims.Count != 2) continue;
                if (a.ElementType is not (0 or (int)DT.Float) || a.Shape is { Length: < 2 }) continue;
                bool gemm = node.OpType == "Gemm";
                if (gemm && node.Attributes.GetInt("transA", 0) != 0) continue;
                bool transposed = gemm && node.Attributes.GetInt("transB", 0) != 0;   // weight given as [N, K]
                float alpha = gemm ? node.Attributes.GetFloat("alpha", 1f) : 1f;
                var b = new GraphBuilder(graph, node);
                if (!cache.TryGetValue((w, transposed, alpha), out var q))
                {
                    q = Quantize(b, w.Name, t, transposed, alpha);
                    cache[(w, transposed, alpha)] = q;
                    floatBytes += t.ByteSize;
                    var scaleTensor = q.S.Initializer ?? q.S.Producer!.Inputs[0]!.Initializer!;   // float16 scales: the Cast's input
                    quantBytes += q.B.Initializer!.ByteSize + scaleTensor.ByteSize + (q.Zp?.Initializer!.ByteSize ?? 0);
                }
                var inputs = new List<Value?> { a, q.B, q.S };
                if (q.Zp is not null) inputs.Add(q.Zp);
                var y = b.Op("MatMulNBits", inputs, new[]
                {
                    Attr.FromInt("K", q.K), Attr.FromInt("N", q.N), Attr.FromInt("bits", q.F.Bits), Attr.FromInt("block_size", q.F.BlockSize),
                    Attr.FromInt("accuracy_level", _o.AccuracyLevel),
                }, domain: "com.microsoft", hint: (node.Name.Length > 0 ? node.Name : w.Name) + (q.F.Bits == 4 ? "_int4" : "_int8"));
                if (gemm && node.Inputs.Count > 2 && node.Inputs[2] is { } c)
                {
                    float beta = node.Attributes.GetFloat("beta", 1f);
                    Value bias = beta == 1f ? c : b.Op("Mul", new[] { c, b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { beta }), "gemm_beta") });
                    y = b.Op("Add", new[] { y, bias });
                }
                QuantizationGraph.Replace(node, y);
                count++;
            }
        }
        if (count > 0)
        {
            QuantizationGraph.ImportMicrosoftDomain(model);
            new DeadCodeElimination().Run(model);
        }
        QuantizedNodes = count;
        WeightBytes = (floatBytes, quantBytes);
        return new PassResult(model, count > 0);
    }

    private (Value B, Value S, Value? Zp, int N, int K, WeightFormat F) Quantize(GraphBuilder b, string name, Tensor t, bool transposed, float alpha)
    {
        var f = _o.PerWeight is not null && _o.PerWeight.TryGetValue(name, out var chosen) ? chosen : new WeightFormat(4, _o.BlockSize);
        var data = t.ToFloatArray();
        int rows = (int)t.Dims[0], cols = (int)t.Dims[1];
        int k = transposed ? cols : rows, n = transposed ? rows : cols;
        float[] nk;
        if (transposed) nk = data;
        else
        {
            nk = new float[data.Length];
            for (int i = 0; i < k; i++)
                for (int j = 0; j < n; j++) nk[(long)j * k + i] = data[(long)i * n + j];
        }
        if (alpha != 1f) for (int i = 0; i < nk.Length; i++) nk[i] *= alpha;
        var q = _o.Hessians is not null && _o.Hessians.TryGetValue(name, out var hessian)
            ? Gptq.Quantize(nk, n, k, f.BlockSize, _o.Symmetric, hessian, _o.HalfScales, f.Bits, _o.GptqSweeps, _o.GptqDamping)
            : BlockQuantizer.Quantize(nk, n, k, f.BlockSize, _o.Symmetric, _o.HalfScales, f.Bits);
        var bq = b.Initializer(Tensor.FromRawBytes("", (int)DT.Uint8, new long[] { n, q.Blocks, q.BlobSize }, q.Packed), name + (f.Bits == 4 ? "_q4" : "_q8"));
        var shape = new long[] { (long)n * q.Blocks };
        var s = _o.HalfScales
            ? b.Op("Cast", new[] { b.Initializer(Fp16Conversion.ToHalf(Tensor.FromFloats("", shape, q.Scales)), name + "_scales_fp16") }, new[] { Attr.FromInt("to", (int)DT.Float) }, hint: name + "_scales")
            : b.Initializer(Tensor.FromFloats("", shape, q.Scales), name + "_scales");
        Value? zp = q.ZeroPoints is null ? null
            : b.Initializer(Tensor.FromRawBytes("", (int)DT.Uint8, new long[] { q.ZeroPoints.Length }, q.ZeroPoints), name + "_zero_points");
        return (bq, s, zp, n, k, f);
    }
}

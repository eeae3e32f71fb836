using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Shape rules of convolution, pooling, matrix products, Flatten and recurrent operators.</summary>
internal static class SpatialShapes
{
    public static void Register(Dictionary<string, InferenceRule> r)
    {
        r["Conv"] = c => Window(c, channels: c.Shape(1) is { Length: > 0 } w ? w[0] : Dim.Unknown, kernelFromWeights: true, pooling: false);
        r["ConvInteger"] = c => Window(c, channels: c.Shape(1) is { Length: > 0 } w ? w[0] : Dim.Unknown, kernelFromWeights: true, pooling: false, elemType: (int)DT.Int32);
        r["ConvTranspose"] = ConvTranspose;
        foreach (var op in new[] { "MaxPool", "AveragePool", "LpPool" })
            r[op] = c => Window(c, channels: c.Shape(0) is { Length: > 1 } x ? x[1] : Dim.Unknown, kernelFromWeights: false, pooling: true);
        foreach (var op in new[] { "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool" })
            r[op] = c => c.SetOutput(0, c.Type(0), c.Shape(0)?.Select((d, i) => i < 2 ? d : Dim.Of(1)).ToArray());
        r["Gemm"] = Gemm;
        r["MatMul"] = c => c.SetOutput(0, c.Type(0), MatMul(c.Shape(0), c.Shape(1)));
        r["MatMulInteger"] = c => c.SetOutput(0, (int)DT.Int32, MatMul(c.Shape(0), c.Shape(1)));
        r["Flatten"] = Flatten;
        foreach (var op in new[] { "LSTM", "GRU", "RNN" }) r[op] = Recurrent;
    }

    /// <summary>Conv and pooling: [N, channels, spatial...] with the ONNX output-size rules.</summary>
    private static void Window(NodeContext c, Dim channels, bool kernelFromWeights, bool pooling, int elemType = 0)
    {
        var x = c.Shape(0);
        int type = elemType != 0 ? elemType : c.Type(0);
        if (x is null || x.Length < 3)
        {
            c.SetOutput(0, type, null);
            return;
        }
        int spatial = x.Length - 2;
        var kernel = c.IntList("kernel_shape")?.ToArray();
        if (kernel is null && kernelFromWeights && c.Shape(1) is { } w && w.Length == x.Length) kernel = Dim.Values(w[2..]);
        var output = new Dim[x.Length];
        output[0] = x[0];
        output[1] = channels;
        for (int i = 0; i < spatial; i++)
            output[i + 2] = kernel is null || kernel.Length != spatial ? Dim.Unknown : OutputSize(c, x[i + 2], kernel, i, spatial, pooling);
        c.SetOutput(0, type, output);
        if (pooling && c.Node.OpType == "MaxPool") c.SetOutput(1, (int)DT.Int64, output);
    }

    private static Dim OutputSize(NodeContext c, Dim input, long[] kernel, int i, int spatial, bool pooling)
    {
        if (!input.IsKnown) return Dim.Unknown;
        long n = input.Value;
        long stride = c.IntList("strides") is { } s && s.Count == spatial ? s[i] : 1;
        long dilation = c.IntList("dilations") is { } d && d.Count == spatial ? d[i] : 1;
        long effective = (kernel[i] - 1) * dilation + 1;
        if (stride <= 0) return Dim.Unknown;
        string autoPad = c.Node.Attributes.GetString("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER") return Dim.Of(CeilDiv(n, stride));
        if (autoPad == "VALID") return Dim.Of(Math.Max(0, CeilDiv(n - effective + 1, stride)));
        var pads = c.IntList("pads");
        long begin = pads is { } p && p.Count == 2 * spatial ? p[i] : 0;
        long end = pads is { } q && q.Count == 2 * spatial ? q[i + spatial] : 0;
        long span = n + begin + end - effective;
        if (span < 0) return Dim.Unknown;
        bool ceil = pooling && c.Int("ceil_mode", 0) != 0;
        long size = (ceil ? CeilDiv(span, stride) : span / stride) + 1;
        // With ceil_mode a window that would start inside the right padding is dropped.
        if (ceil && (size - 1) * stride >= n + begin) size--;
        return Dim.Of(size);
    }

    private static long CeilDiv(long a, long b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    private static void ConvTranspose(NodeContext c)
    {
        var x = c.Shape(0);
        var w = c.Shape(1);
        if (x is null || x.Length < 3 || w is null || w.Length != x.Length)
        {
            c.SetOutput(0, c.Type(0), null);
            return;
        }
        int spatial = x.Length - 2;
        long group = c.Int("group", 1);
        var output = new Dim[x.Length];
        output[0] = x[0];
        output[1] = w[1] * Dim.Of(group);
        var explicitShape = c.IntList("output_shape");
        var kernel = c.IntList("kernel_shape")?.ToArray() ?? Dim.Values(w[2..]);
        for (int i = 0; i < spatial; i++)
        {
            if (explicitShape is { } os && os.Count == spatial) { output[i + 2] = Dim.Of(os[i]); continue; }
            string autoPad = c.Node.Attributes.GetString("auto_pad", "NOTSET");
            if (!x[i + 2].IsKnown || kernel is null || autoPad != "NOTSET" && autoPad != "VALID") { output[i + 2] = Dim.Unknown; continue; }
            long stride = c.IntList("strides") is { } s && s.Count == spatial ? s[i] : 1;
            long dilation = c.IntList("dilations") is { } d && d.Count == spatial ? d[i] : 1;
            long outPad = c.IntList("output_padding") is { } op && op.Count == spatial ? op[i] : 0;
            var pads = autoPad == "VALID" ? null : c.IntList("pads");
            long padSum = pads is { } p && p.Count == 2 * spatial ? p[i] + p[i + spatial] : 0;
            output[i + 2] = Dim.Of(stride * (x[i + 2].Value - 1) + outPad + (kernel[i] - 1) * dilation + 1 - padSum);
        }
        c.SetOutput(0, c.Type(0), output);
    }

    private static void Gemm(NodeContext c)
    {
        var a = c.Shape(0);
        var b = c.Shape(1);
        Dim m = a is { Length: 2 } ? a[c.Int("transA", 0) != 0 ? 1 : 0] : Dim.Unknown;
        Dim n = b is { Length: 2 } ? b[c.Int("transB", 0) != 0 ? 0 : 1] : Dim.Unknown;
        c.SetOutput(0, c.Type(0), new[] { m, n });
    }

    /// <summary>numpy.matmul shapes: 1-D operands are promoted and the added axis removed; batch axes broadcast.</summary>
    internal static Dim[]? MatMul(Dim[]? a, Dim[]? b)
    {
        if (a is null || b is null || a.Length == 0 || b.Length == 0) return null;
        bool aVector = a.Length == 1, bVector = b.Length == 1;
        var a2 = aVector ? new[] { Dim.Of(1), a[0] } : a;
        var b2 = bVector ? new[] { b[0], Dim.Of(1) } : b;
        var batch = Broadcast.Shapes(a2[..^2], b2[..^2]);
        if (batch is null) return null;
        var result = new List<Dim>(batch);
        if (!aVector) result.Add(a2[^2]);
        if (!bVector) result.Add(b2[^1]);
        return result.ToArray();
    }

    private static void Flatten(NodeContext c)
    {
        var x = c.Shape(0);
        if (x is null) { c.SetOutput(0, c.Type(0), null); return; }
        long axis = c.Int("axis", 1);
        if (axis < 0) axis += x.Length;
        if (axis < 0 || axis > x.Length) return;
        Dim outer = x[..(int)axis].Aggregate(Dim.Of(1), (p, d) => p * d);
        Dim inner = x[(int)axis..].Aggregate(Dim.Of(1), (p, d) => p * d);
        c.SetOutput(0, c.Type(0), new[] { outer, inner });
    }

    /// <summary>LSTM/GRU/RNN: Y [seq, dirs, batch, hidden] and Y_h (Y_c) [dirs, batch, hidden]; batch-first when layout=1.</summary>
    private static void Recurrent(NodeContext c)
    {
        var x = c.Shape(0);
        long hidden = c.Int("hidden_size", 0);
        Dim dirs = Dim.Of(c.Node.Attributes.GetString("direction", "forward") == "bidirectional" ? 2 : 1);
        Dim h = hidden > 0 ? Dim.Of(hidden) : Dim.Unknown;
        bool batchFirst = c.Int("layout", 0) != 0;
        int type = c.Type(0);
        if (x is not { Length: 3 })
        {
            for (int i = 0; i < c.Node.Outputs.Count; i++) c.SetOutput(i, type, null);
            return;
        }
        Dim seq = batchFirst ? x[1] : x[0], batch = batchFirst ? x[0] : x[1];
        c.SetOutput(0, type, batchFirst ? new[] { batch, seq, dirs, h } : new[] { seq, dirs, batch, h });
        var state = batchFirst ? new[] { batch, dirs, h } : new[] { dirs, batch, h };
        c.SetOutput(1, type, state);
        c.SetOutput(2, type, state);
    }
}

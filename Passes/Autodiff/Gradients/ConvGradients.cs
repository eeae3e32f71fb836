using OnnxRev.Ir;
using Attr = OnnxRev.Ir.Attribute;
using static OnnxRev.Passes.Autodiff.Gradients.GradientHelpers;

namespace OnnxRev.Passes.Autodiff.Gradients;

/// <summary>
/// Convolution. For Y = Conv(X, W, B) with X [N, C, D…], W [M, C/G, K…], strides s, dilations d,
/// pads (b, e) and G groups (auto_pad resolved to explicit pads from static shapes):
/// <code>
/// dX = ConvTranspose(dY, W; group G, strides s, dilations d, pads (b, e), output_padding p)
///      with p = D + b + e − ((K−1)·d + 1) − s·(O−1), so that dX has X's spatial size D
/// dW = Transpose₀₁(Conv(X', dYᵀ; group G, strides d, dilations s, pads (b, e))[…, :K])
///      X' = X reshaped [N, G, C/G, D…] → [C/G, G, N, D…] → [C/G, G·N, D…], dYᵀ = dY with axes 0, 1 swapped
/// dB = ReduceSum(dY, axes 0, 2, 3, …)
/// </code>
/// </summary>
public static class ConvGradients
{
    /// <summary>Registers this family.</summary>
    public static void Register(GradientRegistry r) => r.Register("Conv", 1, Conv);

    /// <summary>Resolved geometry of a sliding-window op over the spatial axes.</summary>
    /// <param name="In">Input spatial size D.</param>
    /// <param name="Kernel">Kernel size K.</param>
    /// <param name="Out">Output spatial size O.</param>
    /// <param name="Strides">Strides s.</param>
    /// <param name="Dilations">Dilations d.</param>
    /// <param name="Begin">Leading pads.</param>
    /// <param name="End">Trailing pads.</param>
    internal sealed record Window(long[] In, long[] Kernel, long[] Out, long[] Strides, long[] Dilations, long[] Begin, long[] End)
    {
        /// <summary>Extent of the dilated kernel along axis i: (K−1)·d + 1.</summary>
        public long Extent(int i) => (Kernel[i] - 1) * Dilations[i] + 1;

        /// <summary>Pads as ONNX lists them: all leading pads, then all trailing pads.</summary>
        public long[] Pads => Begin.Concat(End).ToArray();

        /// <summary>
        /// Trailing pads for the transposed op so that it yields exactly O windows (ceil_mode adds a
        /// partial window past the trailing pad), and the output_padding that then restores size D.
        /// </summary>
        public (long[] End, long[] OutputPadding) Transposed()
        {
            int k = In.Length;
            var end = new long[k];
            var outPad = new long[k];
            for (int i = 0; i < k; i++)
            {
                end[i] = Math.Max(End[i], (Out[i] - 1) * Strides[i] + Extent(i) - In[i] - Begin[i]);
                outPad[i] = In[i] + Begin[i] + end[i] - Extent(i) - Strides[i] * (Out[i] - 1);
            }
            return (end, outPad);
        }
    }

    /// <summary>
    /// Resolves strides, dilations and pads (auto_pad included) of a Conv or pooling node over input
    /// spatial size <paramref name="input"/>; <paramref name="output"/> overrides the output size when
    /// known (pooling with ceil_mode).
    /// </summary>
    internal static Window Resolve(GradientContext g, long[] input, long[] kernel, long[]? output = null)
    {
        int k = input.Length;
        long[] Get(string name, long fallback)
        {
            int count = name == "pads" ? 2 * k : k;
            var v = g.Ints(name);
            if (v is null || v.Count == 0) return Enumerable.Repeat(fallback, count).ToArray();
            if (v.Count != count) throw new OnnxRevException($"{g.Node.Describe()}: attribute {name} has {v.Count} values for {k} spatial axes");
            return v.ToArray();
        }
        var strides = Get("strides", 1);
        var dil = Get("dilations", 1);
        var begin = new long[k];
        var end = new long[k];
        var outSize = new long[k];
        string autoPad = g.Str("auto_pad", "NOTSET");
        bool ceil = g.Int("ceil_mode", 0) != 0;
        for (int i = 0; i < k; i++)
        {
            long ext = (kernel[i] - 1) * dil[i] + 1;
            switch (autoPad)
            {
                case "NOTSET" or "":
                    var pads = Get("pads", 0);
                    begin[i] = pads[i];
                    end[i] = pads[i + k];
                    long span = input[i] + begin[i] + end[i] - ext;
                    outSize[i] = (ceil ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1;
                    break;
                case "VALID":
                    outSize[i] = (input[i] - ext) / strides[i] + 1;
                    break;
                case "SAME_UPPER" or "SAME_LOWER":
                    outSize[i] = (input[i] + strides[i] - 1) / strides[i];
                    long total = Math.Max(0, (outSize[i] - 1) * strides[i] + ext - input[i]);
                    begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                    end[i] = total - begin[i];
                    break;
                default:
                    throw new OnnxRevException($"{g.Node.Describe()}: unknown auto_pad '{autoPad}'");
            }
            if (output is not null) outSize[i] = output[i];
        }
        return new Window(input, kernel, outSize, strides, dil, begin, end);
    }

    private static Attr[] WindowAttrs(long[] strides, long[] dilations, long[] pads, int group) => new[]
    {
        Attr.FromInts("strides", strides), Attr.FromInts("dilations", dilations), Attr.FromInts("pads", pads), Attr.FromInt("group", group),
    };

    private static void Conv(GradientContext g)
    {
        var x = g.X(0);
        var w = g.X(1);
        int rank = g.RankOf(x);
        int k = rank - 2;
        var spatial = StaticDims(g, x, 2, "spatial size");
        var wDims = StaticDims(g, w, 0, "shape");
        var kernel = g.Ints("kernel_shape")?.ToArray() ?? wDims[2..];
        int group = (int)g.Int("group", 1);
        var win = Resolve(g, spatial, kernel);
        var dy = g.dY;

        if (g.NeedsGrad(0))
        {
            var (_, outPad) = win.Transposed();
            var attrs = WindowAttrs(win.Strides, win.Dilations, win.Pads, group)
                .Append(Attr.FromInts("kernel_shape", kernel)).Append(Attr.FromInts("output_padding", outPad)).ToArray();
            g.SetInputGrad(0, g.Op("ConvTranspose", new[] { dy, w }, attrs));
        }

        if (g.NeedsGrad(1))
        {
            long cg = wDims[1];
            Value xt;
            if (group == 1) xt = g.Ops.Transpose(x, Swap01(rank));
            else
            {
                // [N, C, D…] → [N, G, C/G, D…] → [C/G, G, N, D…] → [C/G, G·N, D…]: batch becomes the channel axis, per group.
                var split = ReshapeTo(g, x, new long[] { -1, group, cg }.Concat(spatial).ToArray());
                var perm = new long[] { 2, 1, 0 }.Concat(Iota(3, k)).ToArray();
                xt = ReshapeTo(g, g.Ops.Transpose(split, perm), new long[] { cg, -1 }.Concat(spatial).ToArray());
            }
            var dyt = g.Ops.Transpose(dy, Swap01(rank));
            // Forward strides act as dilations of the dY "kernel" and forward dilations as strides.
            var dw = g.Op("Conv", new[] { xt, dyt }, WindowAttrs(win.Dilations, win.Strides, win.Pads, group));
            // Trailing input the forward windows never reached makes this result longer than K.
            var full = new long[k];
            for (int i = 0; i < k; i++) full[i] = (spatial[i] + win.Begin[i] + win.End[i] - ((win.Out[i] - 1) * win.Strides[i] + 1)) / win.Dilations[i] + 1;
            if (!full.SequenceEqual(kernel)) dw = g.Ops.Slice(dw, new long[k], kernel, Iota(2, k));
            g.SetInputGrad(1, g.Ops.Transpose(dw, Swap01(rank)));
        }

        if (g.NeedsGrad(2))
            g.SetInputGrad(2, g.Ops.ReduceSum(dy, new long[] { 0 }.Concat(Iota(2, k)).ToArray(), keepDims: false));
    }

    private static long[] Swap01(int rank) => new long[] { 1, 0 }.Concat(Iota(2, rank - 2)).ToArray();
}

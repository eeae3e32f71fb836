using System.Numerics;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>A unary operator on any numeric element type.</summary>
internal interface IUnaryOp
{
    static abstract T Apply<T>(T x) where T : unmanaged, INumber<T>;
}

/// <summary>A unary operator on floating-point values, given per precision (float16 goes through float).</summary>
internal interface IFloatOp
{
    static abstract float F(float x);

    static abstract double D(double x);
}

/// <summary>Elementwise unary kernels (Neg, Abs, Sign, Relu, Floor, Ceil, Sqrt, Reciprocal, Exp, Log, Tanh,
/// Sigmoid) and Clip.</summary>
internal static class UnaryKernels
{
    public static HostTensor[] Neg(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        if (x.DataType is OnnxDataType.UInt8 or OnnxDataType.UInt16 or OnnxDataType.UInt32 or OnnxDataType.UInt64)
            throw new FoldDeclinedException($"'Neg' does not take {OnnxDataType.Name(x.DataType)} tensors");
        return [Numeric<NegOp>(ctx, x)];
    }

    public static HostTensor[] Abs(EvalContext ctx) => [Numeric<AbsOp>(ctx, ctx.Input(0))];

    public static HostTensor[] Sign(EvalContext ctx) => [Numeric<SignOp>(ctx, ctx.Input(0))];

    public static HostTensor[] Relu(EvalContext ctx) => [Numeric<ReluOp>(ctx, ctx.Input(0))];

    public static HostTensor[] Floor(EvalContext ctx) => [Floating<FloorOp>(ctx)];

    public static HostTensor[] Ceil(EvalContext ctx) => [Floating<CeilOp>(ctx)];

    public static HostTensor[] Sqrt(EvalContext ctx) => [Floating<SqrtOp>(ctx)];

    public static HostTensor[] Reciprocal(EvalContext ctx) => [Floating<ReciprocalOp>(ctx)];

    public static HostTensor[] Exp(EvalContext ctx) => [Floating<ExpOp>(ctx)];

    public static HostTensor[] Log(EvalContext ctx) => [Floating<LogOp>(ctx)];

    public static HostTensor[] Tanh(EvalContext ctx) => [Floating<TanhOp>(ctx)];

    public static HostTensor[] Sigmoid(EvalContext ctx) => [Floating<SigmoidOp>(ctx)];

    /// <summary>Clip: bounds are attributes before opset 11 (float types only) and optional scalar inputs from 11.
    /// Computed as min(max(x, lo), hi), so lo &gt; hi gives hi.</summary>
    public static HostTensor[] Clip(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        ClipFunc f;
        if (ctx.Opset < 11)
        {
            if (!OnnxDataType.IsFloating(x.DataType)) throw new FoldDeclinedException("Clip before opset 11 takes float types only");
            f = new ClipFunc(null, null, ctx.Has("min") ? ctx.Float("min", 0) : null, ctx.Has("max") ? ctx.Float("max", 0) : null);
        }
        else
        {
            HostTensor? lo = ctx.OptionalInput(1), hi = ctx.OptionalInput(2);
            foreach (HostTensor? b in new[] { lo, hi })
            {
                if (b is null) continue;
                if (b.DataType != x.DataType) throw new FoldDeclinedException("Clip bounds must have the input's type");
                if (b.ElementCount != 1) throw new FoldDeclinedException("Clip bounds must be scalars");
            }
            f = new ClipFunc(lo?.Data, hi?.Data, null, null);
        }
        return [new HostTensor(x.DataType, x.Dims, Elements.VisitNumeric(x, f, "'Clip'"))];
    }

    private static HostTensor Numeric<TOp>(EvalContext ctx, HostTensor x) where TOp : IUnaryOp =>
        new(x.DataType, x.Dims, Elements.VisitNumeric(x, new UnaryFunc<TOp>(), $"'{ctx.OpType}'"));

    private static HostTensor Floating<TOp>(EvalContext ctx) where TOp : IFloatOp
    {
        HostTensor x = ctx.Input(0);
        Array result = x.Data switch
        {
            float[] a => Array.ConvertAll(a, v => TOp.F(v)),
            double[] a => Array.ConvertAll(a, v => TOp.D(v)),
            Half[] a => Array.ConvertAll(a, v => (Half)TOp.F((float)v)),
            _ => throw new FoldDeclinedException($"'{ctx.OpType}' does not take {OnnxDataType.Name(x.DataType)} tensors"),
        };
        return new HostTensor(x.DataType, x.Dims, result);
    }

    private sealed class UnaryFunc<TOp> : INumericFunc<Array> where TOp : IUnaryOp
    {
        public Array Invoke<T>(T[] data) where T : unmanaged, INumber<T>
        {
            var result = new T[data.Length];
            for (int i = 0; i < data.Length; i++) result[i] = TOp.Apply(data[i]);
            return result;
        }
    }

    private sealed class ClipFunc(Array? lo, Array? hi, float? loAttr, float? hiAttr) : INumericFunc<Array>
    {
        public Array Invoke<T>(T[] data) where T : unmanaged, INumber<T>
        {
            T? min = lo is T[] l ? l[0] : loAttr is float fl ? T.CreateTruncating(fl) : null;
            T? max = hi is T[] h ? h[0] : hiAttr is float fh ? T.CreateTruncating(fh) : null;
            var result = new T[data.Length];
            for (int i = 0; i < data.Length; i++)
            {
                T v = data[i];
                if (min is T mn && v < mn) v = mn;
                if (max is T mx && v > mx) v = mx;
                result[i] = v;
            }
            return result;
        }
    }

    private struct NegOp : IUnaryOp
    {
        public static T Apply<T>(T x) where T : unmanaged, INumber<T> => -x;
    }

    private struct AbsOp : IUnaryOp
    {
        public static T Apply<T>(T x) where T : unmanaged, INumber<T> => T.IsNegative(x) ? -x : x;
    }

    private struct SignOp : IUnaryOp
    {
        public static T Apply<T>(T x) where T : unmanaged, INumber<T> =>
            x > T.Zero ? T.One : x < T.Zero ? -T.One : T.IsNaN(x) ? x : T.Zero;
    }

    private struct ReluOp : IUnaryOp
    {
        public static T Apply<T>(T x) where T : unmanaged, INumber<T> => x < T.Zero ? T.Zero : x;
    }

    private struct FloorOp : IFloatOp
    {
        public static float F(float x) => MathF.Floor(x);
        public static double D(double x) => Math.Floor(x);
    }

    private struct CeilOp : IFloatOp
    {
        public static float F(float x) => MathF.Ceiling(x);
        public static double D(double x) => Math.Ceiling(x);
    }

    private struct SqrtOp : IFloatOp
    {
        public static float F(float x) => MathF.Sqrt(x);
        public static double D(double x) => Math.Sqrt(x);
    }

    private struct ReciprocalOp : IFloatOp
    {
        public static float F(float x) => 1f / x;
        public static double D(double x) => 1.0 / x;
    }

    private struct ExpOp : IFloatOp
    {
        public static float F(float x) => MathF.Exp(x);
        public static double D(double x) => Math.Exp(x);
    }

    private struct LogOp : IFloatOp
    {
        public static float F(float x) => MathF.Log(x);
        public static double D(double x) => Math.Log(x);
    }

    private struct TanhOp : IFloatOp
    {
        public static float F(float x) => MathF.Tanh(x);
        public static double D(double x) => Math.Tanh(x);
    }

    private struct SigmoidOp : IFloatOp
    {
        public static float F(float x) => 1f / (1f + MathF.Exp(-x));
        public static double D(double x) => 1.0 / (1.0 + Math.Exp(-x));
    }
}

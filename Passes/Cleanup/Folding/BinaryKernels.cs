using System.Numerics;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>Broadcasting arithmetic kernels: Add, Sub, Mul, Div, Mod, Pow, Min, Max, Sum.</summary>
internal static class BinaryKernels
{
    public static HostTensor[] Add(EvalContext ctx) => [Broadcasting.Arithmetic<AddOp>(ctx, ctx.Input(0), ctx.Input(1))];

    public static HostTensor[] Sub(EvalContext ctx) => [Broadcasting.Arithmetic<SubOp>(ctx, ctx.Input(0), ctx.Input(1))];

    public static HostTensor[] Mul(EvalContext ctx) => [Broadcasting.Arithmetic<MulOp>(ctx, ctx.Input(0), ctx.Input(1))];

    /// <summary>Integer division truncates toward zero (C semantics); division by zero declines.</summary>
    public static HostTensor[] Div(EvalContext ctx) => [Broadcasting.Arithmetic<DivOp>(ctx, ctx.Input(0), ctx.Input(1))];

    /// <summary>fmod=1: C fmod (sign of the dividend); fmod=0 (integers only): sign of the divisor.</summary>
    public static HostTensor[] Mod(EvalContext ctx)
    {
        HostTensor a = ctx.Input(0), b = ctx.Input(1);
        bool fmod = ctx.Int("fmod", 0) != 0;
        if (!fmod && OnnxDataType.IsFloating(a.DataType))
            throw new FoldDeclinedException("fmod must be 1 for floating-point inputs");
        return [fmod ? Broadcasting.Arithmetic<FmodOp>(ctx, a, b) : Broadcasting.Arithmetic<FloorModOp>(ctx, a, b)];
    }

    public static HostTensor[] Min(EvalContext ctx) => [Fold<MinOp>(ctx)];

    public static HostTensor[] Max(EvalContext ctx) => [Fold<MaxOp>(ctx)];

    public static HostTensor[] Sum(EvalContext ctx) => [Fold<AddOp>(ctx)];

    private static HostTensor Fold<TOp>(EvalContext ctx) where TOp : IBinaryOp
    {
        IReadOnlyList<HostTensor> xs = ctx.AllInputs();
        ctx.RequireSameType(xs);
        HostTensor acc = xs[0];
        if (xs.Count == 1) Elements.VisitNumeric(acc, new NoOp(), $"'{ctx.OpType}'");
        for (int i = 1; i < xs.Count; i++) acc = Broadcasting.Arithmetic<TOp>(ctx, acc, xs[i]);
        return acc;
    }

    /// <summary>Pow: the output has the base's type; the exponent may be any numeric type. As in ONNX Runtime, a
    /// single-element exponent of 2 or 3 (with a base of more than one element) is computed as x*x or x*x*x;
    /// float^float uses powf, other mixes use
    /// double pow cast back to the base type.</summary>
    public static HostTensor[] Pow(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0), y = ctx.Input(1);
        double[] exponent = Elements.VisitNumeric(y, new ToDoubles(), "Pow's exponent");
        Broadcasting plan = Broadcasting.Plan(x, y);
        bool floatPair = x.DataType == OnnxDataType.Float && y.DataType == OnnxDataType.Float;
        bool scalarExponent = y.ElementCount == 1 && x.ElementCount != 1;
        return [new HostTensor(x.DataType, plan.Dims, Elements.VisitNumeric(x, new PowFunc(exponent, plan, floatPair, scalarExponent), "Pow"))];
    }

    private sealed class PowFunc(double[] e, Broadcasting plan, bool floatPair, bool scalarExponent) : INumericFunc<Array>
    {
        public Array Invoke<T>(T[] x) where T : unmanaged, INumber<T>
        {
            int[] mx = plan.Maps[0], my = plan.Maps[1];
            var result = new T[mx.Length];
            for (int i = 0; i < result.Length; i++)
            {
                T b = x[mx[i]];
                double p = e[my[i]];
                if (scalarExponent && p == 2) result[i] = b * b;
                else if (scalarExponent && p == 3) result[i] = b * b * b;
                else if (floatPair) result[i] = T.CreateTruncating(MathF.Pow(float.CreateTruncating(b), (float)p));
                else if (typeof(T) == typeof(Half)) result[i] = T.CreateTruncating((Half)MathF.Pow(float.CreateTruncating(b), (float)p));
                else result[i] = T.CreateTruncating(Math.Pow(double.CreateTruncating(b), p));
            }
            return result;
        }
    }

    private sealed class ToDoubles : INumericFunc<double[]>
    {
        public double[] Invoke<T>(T[] data) where T : unmanaged, INumber<T> => data.Select(double.CreateTruncating).ToArray();
    }

    private sealed class NoOp : INumericFunc<int>
    {
        public int Invoke<T>(T[] data) where T : unmanaged, INumber<T> => 0;
    }

    private struct AddOp : IBinaryOp
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x + y;
    }

    private struct SubOp : IBinaryOp
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x - y;
    }

    private struct MulOp : IBinaryOp
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x * y;
    }

    private struct DivOp : IBinaryOp
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x / y;
    }

    private struct FmodOp : IBinaryOp
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x % y;
    }

    private struct FloorModOp : IBinaryOp
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, INumber<T>
        {
            T r = x % y;
            return r != T.Zero && T.IsNegative(r) != T.IsNegative(y) ? r + y : r;
        }
    }

    /// <summary>NaN-propagating minimum.</summary>
    private struct MinOp : IBinaryOp
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, INumber<T> => T.IsNaN(x) || T.IsNaN(y) ? x + y : (y < x ? y : x);
    }

    /// <summary>NaN-propagating maximum.</summary>
    private struct MaxOp : IBinaryOp
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, INumber<T> => T.IsNaN(x) || T.IsNaN(y) ? x + y : (y > x ? y : x);
    }
}

using System.Numerics;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>
/// Cast between bool, the integer types, float16, float and double, with ONNX Runtime's conversions:
/// float to integer truncates toward zero (NaN or out-of-range values decline, since C++ leaves them undefined);
/// integer to integer wraps; anything to bool is <c>x != 0</c>; integers and double reach float16 through float.
/// Casts from or to string decline.
/// </summary>
internal static class CastKernel
{
    public static HostTensor[] Cast(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        int to = (int)ctx.Int("to");
        if (to == OnnxDataType.String || x.DataType == OnnxDataType.String)
            throw new FoldDeclinedException("casts from or to string are not folded");
        if (OnnxDataType.ElementType(to) is null || to == OnnxDataType.BFloat16)
            throw new FoldDeclinedException($"cast to {OnnxDataType.Name(to)} is not folded");
        if (to == x.DataType) return [x];
        HostTensor src = x.DataType == OnnxDataType.Bool
            ? new HostTensor(OnnxDataType.UInt8, x.Dims, ((bool[])x.Data).Select(v => v ? (byte)1 : (byte)0).ToArray())
            : x;
        Array result = to switch
        {
            OnnxDataType.Bool => Elements.VisitNumeric(src, new ToBool(), "Cast"),
            OnnxDataType.Float => Elements.VisitNumeric(src, new To<float>(), "Cast"),
            OnnxDataType.Double => Elements.VisitNumeric(src, new To<double>(), "Cast"),
            OnnxDataType.Float16 => Elements.VisitNumeric(src, new To<Half>(), "Cast"),
            OnnxDataType.Int8 => Elements.VisitNumeric(src, new To<sbyte>(), "Cast"),
            OnnxDataType.Int16 => Elements.VisitNumeric(src, new To<short>(), "Cast"),
            OnnxDataType.Int32 => Elements.VisitNumeric(src, new To<int>(), "Cast"),
            OnnxDataType.Int64 => Elements.VisitNumeric(src, new To<long>(), "Cast"),
            OnnxDataType.UInt8 => Elements.VisitNumeric(src, new To<byte>(), "Cast"),
            OnnxDataType.UInt16 => Elements.VisitNumeric(src, new To<ushort>(), "Cast"),
            OnnxDataType.UInt32 => Elements.VisitNumeric(src, new To<uint>(), "Cast"),
            OnnxDataType.UInt64 => Elements.VisitNumeric(src, new To<ulong>(), "Cast"),
            _ => throw new FoldDeclinedException($"cast to {OnnxDataType.Name(to)} is not folded"),
        };
        return [new HostTensor(to, x.Dims, result)];
    }

    private static bool IsFloating<T>() => typeof(T) == typeof(float) || typeof(T) == typeof(double) || typeof(T) == typeof(Half);

    /// <summary>Converts one value; see the class summary for the rules.</summary>
    internal static TTo Convert<TFrom, TTo>(TFrom v) where TFrom : unmanaged, INumber<TFrom> where TTo : unmanaged, INumber<TTo>
    {
        if (IsFloating<TFrom>())
        {
            double d = double.CreateTruncating(v); // exact for half, float and double
            if (typeof(TTo) == typeof(Half)) return TTo.CreateTruncating((Half)(float)d);
            if (IsFloating<TTo>()) return TTo.CreateTruncating(d);
            if (!double.IsFinite(d)) throw new FoldDeclinedException($"cannot cast {d} to an integer type");
            double t = Math.Truncate(d);
            try
            {
                return TTo.CreateChecked(t);
            }
            catch (OverflowException)
            {
                throw new FoldDeclinedException($"{d} is out of range for {typeof(TTo).Name} (undefined in C++)");
            }
        }
        if (typeof(TTo) == typeof(Half)) return TTo.CreateTruncating((Half)float.CreateTruncating(v));
        return TTo.CreateTruncating(v);
    }

    private sealed class To<TTo> : INumericFunc<Array> where TTo : unmanaged, INumber<TTo>
    {
        public Array Invoke<T>(T[] data) where T : unmanaged, INumber<T>
        {
            var result = new TTo[data.Length];
            for (int i = 0; i < data.Length; i++) result[i] = Convert<T, TTo>(data[i]);
            return result;
        }
    }

    private sealed class ToBool : INumericFunc<Array>
    {
        public Array Invoke<T>(T[] data) where T : unmanaged, INumber<T> => Array.ConvertAll(data, v => v != T.Zero);
    }
}

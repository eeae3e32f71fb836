using System.Numerics;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>A computation over a typed array of any element type.</summary>
internal interface IElementFunc<out TResult>
{
    TResult Invoke<T>(T[] data);
}

/// <summary>A computation over a typed array of a numeric element type (no bool, no string).</summary>
internal interface INumericFunc<out TResult>
{
    TResult Invoke<T>(T[] data) where T : unmanaged, INumber<T>;
}

/// <summary>Type dispatch from <see cref="Array"/> to typed generic code, and type-agnostic data movement.</summary>
internal static class Elements
{
    /// <summary>Runs <paramref name="f"/> on the array with its static element type.</summary>
    public static TResult Visit<TResult>(Array data, IElementFunc<TResult> f)
    {
        // Dispatch on the exact runtime type: the CLR lets byte[] pass as sbyte[] (and int[] as uint[], ...),
        // so type patterns such as `data is sbyte[]` cannot tell signed from unsigned arrays.
        Type t = data.GetType();
        if (t == typeof(bool[])) return f.Invoke((bool[])data);
        if (t == typeof(string[])) return f.Invoke((string[])data);
        return VisitNumeric(data, new ElementAsNumeric<TResult>(f)) ?? throw new InvalidOperationException($"Unhandled array type {t.Name}.");
    }

    /// <summary>Runs <paramref name="f"/> on a numeric tensor; declines for bool and string.</summary>
    public static TResult VisitNumeric<TResult>(HostTensor t, INumericFunc<TResult> f, string what) =>
        t.DataType is OnnxDataType.Bool or OnnxDataType.String or OnnxDataType.BFloat16
            ? throw new FoldDeclinedException($"{what} does not take {OnnxDataType.Name(t.DataType)} tensors")
            : VisitNumeric(t.Data, f)!;

    private static TResult? VisitNumeric<TResult>(Array data, INumericFunc<TResult> f)
    {
        Type t = data.GetType();
        if (t == typeof(float[])) return f.Invoke((float[])data);
        if (t == typeof(double[])) return f.Invoke((double[])data);
        if (t == typeof(Half[])) return f.Invoke((Half[])data);
        if (t == typeof(long[])) return f.Invoke((long[])data);
        if (t == typeof(int[])) return f.Invoke((int[])data);
        if (t == typeof(short[])) return f.Invoke((short[])data);
        if (t == typeof(sbyte[])) return f.Invoke((sbyte[])data);
        if (t == typeof(ulong[])) return f.Invoke((ulong[])data);
        if (t == typeof(uint[])) return f.Invoke((uint[])data);
        if (t == typeof(ushort[])) return f.Invoke((ushort[])data);
        if (t == typeof(byte[])) return f.Invoke((byte[])data);
        return default;
    }

    /// <summary>A new array of the same element type with <c>result[i] = data[map[i]]</c>.</summary>
    public static Array Take(Array data, int[] map) => Visit(data, new TakeFunc(map));

    /// <summary>A tensor of the same type gathered through <paramref name="map"/> into <paramref name="dims"/>.</summary>
    public static HostTensor Take(HostTensor t, int[] map, long[] dims) => new(t.DataType, dims, Take(t.Data, map));

    /// <summary>The arrays (all of the same element type) joined end to end.</summary>
    public static Array Join(IReadOnlyList<Array> parts)
    {
        int total = parts.Sum(p => p.Length);
        Array result = Array.CreateInstance(parts[0].GetType().GetElementType()!, total);
        int at = 0;
        foreach (Array p in parts)
        {
            Array.Copy(p, 0, result, at, p.Length);
            at += p.Length;
        }
        return result;
    }

    /// <summary>An array of <paramref name="count"/> copies of <c>data[0]</c>.</summary>
    public static Array Fill(Array data, int count) => Take(data, new int[count]);

    /// <summary>Reads an int32 or int64 tensor as longs; declines for other types.</summary>
    public static long[] ToLongs(HostTensor t, string what) => t.DataType switch
    {
        OnnxDataType.Int64 => (long[])t.Data,
        OnnxDataType.Int32 => ((int[])t.Data).Select(v => (long)v).ToArray(),
        _ => throw new FoldDeclinedException($"{what} must be int32 or int64, not {OnnxDataType.Name(t.DataType)}"),
    };

    /// <summary>Reads element 0 of a numeric tensor as a double (for scalars such as Clip bounds).</summary>
    public static double ScalarAsDouble(HostTensor t, string what) => VisitNumeric(t, new FirstAsDouble(what), what);

    private sealed class ElementAsNumeric<TResult>(IElementFunc<TResult> f) : INumericFunc<TResult>
    {
        public TResult Invoke<T>(T[] data) where T : unmanaged, INumber<T> => f.Invoke(data);
    }

    private sealed class TakeFunc(int[] map) : IElementFunc<Array>
    {
        public Array Invoke<T>(T[] data)
        {
            var result = new T[map.Length];
            for (int i = 0; i < map.Length; i++) result[i] = data[map[i]];
            return result;
        }
    }

    private sealed class FirstAsDouble(string what) : INumericFunc<double>
    {
        public double Invoke<T>(T[] data) where T : unmanaged, INumber<T> =>
            data.Length == 1 ? double.CreateTruncating(data[0]) : throw new FoldDeclinedException($"{what} must have one element, not {data.Length}");
    }
}

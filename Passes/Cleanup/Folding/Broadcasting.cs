using System.Numerics;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>A binary arithmetic operator on one numeric element type.</summary>
internal interface IBinaryOp
{
    static abstract T Apply<T>(T x, T y) where T : unmanaged, INumber<T>;
}

/// <summary>A comparison producing bool from two numbers of one type.</summary>
internal interface ICompareOp
{
    static abstract bool Apply<T>(T x, T y) where T : unmanaged, INumber<T>;
}

/// <summary>
/// Numpy-style multidirectional broadcasting, implemented once for every elementwise kernel: a plan holds
/// the output shape and, per input, the flat index of the input element feeding each output element.
/// </summary>
internal sealed class Broadcasting
{
    private Broadcasting(long[] dims, int[][] maps)
    {
        Dims = dims;
        Maps = maps;
    }

    /// <summary>The broadcast output shape.</summary>
    public long[] Dims { get; }

    /// <summary>Per input, output flat index → input flat index.</summary>
    public int[][] Maps { get; }

    /// <summary>Plans broadcasting of the given tensors; declines when the shapes are incompatible.</summary>
    public static Broadcasting Plan(params HostTensor[] inputs)
    {
        long[] dims = Shapes.Broadcast(inputs.Select(t => (IReadOnlyList<long>)t.Dims).ToArray());
        return new Broadcasting(dims, inputs.Select(t => Shapes.BroadcastMap(t.Dims, dims)).ToArray());
    }

    /// <summary>Elementwise <typeparamref name="TOp"/> of two numeric tensors of one type, broadcast.</summary>
    public static HostTensor Arithmetic<TOp>(EvalContext ctx, HostTensor a, HostTensor b) where TOp : IBinaryOp
    {
        ctx.RequireSameType([a, b]);
        Broadcasting plan = Plan(a, b);
        return new HostTensor(a.DataType, plan.Dims, Elements.VisitNumeric(a, new ArithmeticFunc<TOp>(b, plan), $"'{ctx.OpType}'"));
    }

    /// <summary>Elementwise <typeparamref name="TOp"/> comparison of two numeric tensors of one type, broadcast, giving bool.</summary>
    public static HostTensor Compare<TOp>(EvalContext ctx, HostTensor a, HostTensor b) where TOp : ICompareOp
    {
        ctx.RequireSameType([a, b]);
        Broadcasting plan = Plan(a, b);
        return new HostTensor(OnnxDataType.Bool, plan.Dims, Elements.VisitNumeric(a, new CompareFunc<TOp>(b, plan), $"'{ctx.OpType}'"));
    }

    /// <summary>Elementwise function of two tensors of any (shared) element type, broadcast.</summary>
    public static TOut[] Combine<TIn, TOut>(TIn[] a, TIn[] b, Broadcasting plan, Func<TIn, TIn, TOut> f)
    {
        int[] ma = plan.Maps[0], mb = plan.Maps[1];
        var result = new TOut[ma.Length];
        for (int i = 0; i < result.Length; i++) result[i] = f(a[ma[i]], b[mb[i]]);
        return result;
    }

    private sealed class ArithmeticFunc<TOp>(HostTensor b, Broadcasting plan) : INumericFunc<Array> where TOp : IBinaryOp
    {
        public Array Invoke<T>(T[] x) where T : unmanaged, INumber<T>
        {
            var y = (T[])b.Data;
            int[] mx = plan.Maps[0], my = plan.Maps[1];
            var result = new T[mx.Length];
            for (int i = 0; i < result.Length; i++) result[i] = TOp.Apply(x[mx[i]], y[my[i]]);
            return result;
        }
    }

    private sealed class CompareFunc<TOp>(HostTensor b, Broadcasting plan) : INumericFunc<Array> where TOp : ICompareOp
    {
        public Array Invoke<T>(T[] x) where T : unmanaged, INumber<T>
        {
            var y = (T[])b.Data;
            int[] mx = plan.Maps[0], my = plan.Maps[1];
            var result = new bool[mx.Length];
            for (int i = 0; i < result.Length; i++) result[i] = TOp.Apply(x[mx[i]], y[my[i]]);
            return result;
        }
    }
}

using System.Numerics;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>Broadcasting kernels that produce or consume bool: comparisons, And/Or/Xor/Not, Where.</summary>
internal static class CompareKernels
{
    public static HostTensor[] Equal(EvalContext ctx)
    {
        HostTensor a = ctx.Input(0), b = ctx.Input(1);
        ctx.RequireSameType([a, b]);
        if (a.DataType == OnnxDataType.Bool && a.Data is bool[] ab)
            return [Bool(Broadcasting.Plan(a, b), p => Broadcasting.Combine(ab, (bool[])b.Data, p, (x, y) => x == y))];
        if (a.DataType == OnnxDataType.String && a.Data is string[] sa)
            return [Bool(Broadcasting.Plan(a, b), p => Broadcasting.Combine(sa, (string[])b.Data, p, string.Equals))];
        return [Broadcasting.Compare<EqualOp>(ctx, a, b)];
    }

    public static HostTensor[] Less(EvalContext ctx) => [Broadcasting.Compare<LessOp>(ctx, ctx.Input(0), ctx.Input(1))];

    public static HostTensor[] Greater(EvalContext ctx) => [Broadcasting.Compare<GreaterOp>(ctx, ctx.Input(0), ctx.Input(1))];

    public static HostTensor[] LessOrEqual(EvalContext ctx) => [Broadcasting.Compare<LessOrEqualOp>(ctx, ctx.Input(0), ctx.Input(1))];

    public static HostTensor[] GreaterOrEqual(EvalContext ctx) => [Broadcasting.Compare<GreaterOrEqualOp>(ctx, ctx.Input(0), ctx.Input(1))];

    public static HostTensor[] And(EvalContext ctx) => [Logic(ctx, (x, y) => x & y)];

    public static HostTensor[] Or(EvalContext ctx) => [Logic(ctx, (x, y) => x | y)];

    public static HostTensor[] Xor(EvalContext ctx) => [Logic(ctx, (x, y) => x ^ y)];

    public static HostTensor[] Not(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        EvalContext.RequireType(x, "'Not'", OnnxDataType.Bool);
        return [new HostTensor(OnnxDataType.Bool, x.Dims, ((bool[])x.Data).Select(v => !v).ToArray())];
    }

    public static HostTensor[] Where(EvalContext ctx)
    {
        HostTensor c = ctx.Input(0), x = ctx.Input(1), y = ctx.Input(2);
        EvalContext.RequireType(c, "Where's condition", OnnxDataType.Bool);
        ctx.RequireSameType([x, y]);
        Broadcasting plan = Broadcasting.Plan(c, x, y);
        return [new HostTensor(x.DataType, plan.Dims, Elements.Visit(x.Data, new WhereFunc((bool[])c.Data, y.Data, plan)))];
    }

    private static HostTensor Logic(EvalContext ctx, Func<bool, bool, bool> f)
    {
        HostTensor a = ctx.Input(0), b = ctx.Input(1);
        EvalContext.RequireType(a, $"'{ctx.OpType}'", OnnxDataType.Bool);
        EvalContext.RequireType(b, $"'{ctx.OpType}'", OnnxDataType.Bool);
        return Bool(Broadcasting.Plan(a, b), p => Broadcasting.Combine((bool[])a.Data, (bool[])b.Data, p, f));
    }

    private static HostTensor Bool(Broadcasting plan, Func<Broadcasting, bool[]> compute) =>
        new(OnnxDataType.Bool, plan.Dims, compute(plan));

    private sealed class WhereFunc(bool[] c, Array y, Broadcasting plan) : IElementFunc<Array>
    {
        public Array Invoke<T>(T[] x)
        {
            var yy = (T[])y;
            int[] mc = plan.Maps[0], mx = plan.Maps[1], my = plan.Maps[2];
            var result = new T[mc.Length];
            for (int i = 0; i < result.Length; i++) result[i] = c[mc[i]] ? x[mx[i]] : yy[my[i]];
            return result;
        }
    }

    private struct EqualOp : ICompareOp
    {
        public static bool Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x == y;
    }

    private struct LessOp : ICompareOp
    {
        public static bool Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x < y;
    }

    private struct GreaterOp : ICompareOp
    {
        public static bool Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x > y;
    }

    private struct LessOrEqualOp : ICompareOp
    {
        public static bool Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x <= y;
    }

    private struct GreaterOrEqualOp : ICompareOp
    {
        public static bool Apply<T>(T x, T y) where T : unmanaged, INumber<T> => x >= y;
    }
}

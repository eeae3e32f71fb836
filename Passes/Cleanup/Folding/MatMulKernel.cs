using System.Numerics;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>
/// MatMul with numpy semantics: 1-D operands are promoted (and the added axis removed), batch dimensions
/// broadcast. Each output is a sequential sum over k of a*b in the element type (separate multiply and add,
/// no FMA). float16 and the 8/16-bit integer types decline.
/// </summary>
internal static class MatMulKernel
{
    public static HostTensor[] MatMul(EvalContext ctx)
    {
        HostTensor a = ctx.Input(0), b = ctx.Input(1);
        ctx.RequireSameType([a, b]);
        EvalContext.RequireType(a, "'MatMul'", OnnxDataType.Float, OnnxDataType.Double, OnnxDataType.Int32,
            OnnxDataType.Int64, OnnxDataType.UInt32, OnnxDataType.UInt64);
        if (a.Rank == 0 || b.Rank == 0) throw new FoldDeclinedException("MatMul operands must have rank >= 1");
        long[] ad = a.Rank == 1 ? [1, a.Dims[0]] : a.Dims;
        long[] bd = b.Rank == 1 ? [b.Dims[0], 1] : b.Dims;
        long m = ad[^2], k = ad[^1], n = bd[^1];
        if (bd[^2] != k) throw new FoldDeclinedException($"MatMul shapes {Shapes.Format(a.Dims)} and {Shapes.Format(b.Dims)} do not match");
        long[] batch = Shapes.Broadcast(ad[..^2], bd[..^2]);
        // Map each batch index to the starting flat index of the matching A and B matrices.
        int[] aBatch = Shapes.BroadcastMap(ad[..^2], batch);
        int[] bBatch = Shapes.BroadcastMap(bd[..^2], batch);
        var plan = new Plan(aBatch, bBatch, (int)m, (int)k, (int)n);
        var dims = new List<long>(batch);
        if (a.Rank > 1) dims.Add(m);
        if (b.Rank > 1) dims.Add(n);
        Shapes.Count([.. batch, m, n]);
        Array result = Elements.VisitNumeric(a, new MatMulFunc(b.Data, plan), "'MatMul'");
        return [new HostTensor(a.DataType, [.. dims], result)];
    }

    private sealed record Plan(int[] ABatch, int[] BBatch, int M, int K, int N);

    private sealed class MatMulFunc(Array bData, Plan p) : INumericFunc<Array>
    {
        public Array Invoke<T>(T[] a) where T : unmanaged, INumber<T>
        {
            var b = (T[])bData;
            int m = p.M, k = p.K, n = p.N;
            var c = new T[p.ABatch.Length * m * n];
            for (int batch = 0; batch < p.ABatch.Length; batch++)
            {
                int aOff = p.ABatch[batch] * m * k, bOff = p.BBatch[batch] * k * n, cOff = batch * m * n;
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        T sum = T.Zero;
                        for (int t = 0; t < k; t++)
                        {
                            T prod = a[aOff + i * k + t] * b[bOff + t * n + j];
                            sum += prod;
                        }
                        c[cOff + i * n + j] = sum;
                    }
                }
            }
            return c;
        }
    }
}

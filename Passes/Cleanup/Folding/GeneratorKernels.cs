using System.Numerics;
using OnnxRev.Schema;

namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>Kernels whose output is generated rather than computed per element: ConstantOfShape, Range, NonZero.</summary>
internal static class GeneratorKernels
{
    public static HostTensor[] ConstantOfShape(EvalContext ctx)
    {
        long[] dims = Elements.ToLongs(ctx.Input(0), "the shape input");
        HostTensor value = HostTensor.Scalar(0f);
        if (ctx.Tensor("value") is TensorProto proto)
        {
            if (!HostTensor.TryFromProto(proto, out HostTensor? v, out string why))
                throw new FoldDeclinedException($"the value attribute cannot be read: {why}");
            if (v.ElementCount != 1) throw new FoldDeclinedException("the value attribute must hold one element");
            if (v.DataType == OnnxDataType.BFloat16) throw new FoldDeclinedException("bfloat16 values are not folded");
            value = v;
        }
        return [new HostTensor(value.DataType, dims, Elements.Fill(value.Data, Shapes.Count(dims)))];
    }

    /// <summary>Range as ONNX Runtime computes it: n = max(ceil((limit - start) / delta), 0) with the difference
    /// taken in the input type and the division in double; element i is start + delta added i times.</summary>
    public static HostTensor[] Range(EvalContext ctx)
    {
        HostTensor start = ctx.Input(0), limit = ctx.Input(1), delta = ctx.Input(2);
        ctx.RequireSameType([start, limit, delta]);
        EvalContext.RequireType(start, "'Range'", OnnxDataType.Float, OnnxDataType.Double, OnnxDataType.Int16, OnnxDataType.Int32, OnnxDataType.Int64);
        if (start.ElementCount != 1 || limit.ElementCount != 1 || delta.ElementCount != 1)
            throw new FoldDeclinedException("start, limit and delta must be scalars");
        Array data = Elements.VisitNumeric(start, new RangeFunc(limit.Data, delta.Data), "'Range'");
        return [new HostTensor(start.DataType, [data.Length], data)];
    }

    public static HostTensor[] NonZero(EvalContext ctx)
    {
        HostTensor x = ctx.Input(0);
        if (x.Rank == 0) throw new FoldDeclinedException("NonZero of a scalar is not folded");
        bool[] nonzero = x.DataType == OnnxDataType.Bool ? (bool[])x.Data : Elements.VisitNumeric(x, new NonZeroFunc(), "'NonZero'");
        int count = nonzero.Count(v => v);
        int rank = x.Rank;
        var result = new long[(long)rank * count];
        var idx = new long[rank];
        int at = 0;
        for (int i = 0; i < nonzero.Length; i++)
        {
            if (nonzero[i])
            {
                for (int k = 0; k < rank; k++) result[k * count + at] = idx[k];
                at++;
            }
            for (int k = rank - 1; k >= 0 && ++idx[k] == x.Dims[k]; k--) idx[k] = 0;
        }
        return [new HostTensor(OnnxDataType.Int64, [rank, count], result)];
    }

    private sealed class RangeFunc(Array limit, Array delta) : INumericFunc<Array>
    {
        public Array Invoke<T>(T[] start) where T : unmanaged, INumber<T>
        {
            T s = start[0], l = ((T[])limit)[0], d = ((T[])delta)[0];
            if (d == T.Zero) throw new FoldDeclinedException("delta is 0");
            double steps = Math.Ceiling(double.CreateTruncating(l - s) / double.CreateTruncating(d));
            if (double.IsNaN(steps)) throw new FoldDeclinedException("the element count is NaN");
            long n = (long)Math.Max(steps, 0);
            if (n > Shapes.MaxElements) throw new FoldDeclinedException($"{n} elements exceeds {Shapes.MaxElements}");
            var result = new T[n];
            T v = s;
            for (long i = 0; i < n; i++)
            {
                result[i] = v;
                v += d;
            }
            return result;
        }
    }

    private sealed class NonZeroFunc : INumericFunc<bool[]>
    {
        public bool[] Invoke<T>(T[] data) where T : unmanaged, INumber<T> => Array.ConvertAll(data, v => v != T.Zero);
    }
}

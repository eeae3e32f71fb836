using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Shape rules of operators whose output shape comes from attributes or input values: Constant, Shape, Size, ConstantOfShape, Range, NonZero, Resize.</summary>
internal static class SourceShapes
{
    public static void Register(Dictionary<string, InferenceRule> r)
    {
        r["Constant"] = Constant;
        r["Shape"] = c =>
        {
            var x = c.Shape(0);
            c.SetOutput(0, (int)DT.Int64, x is null ? new[] { Dim.Unknown } : new[] { Dim.Of(ShapeRange(c, x.Length).Count) });
        };
        r["Size"] = c => c.SetOutput(0, (int)DT.Int64, Array.Empty<Dim>());
        r["ConstantOfShape"] = c =>
        {
            var value = c.Node.Attributes.Find("value")?.TensorValue;
            c.SetOutput(0, value?.DataType ?? (int)DT.Float, LayoutShapes.ShapeArgument(c, 0));
        };
        r["Range"] = Range;
        r["NonZero"] = c => c.SetOutput(0, (int)DT.Int64, c.Shape(0) is { } x ? new[] { Dim.Of(x.Length), Dim.Unknown } : new[] { Dim.Unknown, Dim.Unknown });
        r["Resize"] = Resize;
        r["Upsample"] = c => c.SetOutput(0, c.Type(0), c.Shape(0)?.Select(_ => Dim.Unknown).ToArray());
    }

    /// <summary>The first dimension and count Shape returns for a tensor of rank <paramref name="rank"/> (opset 15 start/end).</summary>
    internal static (int First, int Count) ShapeRange(NodeContext c, int rank)
    {
        long start = c.Int("start", 0), end = c.Int("end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = Math.Clamp(start, 0, rank);
        end = Math.Clamp(end, 0, rank);
        return ((int)start, (int)Math.Max(0, end - start));
    }

    private static void Constant(NodeContext c)
    {
        var tensor = ConstantsToInitializers.ToTensor(c.Node);
        if (tensor is null) return;
        c.SetOutput(0, tensor.DataType, Dim.FromValues(tensor.Dims));
    }

    private static void Range(NodeContext c)
    {
        int type = c.Type(0);
        var start = c.Ints(0);
        var limit = c.Ints(1);
        var delta = c.Ints(2);
        if (start is not { Length: 1 } || limit is not { Length: 1 } || delta is not { Length: 1 } || delta[0] == 0)
        {
            c.SetOutput(0, type, new[] { Dim.Unknown });
            return;
        }
        long n = Math.Max(0, (long)Math.Ceiling((limit[0] - start[0]) / (double)delta[0]));
        c.SetOutput(0, type, new[] { Dim.Of(n) });
    }

    private static void Resize(NodeContext c)
    {
        var x = c.Shape(0);
        if (x is null) { c.SetOutput(0, c.Type(0), null); return; }
        // sizes (input 3) when known and covering every axis; scales are floating point and left unknown.
        var sizes = c.Node.Attributes.Find("axes") is null && c.Has(3) ? c.Data(3) : null;
        c.SetOutput(0, c.Type(0), sizes is not null && sizes.Length == x.Length ? sizes : x.Select(_ => Dim.Unknown).ToArray());
    }
}

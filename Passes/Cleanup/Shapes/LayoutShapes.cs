namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>Shape rules of operators that rearrange a tensor: Reshape, Transpose, Concat, Unsqueeze, Squeeze, Expand, Tile.</summary>
internal static class LayoutShapes
{
    public static void Register(Dictionary<string, InferenceRule> r)
    {
        r["Reshape"] = c => c.SetOutput(0, c.Type(0), Reshape(c.Shape(0), ShapeArgument(c, 1), c.Int("allowzero", 0) != 0));
        r["Transpose"] = Transpose;
        r["Concat"] = Concat;
        r["Unsqueeze"] = Unsqueeze;
        r["Squeeze"] = Squeeze;
        r["Expand"] = c => c.SetOutput(0, c.Type(0), Broadcast.Shapes(c.Shape(0), ShapeArgument(c, 1)));
        r["Tile"] = Tile;
    }

    /// <summary>
    /// The elements of a 1-D shape operand: its tracked values, or as many unknowns as its length
    /// when only that is known; null when not even the length is known.
    /// </summary>
    internal static Dim[]? ShapeArgument(NodeContext c, int input)
    {
        if (c.Data(input) is { } d) return d;
        return c.Shape(input) is { Length: 1 } s && s[0].IsKnown ? new Dim[s[0].Value] : null;
    }

    /// <summary>
    /// Reshape's output: 0 copies the input's dimension (unless allowzero), -1 is solved from the
    /// element count, symbols cancel where input and target share them.
    /// </summary>
    internal static Dim[]? Reshape(Dim[]? input, Dim[]? target, bool allowZero)
    {
        if (target is null) return null;
        var output = new Dim[target.Length];
        int inferred = -1;
        for (int i = 0; i < target.Length; i++)
        {
            var t = target[i];
            if (t.Is(0) && !allowZero) output[i] = input is not null && i < input.Length ? input[i] : Dim.Unknown;
            else if (t.Is(-1)) { if (inferred >= 0) return null; inferred = i; output[i] = Dim.Unknown; }
            else output[i] = t.IsKnown && t.Value < 0 ? Dim.Unknown : t;
        }
        if (inferred >= 0 && input is not null) output[inferred] = Quotient(input, output.Where((_, i) => i != inferred));
        return output;
    }

    /// <summary>product(numerator) / product(denominator) over known values and symbols; unknown unless it resolves.</summary>
    private static Dim Quotient(IEnumerable<Dim> numerator, IEnumerable<Dim> denominator)
    {
        long num = 1, den = 1;
        var symbols = new List<string>();
        foreach (var d in numerator)
        {
            if (d.IsKnown) num *= d.Value;
            else if (d.IsSymbol) symbols.Add(d.Symbol!);
            else return Dim.Unknown;
        }
        foreach (var d in denominator)
        {
            if (d.IsKnown) den *= d.Value;
            else if (d.IsSymbol && symbols.Remove(d.Symbol!)) continue;
            else return Dim.Unknown;
        }
        if (den == 0 || num % den != 0) return Dim.Unknown;
        long q = num / den;
        if (symbols.Count == 0) return Dim.Of(q);
        return symbols.Count == 1 && q == 1 ? Dim.Named(symbols[0]) : Dim.Unknown;
    }

    private static void Transpose(NodeContext c)
    {
        var x = c.Shape(0);
        if (x is null) { c.SetOutput(0, c.Type(0), null); return; }
        var perm = c.IntList("perm")?.ToArray() ?? Enumerable.Range(0, x.Length).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != x.Length) return;
        c.SetOutput(0, c.Type(0), perm.Select(p => x[NodeContext.Axis(p, x.Length)]).ToArray());
    }

    private static void Concat(NodeContext c)
    {
        int type = Enumerable.Range(0, c.InputCount).Select(c.Type).FirstOrDefault(t => t != 0);
        var shapes = Enumerable.Range(0, c.InputCount).Where(c.Has).Select(c.Shape).ToList();
        var first = shapes.FirstOrDefault(s => s is not null);
        if (first is null) { c.SetOutput(0, type, null); return; }
        int rank = first.Length;
        int axis = NodeContext.Axis(c.Int("axis", 0), rank);
        if (axis < 0) return;
        var output = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            if (i == axis)
            {
                Dim sum = Dim.Of(0);
                foreach (var s in shapes) sum = s is null || s.Length != rank ? Dim.Unknown : sum + s[i];
                output[i] = sum;
                continue;
            }
            // All inputs agree off the axis: take whichever says most.
            Dim best = Dim.Unknown;
            foreach (var s in shapes)
                if (s is not null && s.Length == rank && (s[i].IsKnown || (best.IsUnknown && s[i].IsSymbol))) best = s[i];
            output[i] = best;
        }
        c.SetOutput(0, type, output);
    }

    private static void Unsqueeze(NodeContext c)
    {
        var x = c.Shape(0);
        var axes = c.AttrOrInput("axes", 1, out _);
        if (x is null || axes is null) { c.SetOutput(0, c.Type(0), null); return; }
        int rank = x.Length + axes.Length;
        var isNew = new bool[rank];
        foreach (var a in axes)
        {
            int n = NodeContext.Axis(a, rank);
            if (n < 0 || isNew[n]) return;
            isNew[n] = true;
        }
        var output = new Dim[rank];
        for (int i = 0, j = 0; i < rank; i++) output[i] = isNew[i] ? Dim.Of(1) : x[j++];
        c.SetOutput(0, c.Type(0), output);
    }

    private static void Squeeze(NodeContext c)
    {
        var x = c.Shape(0);
        var axes = c.AttrOrInput("axes", 1, out bool given);
        if (x is null || (given && axes is null)) { c.SetOutput(0, c.Type(0), null); return; }
        if (!given)
        {
            // Every dimension of size 1 goes; only decidable when no dimension might be 1.
            if (x.Any(d => !d.IsKnown)) { c.SetOutput(0, c.Type(0), null); return; }
            c.SetOutput(0, c.Type(0), x.Where(d => !d.Is(1)).ToArray());
            return;
        }
        var drop = new HashSet<int>(axes!.Select(a => NodeContext.Axis(a, x.Length)));
        if (drop.Contains(-1)) return;
        c.SetOutput(0, c.Type(0), x.Where((_, i) => !drop.Contains(i)).ToArray());
    }

    private static void Tile(NodeContext c)
    {
        var x = c.Shape(0);
        var repeats = c.Data(1);
        if (x is null) { c.SetOutput(0, c.Type(0), null); return; }
        if (repeats is null || repeats.Length != x.Length) { c.SetOutput(0, c.Type(0), x.Select(_ => Dim.Unknown).ToArray()); return; }
        c.SetOutput(0, c.Type(0), x.Select((d, i) => d * repeats[i]).ToArray());
    }
}

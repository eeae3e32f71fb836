namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>
/// One dimension (or one element of a shape tensor): a known integer, a named symbol (an ONNX
/// dim_param such as "n", standing for one fixed but unknown size), or unknown. Two equal symbols
/// denote the same size; two unknowns are never assumed equal.
/// </summary>
public readonly struct Dim : IEquatable<Dim>
{
    private readonly long _value;

    private Dim(long value, string? symbol, bool known)
    {
        _value = value;
        Symbol = symbol;
        IsKnown = known;
    }

    /// <summary>The unknown dimension.</summary>
    public static Dim Unknown => default;

    /// <summary>A known dimension or element value.</summary>
    public static Dim Of(long value) => new(value, null, true);

    /// <summary>A named symbolic dimension; an empty name gives <see cref="Unknown"/>.</summary>
    public static Dim Named(string symbol) => string.IsNullOrEmpty(symbol) ? Unknown : new Dim(0, symbol, false);

    /// <summary>True when the value is a known integer.</summary>
    public bool IsKnown { get; }

    /// <summary>The symbol's name, or null when the dimension is known or unknown.</summary>
    public string? Symbol { get; }

    /// <summary>True for a named symbol.</summary>
    public bool IsSymbol => Symbol is not null;

    /// <summary>True when nothing is known about the dimension.</summary>
    public bool IsUnknown => !IsKnown && Symbol is null;

    /// <summary>The known value; throws when the dimension is not known.</summary>
    public long Value => IsKnown ? _value : throw new InvalidOperationException($"dimension {this} is not a known value");

    /// <summary>True when the dimension is known and equals <paramref name="v"/>.</summary>
    public bool Is(long v) => IsKnown && _value == v;

    /// <summary>True when both denote the same size for certain: equal known values or the same symbol.</summary>
    public bool SameAs(Dim other) => IsKnown ? other.IsKnown && other._value == _value : Symbol is not null && Symbol == other.Symbol;

    /// <summary>True when every dimension in <paramref name="dims"/> is known.</summary>
    public static bool AllKnown(IEnumerable<Dim> dims) => dims.All(d => d.IsKnown);

    /// <summary>The known values of <paramref name="dims"/>; null when any is not known.</summary>
    public static long[]? Values(IReadOnlyList<Dim> dims)
    {
        var r = new long[dims.Count];
        for (int i = 0; i < r.Length; i++)
        {
            if (!dims[i].IsKnown) return null;
            r[i] = dims[i]._value;
        }
        return r;
    }

    /// <summary>Known dimensions from integers.</summary>
    public static Dim[] FromValues(IEnumerable<long> values) => values.Select(Of).ToArray();

    /// <summary>Product of the dimensions when all are known, else null.</summary>
    public static long? Product(IEnumerable<Dim> dims)
    {
        long p = 1;
        foreach (var d in dims)
        {
            if (!d.IsKnown) return null;
            p *= d._value;
        }
        return p;
    }

    /// <summary>Sum; x + 0 keeps a symbol.</summary>
    public static Dim operator +(Dim a, Dim b) =>
        a.IsKnown && b.IsKnown ? Of(a._value + b._value) : b.Is(0) ? a : a.Is(0) ? b : Unknown;

    /// <summary>Difference; x - 0 keeps a symbol and x - x is 0.</summary>
    public static Dim operator -(Dim a, Dim b) =>
        a.IsKnown && b.IsKnown ? Of(a._value - b._value) : b.Is(0) ? a : a.IsSymbol && a.SameAs(b) ? Of(0) : Unknown;

    /// <summary>Product; x * 1 keeps a symbol and x * 0 is 0.</summary>
    public static Dim operator *(Dim a, Dim b) =>
        a.IsKnown && b.IsKnown ? Of(a._value * b._value) : b.Is(1) ? a : a.Is(1) ? b : a.Is(0) || b.Is(0) ? Of(0) : Unknown;

    /// <summary>Integer division truncating toward zero (as ONNX Div on integers); x / 1 keeps a symbol, x / x is 1.</summary>
    public static Dim operator /(Dim a, Dim b)
    {
        if (a.IsKnown && b.IsKnown) return b._value == 0 ? Unknown : Of(a._value / b._value);
        if (b.Is(1)) return a;
        return a.IsSymbol && a.SameAs(b) ? Of(1) : Unknown;
    }

    /// <inheritdoc/>
    public bool Equals(Dim other) => IsKnown == other.IsKnown && _value == other._value && Symbol == other.Symbol;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Dim d && Equals(d);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(IsKnown, _value, Symbol);

    /// <summary>Structural equality (unknown equals unknown here; use <see cref="SameAs"/> for size equality).</summary>
    public static bool operator ==(Dim a, Dim b) => a.Equals(b);

    /// <summary>Structural inequality.</summary>
    public static bool operator !=(Dim a, Dim b) => !a.Equals(b);

    /// <summary>A known value from an integer.</summary>
    public static implicit operator Dim(long value) => Of(value);

    /// <inheritdoc/>
    public override string ToString() => IsKnown ? _value.ToString(System.Globalization.CultureInfo.InvariantCulture) : Symbol ?? "?";

    /// <summary>A shape written as [a,b,?], for messages and tests.</summary>
    public static string Format(IEnumerable<Dim>? dims) => dims is null ? "<unknown rank>" : "[" + string.Join(",", dims) + "]";
}

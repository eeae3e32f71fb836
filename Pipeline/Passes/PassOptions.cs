using System.Globalization;

namespace OnnxRev.Passes;

/// <summary>An option a pass accepts (on the command line as <c>--NAME VALUE</c>, in a recipe as <c>"NAME": VALUE</c>).</summary>
public sealed record PassOptionSpec(string Name, string Help, string ValueName = "VALUE", bool TakesValue = true);

/// <summary>
/// The option values given to one pass, with typed accessors that name the option at fault
/// (bad values are <see cref="OnnxRevException"/>: exit code 2).
/// </summary>
public sealed class PassOptions
{
    private readonly IReadOnlyDictionary<string, string?> _values;

    /// <summary>No options: every pass's defaults.</summary>
    public static readonly PassOptions Empty = new(new Dictionary<string, string?>());

    /// <summary>Options from name → value (null value = a flag that was given).</summary>
    public PassOptions(IReadOnlyDictionary<string, string?> values) => _values = values;

    /// <summary>Every option given (name → value).</summary>
    public IReadOnlyDictionary<string, string?> Values => _values;

    /// <summary>True when the option was given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>The raw value, or null.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>A number within [min, max], or <paramref name="fallback"/> when absent.</summary>
    public double GetDouble(string name, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        var s = Get(name);
        if (s is null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || double.IsNaN(v) || v < min || v > max)
            throw new OnnxRevException($"option '--{name}' must be a number{Range(min, max)}, got '{s}'");
        return v;
    }

    /// <summary>An integer within [min, max], or <paramref name="fallback"/> when absent.</summary>
    public int GetInt(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        var s = Get(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new OnnxRevException($"option '--{name}' must be an integer{Range(min, max)}, got '{s}'");
        return v;
    }

    /// <summary>One of <paramref name="choices"/>, or <paramref name="fallback"/> when absent.</summary>
    public string GetChoice(string name, string fallback, params string[] choices)
    {
        var s = Get(name) ?? fallback;
        if (!choices.Contains(s)) throw new OnnxRevException($"option '--{name}' must be one of {string.Join(", ", choices)}, got '{s}'");
        return s;
    }

    /// <summary>A comma-separated list (empty when absent).</summary>
    public IReadOnlyList<string> GetList(string name) =>
        (Get(name) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Range(double min, double max) =>
        (min > double.MinValue && min > int.MinValue, max < double.MaxValue && max < int.MaxValue) switch
        {
            (true, true) => string.Create(CultureInfo.InvariantCulture, $" in [{min}, {max}]"),
            (true, false) => string.Create(CultureInfo.InvariantCulture, $" ≥ {min}"),
            (false, true) => string.Create(CultureInfo.InvariantCulture, $" ≤ {max}"),
            _ => "",
        };
}

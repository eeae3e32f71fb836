namespace OnnxRev.Ir;

/// <summary>
/// Hands out value and node names that are unique in the whole model (subgraphs included), as the
/// ONNX spec requires. Names present when the model was read are reserved up front.
/// </summary>
public sealed class NameAuthority
{
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _next = new(StringComparer.Ordinal);

    /// <summary>Marks a name as taken.</summary>
    public void Reserve(string name)
    {
        if (name.Length > 0) _used.Add(name);
    }

    /// <summary>True when the name is taken.</summary>
    public bool IsUsed(string name) => _used.Contains(name);

    /// <summary>A fresh name: <paramref name="hint"/> itself when free, else hint_1, hint_2, …</summary>
    public string Fresh(string hint)
    {
        if (hint.Length == 0) hint = "v";
        if (_used.Add(hint)) return hint;
        _next.TryGetValue(hint, out int i);
        string candidate;
        do { i++; candidate = $"{hint}_{i}"; } while (_used.Contains(candidate));
        _next[hint] = i;
        _used.Add(candidate);
        return candidate;
    }
}

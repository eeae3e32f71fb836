using System.Text.RegularExpressions;
using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff;

/// <summary>
/// Which parameters train. Parameters are the float initializers of rank ≥ 1 in the main graph that
/// are not graph inputs (rank-0 initializers are exporter constants such as √2 in GELU).
/// <list type="bullet">
/// <item><c>all</c>: every parameter;</item>
/// <item><c>regex:PATTERN</c>: parameters whose name matches;</item>
/// <item><c>names:a,b,c</c>: exactly these;</item>
/// <item><c>last:K</c>: the parameters of the last K nodes that read any parameter (in graph order).</item>
/// </list>
/// </summary>
public sealed record TrainableSpec(string Text)
{
    /// <summary>Every parameter.</summary>
    public static TrainableSpec All { get; } = new("all");

    /// <summary>The parameters this spec selects in <paramref name="model"/>, in graph order; fails when none match.</summary>
    public IReadOnlyList<Value> Select(Model model)
    {
        var candidates = Parameters(model);
        IReadOnlyList<Value> chosen;
        if (Text == "all") chosen = candidates;
        else if (Text.StartsWith("regex:", StringComparison.Ordinal))
        {
            Regex re;
            try { re = new Regex(Text[6..], RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
            catch (ArgumentException e) { throw new OnnxRevException($"--trainable '{Text}': invalid regular expression ({e.Message})"); }
            chosen = candidates.Where(v => re.IsMatch(v.Name)).ToList();
        }
        else if (Text.StartsWith("names:", StringComparison.Ordinal))
        {
            var names = Text[6..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var missing = names.Where(n => candidates.All(v => v.Name != n)).ToList();
            if (missing.Count > 0) throw new OnnxRevException($"--trainable names parameters the model does not have: {string.Join(", ", missing)}");
            chosen = candidates.Where(v => names.Contains(v.Name)).ToList();
        }
        else if (Text.StartsWith("last:", StringComparison.Ordinal) && int.TryParse(Text[5..], out int k) && k > 0)
        {
            var set = candidates.ToHashSet();
            var layers = model.Graph.Nodes.Where(n => n.Inputs.Any(i => i is not null && set.Contains(i))).ToList();
            chosen = layers.Skip(Math.Max(0, layers.Count - k)).SelectMany(n => n.Inputs).Where(i => i is not null && set.Contains(i)).Select(i => i!).Distinct().ToList();
        }
        else throw new OnnxRevException($"--trainable '{Text}' is not understood; use all, regex:PATTERN, names:a,b or last:K");
        if (chosen.Count == 0) throw new OnnxRevException($"--trainable '{Text}' selects no parameter of the model");
        return chosen;
    }

    /// <summary>The model's parameters: float initializers of rank ≥ 1 that are not graph inputs, in file order.</summary>
    public static IReadOnlyList<Value> Parameters(Model model) =>
        model.Graph.Initializers.Where(v => v.Initializer is { } t && !v.IsGraphInput && t.Dims.Count >= 1
            && (t.DataType == (int)DT.Float || t.DataType == (int)DT.Double)).ToList();
}

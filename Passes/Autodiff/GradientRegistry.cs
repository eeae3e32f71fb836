using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff;

/// <summary>A gradient rule: reads the node's inputs, outputs and output gradients from the context and sets input gradients.</summary>
public delegate void GradientRule(GradientContext g);

/// <summary>
/// Gradient rules by (domain, op, since-version), registered explicitly in one place
/// (<see cref="StandardGradients"/>), and ops declared not differentiable (their outputs carry no
/// gradient: shapes, indices, comparisons). No reflection scans.
/// </summary>
public sealed class GradientRegistry
{
    private readonly Dictionary<OpKey, SortedList<int, GradientRule?>> _rules = new();
    private readonly HashSet<OpKey> _straightThrough = new();

    /// <summary>
    /// Declares that the (integer) outputs of <paramref name="op"/> carry a gradient, as a straight-through
    /// estimator does: QuantizeLinear's codes, whose gradient its rule passes back to the float input.
    /// </summary>
    public GradientRegistry StraightThrough(OpKey op)
    {
        _straightThrough.Add(op);
        return this;
    }

    /// <summary>True when <paramref name="op"/>'s integer outputs carry a gradient.</summary>
    public bool IsStraightThrough(OpKey op) => _straightThrough.Contains(op);

    /// <summary>Registers a rule for <paramref name="op"/> from opset <paramref name="sinceVersion"/> on.</summary>
    public GradientRegistry Register(OpKey op, int sinceVersion, GradientRule rule)
    {
        Add(op, sinceVersion, rule);
        return this;
    }

    /// <summary>Registers a standard-domain rule.</summary>
    public GradientRegistry Register(string opType, int sinceVersion, GradientRule rule) => Register(OpKey.Onnx(opType), sinceVersion, rule);

    /// <summary>Declares that no gradient flows through <paramref name="opType"/> (from opset <paramref name="sinceVersion"/> on).</summary>
    public GradientRegistry NotDifferentiable(string opType, int sinceVersion = 1)
    {
        Add(OpKey.Onnx(opType), sinceVersion, null);
        return this;
    }

    private void Add(OpKey op, int since, GradientRule? rule)
    {
        if (!_rules.TryGetValue(op, out var versions)) _rules[op] = versions = new SortedList<int, GradientRule?>();
        if (versions.ContainsKey(since)) throw new InvalidOperationException($"gradient for {op} since opset {since} registered twice");
        versions.Add(since, rule);
    }

    /// <summary>Looks up the entry for an op at an opset: found (rule, or null for not differentiable) or not registered.</summary>
    public bool TryGet(OpKey op, int opset, out GradientRule? rule)
    {
        rule = null;
        if (!_rules.TryGetValue(op, out var versions)) return false;
        for (int i = versions.Count - 1; i >= 0; i--)
        {
            if (versions.Keys[i] <= opset) { rule = versions.Values[i]; return true; }
        }
        return false;
    }

    /// <summary>Every registered op (rules and not-differentiable entries).</summary>
    public IEnumerable<OpKey> Ops => _rules.Keys;

    /// <summary>True when the op is registered as not differentiable at some version.</summary>
    public bool IsNotDifferentiable(OpKey op) => _rules.TryGetValue(op, out var v) && v.Values.Any(r => r is null);
}

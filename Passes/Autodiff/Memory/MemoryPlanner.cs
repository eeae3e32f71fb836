using System.Globalization;
using System.Text;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Shapes;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff.Memory;

/// <summary>One strategy's estimate.</summary>
/// <param name="Mode">The strategy.</param>
/// <param name="Available">False where the model has no block the strategy works on (or a block it refuses).</param>
/// <param name="ActivationBytes">Forward activations kept for the backward.</param>
/// <param name="StateBytes">Parameters, gradients, optimizer states and the second copy of parameters and states a functional update holds.</param>
/// <param name="Note">Why the strategy is unavailable, or what the estimate leaves out.</param>
public sealed record MemoryEstimate(MemoryMode Mode, bool Available, long ActivationBytes, long StateBytes, string? Note = null)
{
    /// <summary>Activations plus state.</summary>
    public long TotalBytes => ActivationBytes + StateBytes;
}

/// <summary>What <see cref="MemoryPlanner.Plan"/> chose and why.</summary>
/// <param name="Choice">The chosen strategy.</param>
/// <param name="Fits">True when the choice's estimate is within the budget (always true without a budget).</param>
/// <param name="BudgetBytes">The budget, or null.</param>
/// <param name="Reason">One line saying why.</param>
/// <param name="Estimates">Store, recompute and reversible, in that order (fastest first).</param>
/// <param name="UnsizedValues">Float activations whose size shape inference could not derive (left out of every estimate).</param>
public sealed record MemoryPlan(MemoryMode Choice, bool Fits, long? BudgetBytes, string Reason, IReadOnlyList<MemoryEstimate> Estimates, int UnsizedValues)
{
    /// <summary>The estimate of the chosen strategy.</summary>
    public MemoryEstimate Chosen => Estimates.First(e => e.Mode == Choice);

    /// <summary>The estimate table as text, one line per strategy.</summary>
    public string Table()
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{"strategy",-11} {"activations",14} {"state",14} {"total",14}  note"));
        foreach (var e in Estimates)
        {
            string mark = e.Mode == Choice ? " *" : "";
            sb.AppendLine(e.Available
                ? string.Create(CultureInfo.InvariantCulture, $"{MemoryPlanner.Name(e.Mode),-11} {MemoryPlanner.Format(e.ActivationBytes),14} {MemoryPlanner.Format(e.StateBytes),14} {MemoryPlanner.Format(e.TotalBytes),14}{mark}  {e.Note}")
                : $"{MemoryPlanner.Name(e.Mode),-11} {"-",14} {"-",14} {"-",14}  unavailable: {e.Note}");
        }
        return sb.ToString();
    }
}

/// <summary>
/// Estimates, before anything runs, the bytes a training step keeps at a given batch size under each
/// <see cref="MemoryMode"/>, and picks the fastest one that fits a budget.
/// <list type="bullet">
/// <item>store: every float node output of the forward that depends on the data, except views (Identity,
/// Reshape, Flatten, Squeeze, Unsqueeze) of their input (static shapes from
/// <see cref="ShapeInference"/>, symbolic dims replaced by the batch size) — an upper bound of what
/// the backward reads;</item>
/// <item>recompute: the same minus the interiors of residual branches and coupling F/G (their inputs,
/// which lie outside, stay);</item>
/// <item>reversible: the same minus the interiors and the x1, x2, y1, y2 of every coupling block, plus
/// each coupling stack's outputs (what the backward starts rebuilding from);</item>
/// <item>state, the same for all: parameters × (2 + optimizer states) × 4 (parameters, gradients,
/// states) + parameters × (1 + optimizer states) × 4 (the updated copy a functional step writes
/// before the old one is released).</item>
/// </list>
/// The transient of recomputing one block during the backward, ORT's arena slack and the process
/// itself are not counted. Only reads the model.
/// </summary>
public static class MemoryPlanner
{
    /// <summary>Operators whose output ONNX Runtime keeps as a view of (or alias for) their input: counted once, as the input.</summary>
    private static readonly HashSet<string> Views = new(StringComparer.Ordinal) { "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze" };

    /// <summary>Strategies from fastest to slowest.</summary>
    public static readonly MemoryMode[] ByTime = { MemoryMode.Store, MemoryMode.Recompute, MemoryMode.Reversible };

    /// <summary>
    /// Estimates every strategy for <paramref name="model"/> at batch size <paramref name="batch"/> and picks the fastest
    /// available one whose total fits <paramref name="budgetBytes"/> (store when there is no budget), or, when none fits,
    /// the available one with the smallest total.
    /// </summary>
    /// <param name="model">The forward model (parameters as initializers); not modified.</param>
    /// <param name="batch">Batch size substituted for symbolic dimensions.</param>
    /// <param name="budgetBytes">Bytes the step may use, or null.</param>
    /// <param name="trainable">Which parameters train (default all).</param>
    /// <param name="optimizerStates">Optimizer states per parameter (AdamW 2, SGD with momentum 1, plain SGD 0).</param>
    /// <param name="untie">Shared initializers untied first, as the training graph unties them (they count once per copy).</param>
    public static MemoryPlan Plan(Model model, long batch, long? budgetBytes = null, TrainableSpec? trainable = null, int optimizerStates = 2, UntieMode untie = UntieMode.Constant)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "the batch size must be positive");
        if (untie != UntieMode.None)
        {
            model = TrainingGraphBuilder.Clone(model);
            ParameterUntying.Untie(model, untie);
        }
        var g = model.Graph;
        var info = ShapeInference.Infer(model);
        var statics = new Dictionary<Value, bool>();
        var sizes = new Dictionary<Value, long>();
        int unsized = 0;
        foreach (var n in g.Nodes)
            foreach (var o in n.Outputs)
            {
                if (o.Name.Length == 0 || BlockFinder.IsStatic(o, statics)) continue;
                if (n.IsStandardDomain && Views.Contains(n.OpType)) continue; // the same buffer as the input, not a copy
                info.TryGetType(o, out int elem, out var dims);
                int width = ElementBytes(elem);
                if (width == 0) continue; // not a float activation (or its type is unknown)
                long? count = Elements(dims, batch);
                if (count is null) { unsized++; continue; }
                sizes[o] = count.Value * width;
            }
        long all = sizes.Values.Sum();

        long parameters = (trainable ?? TrainableSpec.All).Select(model).Sum(v => v.Initializer?.ElementCount ?? 0);
        long state = parameters * 4 * (2 + optimizerStates) + parameters * 4 * (1 + optimizerStates);

        var residual = BlockFinder.Residual(g);
        var coupling = BlockFinder.Coupling(g);
        long Sum(IEnumerable<Value> values) => values.Distinct().Sum(v => sizes.GetValueOrDefault(v));
        IEnumerable<Value> Interior(IEnumerable<Node> nodes) => nodes.SelectMany(n => n.Outputs);

        var estimates = new List<MemoryEstimate> { new(MemoryMode.Store, true, all, state) };

        string? recomputeRefused = Refusal(model, MemoryMode.Recompute);
        if (recomputeRefused is null)
        {
            var interior = Interior(residual.SelectMany(r => r.Branch.Nodes).Concat(coupling.SelectMany(c => c.F.Nodes.Concat(c.G.Nodes))));
            estimates.Add(new(MemoryMode.Recompute, true, all - Sum(interior), state,
                $"{residual.Count} residual + {coupling.Count} coupling blocks; one block's interior is recomputed at a time (not counted)"));
        }
        else estimates.Add(new(MemoryMode.Recompute, false, 0, state, recomputeRefused));

        string? reversibleRefused = Refusal(model, MemoryMode.Reversible);
        if (reversibleRefused is null)
        {
            var inputs = coupling.SelectMany(c => new[] { c.X1, c.X2 }).ToHashSet();
            var dropped = Interior(coupling.SelectMany(c => c.F.Nodes.Concat(c.G.Nodes))).Concat(coupling.SelectMany(c => new[] { c.X1, c.X2, c.Y1, c.Y2 })).ToList();
            var stackOutputs = coupling.SelectMany(c => new[] { c.Y1, c.Y2 }).Where(y => !inputs.Contains(y)).ToList();
            estimates.Add(new(MemoryMode.Reversible, true, all - Sum(dropped) + Sum(stackOutputs), state,
                $"{coupling.Count} coupling blocks, {stackOutputs.Count / 2} stack(s)"));
        }
        else estimates.Add(new(MemoryMode.Reversible, false, 0, state, reversibleRefused));

        var available = estimates.Where(e => e.Available).ToList();
        MemoryEstimate chosen;
        bool fits;
        string reason;
        if (budgetBytes is not long budget)
        {
            chosen = available[0];
            fits = true;
            reason = "no budget: the fastest strategy";
        }
        else if (available.FirstOrDefault(e => e.TotalBytes <= budget) is { } first)
        {
            chosen = first;
            fits = true;
            reason = $"the fastest strategy whose estimate ({Format(first.TotalBytes)}) fits the budget of {Format(budget)}";
        }
        else
        {
            chosen = available.OrderBy(e => e.TotalBytes).ThenBy(e => Array.IndexOf(ByTime, e.Mode)).First();
            fits = false;
            reason = $"no strategy fits the budget of {Format(budget)}; the smallest estimate ({Format(chosen.TotalBytes)})";
        }
        return new MemoryPlan(chosen.Mode, fits, budgetBytes, reason, estimates, unsized);
    }

    /// <summary>Why <paramref name="mode"/> cannot train <paramref name="model"/>, or null when it can.</summary>
    private static string? Refusal(Model model, MemoryMode mode)
    {
        try
        {
            ActivationPlan.Create(model, mode);
            return null;
        }
        catch (OnnxRevException e) { return mode == MemoryMode.Reversible && e.Message.Contains("found no", StringComparison.Ordinal) ? "no additive coupling blocks" : mode == MemoryMode.Recompute && e.Message.Contains("found no", StringComparison.Ordinal) ? "no residual or coupling blocks" : e.Message; }
    }

    private static long? Elements(Dim[]? dims, long batch)
    {
        if (dims is null) return null;
        long count = 1;
        foreach (var d in dims)
        {
            if (d.IsKnown) count = checked(count * Math.Max(0, d.Value));
            else if (d.IsSymbol) count = checked(count * batch);
            else return null;
        }
        return count;
    }

    private static int ElementBytes(int elemType) => elemType switch
    {
        (int)DT.Float => 4,
        (int)DT.Double => 8,
        (int)DT.Float16 or (int)DT.Bfloat16 => 2,
        _ => 0,
    };

    /// <summary>The CLI name of a strategy.</summary>
    public static string Name(MemoryMode mode) => mode.ToString().ToLowerInvariant();

    /// <summary>Bytes as text with a binary unit (e.g. "12.5 MiB").</summary>
    public static string Format(long bytes)
    {
        string[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = bytes;
        int u = 0;
        while (Math.Abs(v) >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B") : string.Create(CultureInfo.InvariantCulture, $"{v:F1} {units[u]}");
    }

    /// <summary>
    /// Parses a byte count: plain digits, or a number with a suffix K, M, G or T (binary: 512M = 512 MiB; an optional
    /// trailing B or iB is accepted, e.g. 2GB, 2GiB). Returns null for anything else, zero or negative.
    /// </summary>
    public static long? ParseBytes(string text)
    {
        var s = text.Trim();
        if (s.EndsWith("iB", StringComparison.OrdinalIgnoreCase)) s = s[..^2];
        else if (s.EndsWith('B') || s.EndsWith('b')) s = s[..^1];
        long multiplier = 1;
        if (s.Length > 0 && char.IsLetter(s[^1]))
        {
            multiplier = char.ToUpperInvariant(s[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                _ => 0,
            };
            if (multiplier == 0) return null;
            s = s[..^1];
        }
        if (!double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || value <= 0) return null;
        if (multiplier == 1 && s.Contains('.')) return null; // fractional plain bytes
        double bytes = value * multiplier;
        if (bytes < 1 || bytes > long.MaxValue / 2) return null;
        return (long)bytes;
    }
}

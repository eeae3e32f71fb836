using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff;

/// <summary>Which shared initializers get their own copy per use before training.</summary>
public enum UntieMode
{
    /// <summary>Keep every sharing (tied weights stay tied).</summary>
    None,
    /// <summary>
    /// Untie initializers whose elements are all equal (the ones/zeros of freshly initialized LayerNorm
    /// or BatchNorm layers that exporters merge because their values happen to match); weights with
    /// real values stay tied. The default.
    /// </summary>
    Constant,
    /// <summary>Untie every shared float parameter.</summary>
    All,
}

/// <summary>
/// PyTorch's exporter stores identical initializers once: eight freshly initialized LayerNorms share one
/// scale of ones, the others reading it through Identity nodes named after their own parameters.
/// Trained, those must be eight parameters, not one. This turns each such Identity alias into its own
/// initializer, and (per <see cref="UntieMode"/>) gives every extra direct use of a shared parameter its own copy. Copies are named the way PyTorch names the parameter when the node's
/// name carries its module scope ("/blocks.1/blocks.1.0/LayerNormalization" → "blocks.1.0.weight"),
/// otherwise "NAME.use2", "NAME.use3", …
/// </summary>
public static class ParameterUntying
{
    private static readonly Dictionary<string, string[]> Roles = new()
    {
        ["LayerNormalization"] = new[] { "", "weight", "bias" },
        ["BatchNormalization"] = new[] { "", "weight", "bias", "running_mean", "running_var" },
        ["InstanceNormalization"] = new[] { "", "weight", "bias" },
        ["GroupNormalization"] = new[] { "", "weight", "bias" },
        ["Gemm"] = new[] { "", "weight", "bias" },
        ["Conv"] = new[] { "", "weight", "bias" },
        ["ConvTranspose"] = new[] { "", "weight", "bias" },
    };

    /// <summary>Unties shared parameters in the main graph; returns how many copies were made.</summary>
    public static int Untie(Model model, UntieMode mode)
    {
        if (mode == UntieMode.None) return 0;
        var g = model.Graph;
        int copies = UntieIdentityAliases(model);
        foreach (var p in TrainableSpec.Parameters(model))
        {
            var uses = p.Uses.Where(u => ReferenceEquals(u.Node.Graph, g)).OrderBy(u => IndexOf(g, u.Node)).ToList();
            if (uses.Count < 2) continue;
            if (mode == UntieMode.Constant && !AllEqual(p.Initializer!)) continue;
            foreach (var use in uses.Skip(1))
            {
                var copy = p.Initializer!.ToInlineProto().Clone();
                string name = NameFor(model, use, p.Name, copies);
                var v = g.AddInitializer(new Value(name), new Tensor(copy));
                use.Node.SetInput(use.InputIndex, v);
                copies++;
            }
        }
        return copies;
    }

    /// <summary>
    /// PyTorch writes a parameter equal to an earlier one as <c>Identity(first) → its own name</c>: such an
    /// alias becomes an initializer of its own under that name, holding a copy of the value.
    /// </summary>
    private static int UntieIdentityAliases(Model model)
    {
        var g = model.Graph;
        var parameters = TrainableSpec.Parameters(model).ToHashSet();
        int copies = 0;
        foreach (var node in g.Nodes.Where(n => n.IsStandardDomain && n.OpType == "Identity" && n.Inputs.Count == 1 && n.Inputs[0] is { } x && parameters.Contains(x)).ToList())
        {
            var alias = node.Outputs[0];
            if (g.Outputs.Contains(alias)) continue;
            string name = alias.Name;
            alias.Name = model.Names.Fresh(name + "_alias");
            var copy = node.Inputs[0]!.Initializer!.ToInlineProto().Clone();
            var v = g.AddInitializer(new Value(name), new Tensor(copy));
            alias.ReplaceAllUsesWith(v);
            g.Remove(node);
            copies++;
        }
        return copies;
    }

    private static int IndexOf(Graph g, Node n)
    {
        for (int i = 0; i < g.Nodes.Count; i++) if (ReferenceEquals(g.Nodes[i], n)) return i;
        return int.MaxValue;
    }

    private static string NameFor(Model model, Usage use, string original, int k)
    {
        if (Roles.TryGetValue(use.Node.OpType, out var roles) && use.InputIndex < roles.Length && roles[use.InputIndex].Length > 0)
        {
            var scopes = use.Node.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (scopes.Length >= 2)
            {
                string candidate = $"{scopes[^2]}.{roles[use.InputIndex]}";
                if (!model.Names.IsUsed(candidate)) return model.Names.Fresh(candidate);
            }
        }
        return model.Names.Fresh($"{original}.use{k + 2}");
    }

    private static bool AllEqual(Tensor t)
    {
        var raw = t.ReadRawBytes();
        int size = TensorEncoding.BitsPerElement(t.DataType) / 8;
        if (size == 0 || raw.Length == 0) return false;
        var first = raw.AsSpan(0, size);
        for (int i = size; i < raw.Length; i += size)
            if (!raw.AsSpan(i, size).SequenceEqual(first)) return false;
        return true;
    }
}

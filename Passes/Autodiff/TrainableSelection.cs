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
    public IReadOnlyList<Value> Select(Model model) => Select(model, Parameters(model));

    /// <summary>The values among <paramref name="candidates"/> this spec selects (LoRA also offers the quantized weights); fails when none match.</summary>
    public IReadOnlyList<Value> Select(Model model, IReadOnlyList<Value> candidates)
    {
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

    /// <summary>
    /// The model's parameters: float initializers of rank ≥ 1 that are not graph inputs, in file order — except
    /// quantization parameters (scales and zero points read only by QuantizeLinear, DequantizeLinear or
    /// MatMulNBits), which stay fixed; integer weights are not float and never train.
    /// </summary>
    public static IReadOnlyList<Value> Parameters(Model model) =>
        model.Graph.Initializers.Where(v => v.Initializer is { } t && !v.IsGraphInput && t.Dims.Count >= 1
            && (t.DataType == (int)DT.Float || t.DataType == (int)DT.Double) && !IsQuantizationParameter(v)).ToList();

    /// <summary>True when every use of <paramref name="v"/> is a scale or zero-point input of a quantization op.</summary>
    public static bool IsQuantizationParameter(Value v) =>
        v.Uses.Count > 0 && v.Uses.All(u => (u.Node.OpType is "QuantizeLinear" or "DequantizeLinear" && u.InputIndex >= 1)
            || (u.Node.OpType == "MatMulNBits" && u.InputIndex is >= 1 and <= 4));

    /// <summary>
    /// Frozen quantized weights LoRA can adapt: the packed B of each com.microsoft MatMulNBits, and each rank-2
    /// integer initializer read through DequantizeLinear by the weight input of a MatMul or Gemm; in file order.
    /// </summary>
    public static IReadOnlyList<Value> QuantizedWeights(Model model) =>
        model.Graph.Initializers.Where(v => v.Initializer is not null && !v.IsGraphInput && v.Uses.Any(u =>
            (u.Node.OpType == "MatMulNBits" && u.Node.Domain == "com.microsoft" && u.InputIndex == 1)
            || (u.Node.OpType == "DequantizeLinear" && u.InputIndex == 0 && v.Initializer.Dims.Count == 2
                && u.Node.Outputs[0].Uses.Any(w => w.Node.OpType is "MatMul" or "Gemm" && w.InputIndex == 1)))).ToList();
}

using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>Options shared by the INT8 quantization passes.</summary>
public sealed record QuantizationOptions
{
    /// <summary>One scale (and zero point) per output channel of each weight instead of one per tensor.</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>Symmetric activations (zero point 0 for int8, 128 for uint8); static QDQ only — dynamic activations are always asymmetric uint8.</summary>
    public bool SymmetricActivations { get; init; }

    /// <summary>
    /// Dynamic mode: quantize activations per token (each row of the last axis gets its own symmetric int8 scale,
    /// computed at run time) instead of per tensor with DynamicQuantizeLinear. Transformers need it: a few tokens and
    /// hidden dimensions carry outliers that would otherwise set the step for the whole tensor.
    /// </summary>
    public bool PerTokenActivations { get; init; }

    /// <summary>Dynamic mode: nodes (names or op types) whose activations are quantized per token even when <see cref="PerTokenActivations"/> is off.</summary>
    public IReadOnlySet<string> PerTokenNodes { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Dynamic mode: per-token activation steps on ONNX Runtime's fused per-tensor kernel (DynamicQuantizeMatMul) through
    /// row normalization. Each row is divided by its max |x| at run time and the product multiplied back; rows of nodes
    /// that <see cref="QuantizesPerToken"/> selects are also centred ((x − m)/h, m and h the row's mid-point and half
    /// range, the centre added back through the weight's column sums), which gives them the per-row step of asymmetric
    /// per-token quantization at a few more elementwise passes, instead of the explicit MatMulInteger per-token form.
    /// </summary>
    public bool TokenScaledActivations { get; init; }

    /// <summary>Whether <paramref name="node"/>'s activations are quantized per token.</summary>
    public bool QuantizesPerToken(Node node) => PerTokenActivations || PerTokenNodes.Contains(node.OpType) || PerTokenNodes.Contains(Rewiring.Hint(node));

    /// <summary>Symmetric weights (zero point 0); asymmetric weights use uint8 in dynamic mode.</summary>
    public bool SymmetricWeights { get; init; } = true;

    /// <summary>Integer type of activations in static QDQ mode.</summary>
    public QuantType ActivationType { get; init; } = QuantType.UInt8;

    /// <summary>Integer type of weights.</summary>
    public QuantType WeightType { get; init; } = QuantType.Int8;

    /// <summary>Op types (e.g. "Conv") or node names that stay float.</summary>
    public IReadOnlySet<string> KeepFloat { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="node"/> must stay float: its op type, its name or (for unnamed nodes) its first output's name is listed in <see cref="KeepFloat"/>.</summary>
    public bool KeepsFloat(Node node) => KeepFloat.Contains(node.OpType) || KeepFloat.Contains(Rewiring.Hint(node));

    /// <summary>Parses a comma-separated --keep-float list.</summary>
    public static IReadOnlySet<string> ParseKeepFloat(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    /// <summary>The same options with more names kept float.</summary>
    public QuantizationOptions WithKeepFloat(IEnumerable<string> more) => this with { KeepFloat = KeepFloat.Concat(more).ToHashSet(StringComparer.Ordinal) };
}

using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// Weight-only INT8 for embedding tables: a <c>Gather(E, ids)</c> (axis 0) on a constant float [V, D] table read only by
/// Gathers becomes <c>Cast(Gather(E_q, ids)) · Gather(s, ids)</c> with E_q int8 and one symmetric scale per row
/// (s = max|E[v,:]| / 127, shape [V, 1]). Only the looked-up rows are dequantized, so the table is stored in a quarter of
/// the bytes and nothing is expanded at run time. Each element moves by at most s/2. Tables smaller than
/// <see cref="MinElements"/> stay float (the scales would not pay off).
/// </summary>
public sealed class EmbeddingQuantization : IPass
{
    /// <summary>Smallest table (elements) worth quantizing.</summary>
    public const long MinElements = 4096;

    private readonly QuantizationOptions _options;
    private readonly List<string> _quantized = new();

    /// <summary>Creates the pass (tables named in the options' keep-float list, or op type Gather there, stay float).</summary>
    public EmbeddingQuantization(QuantizationOptions? options = null) => _options = options ?? new QuantizationOptions();

    /// <inheritdoc/>
    public string Name => "quantize-embeddings";

    /// <summary>The tables the last run quantized.</summary>
    public IReadOnlyList<string> QuantizedTables => _quantized;

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        _quantized.Clear();
        var g = model.Graph;
        foreach (var table in g.Initializers.ToList())
        {
            if (Rewiring.ConstantFloat(table) is not { Dims.Count: 2 } t || t.ElementCount < MinElements) continue;
            if (table.IsGraphOutput || table.Uses.Count == 0) continue;
            var gathers = table.Uses.Select(u => u.Node).Distinct().ToList();
            if (!gathers.All(n => n.IsStandardDomain && n.OpType == "Gather" && n.Inputs[0] == table && n.Inputs.Skip(1).All(i => i != table)
                                  && n.Attributes.GetInt("axis", 0) == 0 && !_options.KeepsFloat(n))) continue;
            if (_options.KeepFloat.Contains(table.Name)) continue;
            var q = QuantizedWeight.Quantize(t, axis: 0, QuantType.Int8, symmetric: true);
            var codes = Rewiring.Add(g, table.Name + "_int8", q.Data);
            var scales = Rewiring.AddFloats(g, table.Name + "_row_scale", new[] { t.Dims[0], 1L }, q.Scales);
            foreach (var gather in gathers)
            {
                var b = new GraphBuilder(g, gather);
                var ids = gather.Inputs[1]!;
                string hint = Rewiring.Hint(gather);
                var rows = b.Op("Gather", new[] { codes, ids }, new[] { Ir.Attribute.FromInt("axis", 0) }, hint: hint + "_int8");
                var rowScales = b.Op("Gather", new[] { scales, ids }, new[] { Ir.Attribute.FromInt("axis", 0) }, hint: hint + "_scale");
                var asFloat = b.Op("Cast", new[] { rows }, new[] { Ir.Attribute.FromInt("to", (int)Schema.TensorProto.Types.DataType.Float) }, hint: hint + "_float");
                var y = b.Op("Mul", new[] { asFloat, rowScales }, hint: hint + "_dequantized");
                Rewiring.Replace(gather.Outputs[0], y);
                g.Remove(gather);
            }
            Rewiring.DropIfUnused(table);
            _quantized.Add(table.Name);
        }
        return new PassResult(model, _quantized.Count > 0);
    }
}

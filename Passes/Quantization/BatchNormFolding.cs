using OnnxRev.Ir;

namespace OnnxRev.Passes.Quantization;

/// <summary>
/// Conv → BatchNormalization (inference form, constant statistics) becomes one Conv with
/// W' = W · γ/√(var+ε) per output channel and b' = (b − mean) · γ/√(var+ε) + β, so quantization sees the weight
/// that is really applied and QDQ can sit directly around the Conv. The BatchNormalization output keeps its name.
/// </summary>
public sealed class BatchNormFolding : IPass
{
    /// <inheritdoc/>
    public string Name => "fold-batchnorm";

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        bool modified = false;
        var g = model.Graph;
        foreach (var bn in g.Nodes.Where(n => n.IsStandardDomain && n.OpType == "BatchNormalization").ToList())
        {
            if (bn.Outputs.Skip(1).Any(o => o.Name.Length > 0 && (o.Uses.Count > 0 || o.IsGraphOutput))) continue;
            if (bn.Attributes.GetInt("training_mode", 0) != 0 || bn.Attributes.GetInt("spatial", 1) != 1) continue;
            if (bn.Inputs[0]?.Producer is not { OpType: "Conv" } conv || !conv.IsStandardDomain) continue;
            var x = bn.Inputs[0]!;
            if (x.Uses.Count != 1 || x.IsGraphOutput) continue;
            var stats = bn.Inputs.Skip(1).Take(4).Select(Rewiring.ConstantFloat).ToArray();
            if (stats.Length != 4 || stats.Any(s => s is null)) continue;
            if (Rewiring.ConstantFloat(conv.Inputs[1]) is not { } w) continue;
            var bias = conv.Inputs.Count > 2 ? conv.Inputs[2] : null;
            Tensor? b = bias is null ? null : Rewiring.ConstantFloat(bias);
            if (bias is not null && b is null) continue;
            long m = w.Dims[0];
            var (gamma, beta, mean, variance) = (stats[0]!.ToFloatArray(), stats[1]!.ToFloatArray(), stats[2]!.ToFloatArray(), stats[3]!.ToFloatArray());
            if (gamma.Length != m || beta.Length != m || mean.Length != m || variance.Length != m) continue;
            float eps = bn.Attributes.GetFloat("epsilon", 1e-5f);
            var wv = w.ToFloatArray();
            long per = wv.Length / m;
            var bv = b?.ToFloatArray() ?? new float[m];
            var nw = new float[wv.Length];
            var nb = new float[m];
            for (long c = 0; c < m; c++)
            {
                double f = gamma[c] / Math.Sqrt(variance[c] + (double)eps);
                for (long i = 0; i < per; i++) nw[c * per + i] = (float)(wv[c * per + i] * f);
                nb[c] = (float)((bv[c] - mean[c]) * f + beta[c]);
            }
            string hint = Rewiring.Hint(conv);
            var oldW = conv.Inputs[1];
            conv.SetInput(1, Rewiring.AddFloats(g, hint + "_folded_weight", w.Dims.ToArray(), nw));
            var newB = Rewiring.AddFloats(g, hint + "_folded_bias", new[] { m }, nb);
            if (conv.Inputs.Count > 2) conv.SetInput(2, newB); else conv.AddInput(newB);
            var statValues = bn.Inputs.Skip(1).ToList();
            Rewiring.Replace(bn.Outputs[0], x);
            g.Remove(bn);
            Rewiring.DropIfUnused(oldW);
            Rewiring.DropIfUnused(bias);
            foreach (var s in statValues) Rewiring.DropIfUnused(s);
            modified = true;
        }
        return new PassResult(model, modified);
    }
}

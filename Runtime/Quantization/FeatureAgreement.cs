using OnnxRev.Runtime.Data;

namespace OnnxRev.Runtime.Quantization;

/// <summary>How closely a quantized feature extractor follows the float one: per-sample cosine of the first output.</summary>
/// <param name="Samples">Samples compared.</param>
/// <param name="MinCosine">The worst sample's cosine.</param>
/// <param name="MeanCosine">The mean cosine.</param>
public sealed record FeatureAgreementResult(int Samples, double MinCosine, double MeanCosine);

/// <summary>Feature agreement of two models and image preparation for pretrained vision models.</summary>
public static class FeatureAgreement
{
    /// <summary>Cosine of each sample's first-output row between <paramref name="reference"/> and <paramref name="candidate"/> over <paramref name="data"/>.</summary>
    public static FeatureAgreementResult Compare(byte[] reference, byte[] candidate, Dataset data, int? threads = null)
    {
        var a = BatchRunner.FirstOutput(reference, data, threads: threads);
        var b = BatchRunner.FirstOutput(candidate, data, threads: threads);
        if (a.Length != b.Length || a.Length % data.Count != 0) throw new OnnxRevException($"the two models' outputs differ in size ({a.Length} vs {b.Length} values)");
        int dim = a.Length / data.Count;
        var cos = Enumerable.Range(0, data.Count).Select(i => Cosine(a.AsSpan(i * dim, dim), b.AsSpan(i * dim, dim))).ToArray();
        return new FeatureAgreementResult(data.Count, cos.Min(), cos.Average());
    }

    /// <summary>Cosine similarity of two vectors (1 when both are zero).</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += a[i] * (double)b[i]; aa += a[i] * (double)a[i]; bb += b[i] * (double)b[i]; }
        return aa == 0 && bb == 0 ? 1 : ab / Math.Sqrt(aa * bb);
    }

    /// <summary>
    /// Grey images (e.g. Fashion-MNIST, [28,28] in [0,1]) resized bilinearly to S×S, scaled to pixel values 0–255,
    /// repeated into 3 channels and run through <paramref name="preprocessModel"/> (e.g. CNTK's ResNetPreprocess, which
    /// subtracts a mean image); the result has the preprocess model's output shape per sample.
    /// </summary>
    public static Dataset PrepareImages(string preprocessModel, Dataset grey, int? threads = null)
    {
        if (grey.SampleShape.Count != 2) throw new OnnxRevException($"images in '{grey.Source}' have shape [{string.Join(",", grey.SampleShape)}]; grey H×W images are expected");
        int h = grey.SampleShape[0], w = grey.SampleShape[1];
        using var chain = new ModelChain(new[] { new OrtRunner(preprocessModel, new RunnerOptions { IntraOpThreads = threads }) });
        int size = (int)Math.Round(Math.Sqrt(chain.InputLength / 3.0));
        if (3 * size * size != chain.InputLength) throw new OnnxRevException($"'{preprocessModel}' takes {chain.InputLength} values, not a 3×S×S image");
        var rows = chain.Map(grey.Count, (i, buffer) => ImageTransforms.GreyToChannels(grey.Sample(i), h, w, buffer, size, 255f));
        return new Dataset(rows, grey.Labels, new[] { 3, size, size }, grey.ClassCount, $"{preprocessModel} of {grey.Source}");
    }
}

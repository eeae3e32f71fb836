using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Runtime.Quantization;

/// <summary>
/// GPTQ with error feedback across layers on a three-layer MLP (ReLU, correlated real-valued inputs), 4-bit blocks of
/// 16: the first layer sees float inputs, so its fitted weight is the original; the model quantized with the returned
/// Hessians and targets has a smaller output error than plain GPTQ, on the calibration samples and on held-out ones.
/// </summary>
public class SequentialGptqTests
{
    private const int In = 32, Hidden = 64, Out = 16, Rows = 8;

    private static float[] Random(int n, Random rng, float amp = 1f) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * amp).ToArray();

    private static Model Mlp()
    {
        var rng = new Random(5);
        var g = new Graph("mlp");
        var x = Input(g, "x", ModelFactory.FloatType(Rows, In));
        var h1 = Op(g, "Relu", new[] { Op(g, "MatMul", new[] { x, FloatInit(g, "W1", new long[] { In, Hidden }, Random(In * Hidden, rng, 0.3f)) }, "a1") }, "h1");
        var h2 = Op(g, "Relu", new[] { Op(g, "MatMul", new[] { h1, FloatInit(g, "W2", new long[] { Hidden, Hidden }, Random(Hidden * Hidden, rng, 0.2f)) }, "a2") }, "h2");
        Output(g, Op(g, "MatMul", new[] { h2, FloatInit(g, "W3", new long[] { Hidden, Out }, Random(Hidden * Out, rng, 0.2f)) }, "y"), ModelFactory.FloatType(Rows, Out));
        return ModelFactory.Wrap(g);
    }

    /// <summary>Samples whose features are correlated (a random mix of 6 latent factors plus noise), so the Hessians are far from diagonal.</summary>
    private static List<IReadOnlyDictionary<string, DataValue>> Samples(int count, int seed, float offset = 0)
    {
        var rng = new Random(seed);
        var mix = Random(6 * In, new Random(99));
        var result = new List<IReadOnlyDictionary<string, DataValue>>();
        for (int s = 0; s < count; s++)
        {
            var x = new float[Rows * In];
            for (int r = 0; r < Rows; r++)
            {
                var z = Random(6, rng, 2f);
                for (int i = 0; i < In; i++)
                {
                    double v = 0.1 * (rng.NextDouble() * 2 - 1);
                    for (int f = 0; f < 6; f++) v += z[f] * mix[f * In + i];
                    x[r * In + i] = (float)v + (i % 4 == 0 ? offset : 0);
                }
            }
            result.Add(Feeds.Floats("x", new long[] { Rows, In }, x));
        }
        return result;
    }

    private static double OutputError(Model reference, Model candidate, IEnumerable<IReadOnlyDictionary<string, DataValue>> samples)
    {
        using var a = new OrtRunner(ModelWriter.ToBytes(reference), OrtCheck.NoOpt, "reference");
        using var b = new OrtRunner(ModelWriter.ToBytes(candidate), OrtCheck.NoOpt, "candidate");
        double err = 0, norm = 0;
        foreach (var s in samples)
        {
            var ya = GradCheck.ToDoubles(a.Run(s)["y"].AsTensor());
            var yb = GradCheck.ToDoubles(b.Run(s)["y"].AsTensor());
            for (int i = 0; i < ya.Length; i++) { err += (ya[i] - yb[i]) * (ya[i] - yb[i]); norm += ya[i] * ya[i]; }
        }
        return Math.Sqrt(err / norm);
    }

    [Test]
    public void FeedbackLowersTheOutputErrorOfGptq()
    {
        var calibration = Samples(48, 1);
        var heldOut = Samples(32, 2);
        var reference = Mlp();
        var format = new WeightFormat(4, 16);

        var plain = Mlp();
        var hessians = Int4Calibration.Hessians(plain, calibration);
        new MatMulNBitsQuantization(new Int4Options(16, Symmetric: false, Hessians: hessians)).Run(plain);

        var feedback = Mlp();
        var h = SequentialGptq.Apply(feedback, calibration, _ => format, symmetric: false, halfScales: false, ridge: 0.01, biasCorrection: false);
        Assert.That(h.Keys, Is.EquivalentTo(new[] { "W1", "W2", "W3" }));
        var w1 = feedback.Graph.Initializers.First(v => v.Name == "W1").Initializer!.ToFloatArray();
        var w1Original = reference.Graph.Initializers.First(v => v.Name == "W1").Initializer!.ToFloatArray();
        for (int i = 0; i < w1.Length; i++)
            Assert.That(w1[i], Is.EqualTo(w1Original[i]).Within(1e-4 * Math.Abs(w1Original[i]) + 1e-6), "the first layer sees float inputs: its fitted weight is the original");
        Assert.That(h["W1"], Is.EqualTo(hessians["W1"]).Within(1e-3 * hessians["W1"].Max(Math.Abs)), "and its Hessian is the float model's");
        new MatMulNBitsQuantization(new Int4Options(16, Symmetric: false, Hessians: h)).Run(feedback);

        double plainCal = OutputError(reference, plain, calibration), feedbackCal = OutputError(reference, feedback, calibration);
        double plainHeld = OutputError(reference, plain, heldOut), feedbackHeld = OutputError(reference, feedback, heldOut);
        TestContext.Out.WriteLine($"relative output error, calibration: GPTQ {plainCal:E3}, with feedback {feedbackCal:E3}; held out: {plainHeld:E3}, {feedbackHeld:E3}");
        Assert.That(feedbackCal, Is.LessThan(plainCal));
        Assert.That(feedbackHeld, Is.LessThan(plainHeld));
    }

    /// <summary>
    /// With bias correction the moments are centred and each layer's mean output error goes into a bias (an Add here,
    /// the MLP has none): inputs with a constant offset in a quarter of their channels (as LayerNorm outputs keep) are
    /// quantized with a smaller output error than without it, on calibration and held-out samples.
    /// </summary>
    [Test]
    public void BiasCorrectionLowersTheOutputErrorFurther()
    {
        var calibration = Samples(48, 1, offset: 3f);
        var heldOut = Samples(32, 2, offset: 3f);
        var reference = Mlp();
        var format = new WeightFormat(4, 16);
        Model Quantized(bool correct)
        {
            var m = Mlp();
            var h = SequentialGptq.Apply(m, calibration, _ => format, symmetric: false, halfScales: false, biasCorrection: correct);
            new MatMulNBitsQuantization(new Int4Options(16, Symmetric: false, Hessians: h)).Run(m);
            return m;
        }
        var without = Quantized(false);
        var with = Quantized(true);
        Assert.That(with.Graph.Nodes.Count(n => n.OpType == "Add"), Is.EqualTo(3), "one bias per layer");
        Assert.That(without.Graph.Nodes.Count(n => n.OpType == "Add"), Is.EqualTo(0));
        double cal0 = OutputError(reference, without, calibration), cal1 = OutputError(reference, with, calibration);
        double held0 = OutputError(reference, without, heldOut), held1 = OutputError(reference, with, heldOut);
        TestContext.Out.WriteLine($"relative output error, calibration: feedback {cal0:E3}, with bias correction {cal1:E3}; held out: {held0:E3}, {held1:E3}");
        Assert.That(cal1, Is.LessThan(cal0));
        Assert.That(held1, Is.LessThan(held0));
    }
}

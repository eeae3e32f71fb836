using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Passes.Autodiff;

/// <summary>Float64 finite-difference checks of LayerNormalization and BatchNormalization; Dropout checked against its own mask.</summary>
public class NormalizationGradientsTests
{
    [TestCase(-1, true)]
    [TestCase(1, true)]
    [TestCase(1, false)]
    [TestCase(0, true)]
    public void LayerNorm(int axis, bool bias)
    {
        var x = new long[] { 2, 3, 4 };
        var normalized = x.Skip(axis < 0 ? x.Length + axis : axis).ToArray();
        var inputs = new List<GradInput?> { new(x), new(normalized) };
        if (bias) inputs.Add(new GradInput(normalized));
        new GradCheck
        {
            Op = "LayerNormalization",
            Inputs = inputs,
            Attributes = new[] { Attr.FromInt("axis", axis), Attr.FromFloat("epsilon", 1e-3f) },
            Outputs = 3,
            LossOutputs = new[] { 0 }, // Mean and InvStdDev are not differentiated through
        }.Run();
    }

    [Test]
    public void LayerNormSingleOutputBroadcastScale() => new GradCheck
    {
        // Scale [4] broadcast against the normalized shape [3, 4].
        Op = "LayerNormalization",
        Inputs = new[] { new GradInput(new long[] { 2, 3, 4 }), new GradInput(new long[] { 4 }), new GradInput(new long[] { 3, 4 }) },
        Attributes = new[] { Attr.FromInt("axis", 1) },
    }.Run();

    private static GradInput[] BatchNormInputs(long[] x, bool statsDifferentiable)
    {
        long c = x[1];
        var mean = Enumerable.Range(0, (int)c).Select(i => 0.1 * i - 0.1).ToArray();
        var variance = Enumerable.Range(0, (int)c).Select(i => 0.5 + 0.25 * i).ToArray();
        return new[]
        {
            new GradInput(x), new GradInput(new[] { c }), new GradInput(new[] { c }),
            new GradInput(new[] { c }, Differentiable: statsDifferentiable, Values: mean),
            new GradInput(new[] { c }, Differentiable: statsDifferentiable, Values: variance),
        };
    }

    [TestCase(15, new long[] { 2, 3, 4, 5 })]
    [TestCase(14, new long[] { 3, 2, 4 })]
    [TestCase(15, new long[] { 4, 3 })]
    public void BatchNormTraining(int opset, long[] x) => new GradCheck
    {
        Op = "BatchNormalization",
        Opset = opset,
        Inputs = BatchNormInputs(x, statsDifferentiable: false),
        Attributes = new[] { Attr.FromInt("training_mode", 1), Attr.FromFloat("epsilon", 1e-3f) },
        Outputs = 3,
        LossOutputs = new[] { 0 }, // running_mean and running_var are not differentiable
    }.Run();

    [TestCase(15, new long[] { 2, 3, 4, 5 })]
    [TestCase(9, new long[] { 2, 3, 4 })]
    public void BatchNormInference(int opset, long[] x) => new GradCheck
    {
        Op = "BatchNormalization",
        Opset = opset,
        Inputs = BatchNormInputs(x, statsDifferentiable: true),
    }.Run();

    [TestCase(13, false)]
    [TestCase(13, null)]
    [TestCase(10, null)]
    public void DropoutInferenceIsIdentity(int opset, bool? trainingMode)
    {
        var inputs = new List<GradInput?> { new(new long[] { 3, 4 }) };
        if (opset >= 12)
        {
            inputs.Add(new GradInput(System.Array.Empty<long>(), Differentiable: false, Values: new[] { 0.4 }));
            if (trainingMode is { } t) inputs.Add(new GradInput(System.Array.Empty<long>(), Differentiable: false, Values: new[] { t ? 1.0 : 0.0 }, ElemType: 9));
        }
        new GradCheck { Op = "Dropout", Opset = opset, Inputs = inputs }.Run();
    }
}

/// <summary>
/// Training-mode Dropout is random, so finite differences do not apply: the forward and the
/// backward run together in one ORT session and the gradient must equal dY·mask/(1−ratio)
/// exactly for the very mask the forward drew (the loss is Σ Y·R, so dY = R).
/// </summary>
public class DropoutGradientTests
{
    private const double Ratio = 0.3;
    private static readonly long[] Shape = { 4, 6 };

    /// <param name="maskOutput">Whether the forward node already outputs its mask.</param>
    /// <param name="dynamicMode">training_mode is a graph input rather than a constant.</param>
    /// <param name="training">The training_mode fed (or stored).</param>
    [TestCase(false, false, true)]
    [TestCase(true, false, true)]
    [TestCase(false, true, true)]
    [TestCase(false, true, false)]
    public void GradientReusesTheForwardMask(bool maskOutput, bool dynamicMode, bool training)
    {
        int n = (int)(Shape[0] * Shape[1]);
        var rng = new Random(3);
        var xs = Enumerable.Range(0, n).Select(_ => rng.NextDouble() + 0.5).ToArray(); // nonzero, so Y = 0 exactly where dropped
        var rs = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

        var g = new Graph("dropout");
        var x = GraphBuild.Input(g, "x", ModelFactory.TensorType((int)DT.Double, Shape));
        var ratio = g.AddInitializer(new Value("ratio"), new Tensor(GradCheck.Make("ratio", (int)DT.Double, System.Array.Empty<long>(), new[] { Ratio })));
        var mode = dynamicMode
            ? GraphBuild.Input(g, "training", ModelFactory.TensorType((int)DT.Bool))
            : g.AddInitializer(new Value("training"), new Tensor(GradCheck.Make("training", (int)DT.Bool, System.Array.Empty<long>(), new[] { training ? 1.0 : 0.0 })));
        var outs = maskOutput ? new[] { new Value("y"), new Value("mask") } : new[] { new Value("y") };
        var node = new Node("Dropout", new[] { x, ratio, mode }, outs, name: "dropout");
        node.Attributes.Add(OnnxRev.Ir.Attribute.FromInt("seed", 42));
        g.Append(node);
        var r = g.AddInitializer(new Value("r"), new Tensor(GradCheck.Make("r", (int)DT.Double, Shape, rs)));
        var prod = GraphBuild.Op(g, "Mul", new[] { outs[0], r }, "prod");
        var loss = GraphBuild.Op(g, "ReduceSum", new[] { prod }, "loss", OnnxRev.Ir.Attribute.FromInt("keepdims", 0));
        var model = ModelFactory.Wrap(g, 13);
        var seed = g.AddInitializer(new Value("seed"), new Tensor(GradCheck.Make("seed", (int)DT.Double, System.Array.Empty<long>(), new[] { 1.0 })));

        var result = GradientEngine.Build(model, new Dictionary<Value, Value> { [loss] = seed }, new[] { x }, StandardGradients.Registry);
        Assert.That(result.Unreached, Is.Empty);
        var grad = GraphBuild.Op(g, "Identity", new[] { result.Gradients[0].Gradient }, "grad_x");
        g.Outputs.Add(grad);
        g.Outputs.Add(outs[0]);
        if (training || dynamicMode)
        {
            Assert.That(node.Outputs, Has.Count.EqualTo(2), "the rule must make the forward node output its mask");
            g.Outputs.Add(node.Outputs[1]);
        }

        using var runner = new OrtRunner(ModelWriter.ToBytes(model), new RunnerOptions { OptimizationLevel = OptimizationLevel.None }, "dropout");
        var feeds = new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(GradCheck.Make("x", (int)DT.Double, Shape, xs)) };
        if (dynamicMode) feeds["training"] = DataValue.Tensor(GradCheck.Make("training", (int)DT.Bool, System.Array.Empty<long>(), new[] { training ? 1.0 : 0.0 }));
        var got = runner.Run(feeds).ToDictionary(kv => kv.Key, kv => kv.Value.AsTensor());
        var dx = GradCheck.ToDoubles(got["grad_x"]);
        var y = GradCheck.ToDoubles(got["y"]);

        if (!training)
        {
            Assert.That(dx, Is.EqualTo(rs), "inference-mode Dropout is the identity");
            return;
        }
        var mask = TensorEncoding.InlineRawBytes(got[node.Outputs[1].Name]).ToArray().Select(b => b != 0).ToArray();
        Assert.That(mask, Does.Contain(true).And.Contain(false), "the seed should drop some elements and keep others");
        for (int i = 0; i < n; i++)
        {
            Assert.That(y[i] != 0, Is.EqualTo(mask[i]), $"forward Y[{i}] disagrees with the mask output");
            Assert.That(dx[i], Is.EqualTo(mask[i] ? rs[i] / (1 - Ratio) : 0.0), $"dX[{i}]");
        }
    }
}

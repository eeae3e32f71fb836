using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Runtime;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Runtime;

/// <summary>EquivalenceCheck as a PassManager instrument.</summary>
public class EquivalenceCheckTests
{
    /// <summary>A deliberately wrong pass: turns every Add into a Sub.</summary>
    private sealed class AddToSub : IPass
    {
        public string Name => "add-to-sub";

        public PassResult Run(Model model)
        {
            bool modified = false;
            foreach (var n in model.Graph.AllNodes().Where(n => n.OpType == "Add"))
            {
                n.OpType = "Sub";
                modified = true;
            }
            return new PassResult(model, modified);
        }
    }

    /// <summary>A deliberately wrong pass: scales every float initializer by <c>factor</c>.</summary>
    private sealed class ScaleWeights(float factor) : IPass
    {
        public string Name => "scale-weights";

        public PassResult Run(Model model)
        {
            bool modified = false;
            foreach (var v in model.Graph.Initializers.Where(v => v.Initializer?.DataType == (int)Schema.TensorProto.Types.DataType.Float))
            {
                var t = v.Initializer!;
                var scaled = t.ToFloatArray().Select(f => f * factor).ToArray();
                v.Initializer = Tensor.FromFloats(v.Name, t.Dims, scaled);
                modified = true;
            }
            return new PassResult(model, modified);
        }
    }

    /// <summary>A pass that never changes anything.</summary>
    private sealed class NoOp : IPass
    {
        public int Runs { get; private set; }

        public string Name => "no-op";

        public PassResult Run(Model model)
        {
            Runs++;
            return new PassResult(model, false);
        }
    }

    /// <summary>LinearRelu with an Identity in front of the output, so identity-elimination has work to do.</summary>
    private static Model LinearReluWithIdentity()
    {
        var model = ModelFactory.LinearRelu();
        var g = model.Graph;
        var relu = g.Nodes.Single(n => n.OpType == "Relu");
        var y = relu.Outputs[0];
        var idOut = new Value("y_out", y.Type);
        g.Append(new Node("Identity", new[] { y }, new[] { idOut }, name: "id"));
        g.Outputs[0] = idOut;
        return model;
    }

    [Test]
    public void WrongPass_IsNamed_AfterACorrectPassThatRanFirst()
    {
        var model = LinearReluWithIdentity();
        using var check = new EquivalenceCheck();
        var pm = new PassManager(new IPass[] { new IdentityElimination(), new AddToSub(), new NoOp() });
        pm.Instruments.Add(check);

        var ex = Assert.Throws<EquivalenceFailedException>(() => pm.Run(model));
        Assert.That(ex!.Pass, Is.EqualTo("add-to-sub"));
        Assert.That(ex.Comparison.Ok, Is.False);
        Assert.That(ex.Message, Does.Contain("add-to-sub"));
        Assert.That(check.Steps.Select(s => s.Pass), Is.EqualTo(new[] { "identity-elimination", "add-to-sub" }), "the pipeline stopped at the wrong pass");
        Assert.That(check.Steps[0].Ran, Is.True);
        Assert.That(check.Steps[0].Comparison!.Ok, Is.True, "the correct pass before it was checked and passed");
        Assert.That(check.Steps[1].Comparison, Is.SameAs(ex.Comparison));
    }

    [Test]
    public void WrongInitializerValues_AreCaught()
    {
        var model = ModelFactory.LinearRelu();
        using var check = new EquivalenceCheck(new EquivalenceOptions { Rtol = 1e-6, Atol = 1e-7 });
        var pm = new PassManager(new IPass[] { new DeadCodeElimination(), new ScaleWeights(1.5f) });
        pm.Instruments.Add(check);

        var ex = Assert.Throws<EquivalenceFailedException>(() => pm.Run(model));
        Assert.That(ex!.Pass, Is.EqualTo("scale-weights"));
        Assert.That(ex.Comparison.MaxAbsError, Is.GreaterThan(0));
        Assert.That(check.Steps.Select(s => (s.Pass, s.Ran)), Is.EqualTo(new[] { ("dead-code-elimination", false), ("scale-weights", true) }));
    }

    [Test]
    public void TinyChange_WithinTolerance_Passes_AndBeyondIt_Fails()
    {
        // Scaling the weights by (1 + 1e-7) stays within the default rtol 1e-4; the check must not be over-strict.
        using var loose = new EquivalenceCheck();
        var pm = new PassManager(new IPass[] { new ScaleWeights(1f + 1e-7f) });
        pm.Instruments.Add(loose);
        Assert.DoesNotThrow(() => pm.Run(ModelFactory.LinearRelu()));
        Assert.That(loose.Steps.Single().Comparison!.Ok, Is.True);

        using var strict = new EquivalenceCheck(new EquivalenceOptions { Rtol = 0, Atol = 0 });
        var pm2 = new PassManager(new IPass[] { new ScaleWeights(1.01f) });
        pm2.Instruments.Add(strict);
        Assert.Throws<EquivalenceFailedException>(() => pm2.Run(ModelFactory.LinearRelu()));
    }

    [Test]
    public void CorrectPipeline_Passes()
    {
        var model = LinearReluWithIdentity();
        using var check = new EquivalenceCheck(new EquivalenceOptions { Rtol = 1e-6, Atol = 1e-7, Seed = 3 });
        var pm = new PassManager(new IPass[] { new InitializersToConstants(), new ConstantsToInitializers(), new IdentityElimination(), new DeadCodeElimination() });
        pm.Instruments.Add(check);

        var result = pm.Run(model);
        Assert.That(result.Modified, Is.True);
        Assert.That(OpTypes(result.Model), Is.EqualTo(new[] { "MatMul", "Add", "Relu" }));
        Assert.That(check.Steps.Select(s => s.Pass), Is.EqualTo(new[] { "initializers-to-constants", "constants-to-initializers", "identity-elimination", "dead-code-elimination" }));
        Assert.That(check.Steps.Where(s => s.Ran).Select(s => s.Comparison!.Ok), Is.All.True);
        Assert.That(check.Steps.Select(s => s.Ran), Is.EqualTo(new[] { true, true, true, false }));
        Assert.That(check.Inputs!.Keys, Is.EqualTo(new[] { "x" }));
    }

    [Test]
    public void UnmodifiedPasses_AreNotRerun()
    {
        var noop = new NoOp();
        using var check = new EquivalenceCheck();
        var pm = new PassManager(new IPass[] { noop, new DeadCodeElimination(), noop });
        pm.Instruments.Add(check);
        pm.Run(ModelFactory.LinearRelu());

        Assert.That(noop.Runs, Is.EqualTo(2));
        Assert.That(check.Steps, Has.Count.EqualTo(3));
        Assert.That(check.Steps.Select(s => s.Ran), Is.All.False);
        Assert.That(check.Steps.Select(s => s.Comparison), Is.All.Null);
    }

    [Test]
    public void GivenInputs_AreUsed()
    {
        var feeds = Feeds.Floats("x", new long[] { 2, 4 }, 1, 2, 3, 4, 5, 6, 7, 8);
        using var check = new EquivalenceCheck(new EquivalenceOptions { Inputs = feeds });
        var pm = new PassManager(new IPass[] { new AddToSub() });
        pm.Instruments.Add(check);
        Assert.Throws<EquivalenceFailedException>(() => pm.Run(ModelFactory.LinearRelu()));
        Assert.That(check.Inputs, Is.SameAs(feeds));
    }
}

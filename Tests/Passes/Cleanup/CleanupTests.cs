using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;
using IrAttribute = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Cleanup;

/// <summary>The "cleanup" composite pass (StandardPasses.CleanupPasses repeated to a fixed point).</summary>
public class CleanupTests
{
    /// <summary>Constants, a foldable chain, Identities and dead code, all at once.</summary>
    private static Model Messy()
    {
        var g = new Graph("messy");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3));
        var c = ConstantTensor(g, "c", FloatTensor(new long[] { 6 }, 1f, 2f, 3f, 4f, 5f, 6f));
        var two = Op(g, "Constant", Array.Empty<Value?>(), "two", IrAttribute.FromFloat("value_float", 2f));
        var shape = Op(g, "Constant", Array.Empty<Value?>(), "shape", IrAttribute.FromInts("value_ints", new long[] { 2, 3 }));
        var scaled = Op(g, "Mul", new[] { c, two }, "scaled");
        var ci = Op(g, "Identity", new[] { scaled }, "scaled_id");   // Identity between constants: goes, then folding continues
        var r = Op(g, "Reshape", new[] { ci, shape }, "r");
        FloatInit(g, "unused", new long[] { 2 }, 7f, 8f);
        Op(g, "Exp", new[] { x }, "dead");
        var s = Op(g, "Add", new[] { x, r }, "s");
        var si = Op(g, "Identity", new[] { s }, "s_id");
        Output(g, Op(g, "Identity", new[] { Op(g, "Relu", new[] { si }, "relu") }, "y"), ModelFactory.FloatType(2, 3));
        return ModelFactory.Wrap(g);
    }

    [Test]
    public void Cleanup_SimplifiesAndReachesAFixedPoint()
    {
        var model = Messy();
        var original = ModelWriter.ToBytes(model);
        var cleanup = new CompositePass("cleanup", StandardPasses.CleanupPasses());

        Assert.That(cleanup.Run(model).Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add", "Relu" }));
        Assert.That(OutputNames(model.Graph), Is.EqualTo(new[] { "y" }));
        Assert.That(model.Graph.Outputs[0].Producer!.OpType, Is.EqualTo("Relu"));
        Assert.That(model.Graph.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "r" }));
        Assert.That(model.Graph.Initializers[0].Initializer!.ToFloatArray(), Is.EqualTo(new[] { 2f, 4f, 6f, 8f, 10f, 12f }));
        OrtCheck.AssertEquivalent(original, model);

        var once = ModelWriter.ToBytes(model);
        Assert.That(cleanup.Run(model).Modified, Is.False, "a second cleanup finds nothing left to do");
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(once));
    }

    [Test]
    public void Cleanup_ThroughTheRegistry_IsTheSameComposite()
    {
        StandardPasses.Register();
        var pass = PassRegistry.Create("cleanup");
        Assert.That(pass, Is.InstanceOf<CompositePass>());
        Assert.That(((CompositePass)pass).Passes.Select(p => p.Name),
            Is.EqualTo(new[] { "constants-to-initializers", "identity-elimination", "shape-folding", "constant-folding", "dead-code-elimination" }));
        var model = Messy();
        Assert.That(new PassManager(new[] { pass }, fixedPoint: true).Run(model).Records.Select(r => r.Modified), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public void Cleanup_OnACleanModel_IsUnmodified()
    {
        var model = ModelFactory.LinearRelu();
        var before = ModelWriter.ToBytes(model);
        Assert.That(new CompositePass("cleanup", StandardPasses.CleanupPasses()).Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
    }
}

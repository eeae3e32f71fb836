using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Passes.Cleanup;

/// <summary>IdentityElimination.</summary>
public class IdentityEliminationTests
{
    [Test]
    public void IdentityChain_IsRemoved()
    {
        // x → Relu → a → Identity → b → Identity → c → Neg → y, and c also feeds Exp → z.
        var g = new Graph("chain");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3));
        var a = Op(g, "Relu", new[] { x }, "a");
        var b = Op(g, "Identity", new[] { a }, "b");
        var c = Op(g, "Identity", new[] { b }, "c");
        Output(g, Op(g, "Neg", new[] { c }, "y"), ModelFactory.FloatType(2, 3));
        Output(g, Op(g, "Exp", new[] { c }, "z"), ModelFactory.FloatType(2, 3));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new IdentityElimination().Run(model).Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Relu", "Neg", "Exp" }));
        Assert.That(g.Nodes[1].Inputs[0], Is.SameAs(a));
        Assert.That(g.Nodes[2].Inputs[0], Is.SameAs(a));
        Assert.That(a.Uses, Has.Count.EqualTo(2));
        Assert.That(OutputNames(g), Is.EqualTo(new[] { "y", "z" }));
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void IdentityFeedingAGraphOutput_IsRemoved_AndTheOutputKeepsItsName()
    {
        // x → Relu → a → Identity → b → Identity → y (output); a is also read by Neg → z.
        var g = new Graph("to_output");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3));
        var a = Op(g, "Relu", new[] { x }, "a");
        var b = Op(g, "Identity", new[] { a }, "b");
        Output(g, Op(g, "Identity", new[] { b }, "y"), ModelFactory.FloatType(2, 3));
        Output(g, Op(g, "Neg", new[] { a }, "z"), ModelFactory.FloatType(2, 3));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new IdentityElimination().Run(model).Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Relu", "Neg" }));
        Assert.That(OutputNames(g), Is.EqualTo(new[] { "y", "z" }));
        Assert.That(g.Outputs[0], Is.SameAs(a), "Relu's output took the output's name");
        Assert.That(a.Name, Is.EqualTo("y"));
        Assert.That(g.Nodes[1].Inputs[0], Is.SameAs(a));
        Assert.That(g.Outputs[0].Type, Is.EqualTo(ModelFactory.FloatType(2, 3)));
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void IdentityFromAGraphInputToAGraphOutput_IsKept()
    {
        var g = new Graph("passthrough");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        Output(g, Op(g, "Identity", new[] { x }, "y"), ModelFactory.FloatType(3));
        Output(g, Op(g, "Neg", new[] { x }, "z"), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);

        Assert.That(new IdentityElimination().Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Identity", "Neg" }));
    }

    [Test]
    public void IdentityBetweenTwoGraphOutputs_IsKept()
    {
        // a is itself an output, so it cannot also be renamed to y.
        var g = new Graph("two_outputs");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        var a = Op(g, "Relu", new[] { x }, "a");
        Output(g, a, ModelFactory.FloatType(3));
        Output(g, Op(g, "Identity", new[] { a }, "y"), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);

        Assert.That(new IdentityElimination().Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
    }

    [Test]
    public void IdentityInsideAnIfSubgraph_IsRemoved_AndAnOuterValueIdentityIsKept()
    {
        var g = new Graph("main");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        var cond = Input(g, "cond", ModelFactory.TensorType((int)Schema.TensorProto.Types.DataType.Bool));
        var then = new Graph("then");
        var tr = Op(then, "Relu", new[] { x }, "tr");
        Output(then, Op(then, "Identity", new[] { tr }, "ty"), ModelFactory.FloatType(3));
        var els = new Graph("else");
        Output(els, Op(els, "Identity", new[] { x }, "ey"), ModelFactory.FloatType(3)); // reads the outer x: must stay
        Output(g, Op(g, "If", new[] { cond }, "y", Ir.Attribute.FromGraph("then_branch", then), Ir.Attribute.FromGraph("else_branch", els)), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new IdentityElimination().Run(model).Modified, Is.True);
        Assert.That(OpTypes(then), Is.EqualTo(new[] { "Relu" }));
        Assert.That(OutputNames(then), Is.EqualTo(new[] { "ty" }));
        Assert.That(OpTypes(els), Is.EqualTo(new[] { "Identity" }));
        foreach (bool c in new[] { true, false })
            OrtCheck.AssertEquivalent(original, model, Feeds.WithBool(Feeds.Floats("x", new long[] { 3 }, -1, 2, -3), "cond", c));
    }

    [Test]
    public void GraphWithoutIdentity_IsLeftAlone()
    {
        var model = ModelFactory.LinearRelu();
        var before = ModelWriter.ToBytes(model);
        Assert.That(new IdentityElimination().Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Passes.Cleanup;

/// <summary>DeadCodeElimination.</summary>
public class DeadCodeEliminationTests
{
    [Test]
    public void DeadNodesAndUnusedInitializers_AreRemoved_GraphInputsStay()
    {
        var g = new Graph("dead");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        var unusedInput = Input(g, "unused_input", ModelFactory.FloatType(3));
        var overridable = Input(g, "overridable", ModelFactory.FloatType(3));
        g.AddInitializer(overridable, Tensor.FromFloats("overridable", new long[] { 3 }, new[] { 1f, 1f, 1f }));
        var bias = FloatInit(g, "bias", new long[] { 3 }, 1f, 2f, 3f);
        var deadWeight = FloatInit(g, "dead_weight", new long[] { 3 }, 9f, 9f, 9f);
        FloatInit(g, "never_used", new long[] { 3 }, 0f, 0f, 0f);
        var live = Op(g, "Add", new[] { x, bias }, "live");
        var d1 = Op(g, "Mul", new[] { x, deadWeight }, "d1");   // dead chain: d1 → d2 → d3
        var d2 = Op(g, "Relu", new[] { d1 }, "d2");
        Op(g, "Neg", new[] { d2 }, "d3");
        Op(g, "Exp", new[] { live }, "dead_branch");            // reads a live value but is itself dead
        Output(g, Op(g, "Relu", new[] { live }, "y"), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new DeadCodeElimination().Run(model).Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add", "Relu" }));
        Assert.That(g.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "overridable", "bias" }), "unused initializers go unless a graph input overrides them");
        Assert.That(g.Inputs.Select(v => v.Name), Is.EqualTo(new[] { "x", "unused_input", "overridable" }), "graph inputs are the interface and stay");
        Assert.That(x.Uses, Has.Count.EqualTo(1));
        Assert.That(live.Uses, Has.Count.EqualTo(1));
        Assert.That(unusedInput.IsGraphInput, Is.True);
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void DeadNodesInsideASubgraph_AreRemoved()
    {
        var g = new Graph("main");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        var cond = Input(g, "cond", ModelFactory.TensorType((int)Schema.TensorProto.Types.DataType.Bool));
        var then = new Graph("then");
        var k = FloatInit(then, "k", new long[] { 3 }, 5f, 6f, 7f);
        Op(then, "Add", new[] { x, k }, "t_dead");
        Output(then, Op(then, "Relu", new[] { x }, "ty"), ModelFactory.FloatType(3));
        var els = new Graph("else");
        Output(els, Op(els, "Neg", new[] { x }, "ey"), ModelFactory.FloatType(3));
        Output(g, Op(g, "If", new[] { cond }, "y", Ir.Attribute.FromGraph("then_branch", then), Ir.Attribute.FromGraph("else_branch", els)), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new DeadCodeElimination().Run(model).Modified, Is.True);
        Assert.That(OpTypes(then), Is.EqualTo(new[] { "Relu" }));
        Assert.That(then.Initializers, Is.Empty);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "If" }));
        foreach (bool c in new[] { true, false })
            OrtCheck.AssertEquivalent(original, model, Feeds.WithBool(Feeds.Floats("x", new long[] { 3 }, -1, 2, -3), "cond", c));
    }

    [Test]
    public void NodeWhoseResultIsReadOnlyInsideASubgraph_IsKept()
    {
        var g = new Graph("main");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        var cond = Input(g, "cond", ModelFactory.TensorType((int)Schema.TensorProto.Types.DataType.Bool));
        var outer = Op(g, "Exp", new[] { x }, "outer");
        var then = new Graph("then");
        Output(then, Op(then, "Relu", new[] { outer }, "ty"), ModelFactory.FloatType(3));
        var els = new Graph("else");
        Output(els, Op(els, "Neg", new[] { x }, "ey"), ModelFactory.FloatType(3));
        Output(g, Op(g, "If", new[] { cond }, "y", Ir.Attribute.FromGraph("then_branch", then), Ir.Attribute.FromGraph("else_branch", els)), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);

        Assert.That(new DeadCodeElimination().Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
    }

    [Test]
    public void LiveGraph_IsLeftAlone()
    {
        var model = ModelFactory.LinearRelu();
        var before = ModelWriter.ToBytes(model);
        Assert.That(new DeadCodeElimination().Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
    }
}

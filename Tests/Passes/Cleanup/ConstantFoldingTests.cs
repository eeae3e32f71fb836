using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;
using IrAttribute = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Cleanup;

/// <summary>ConstantFolding.</summary>
public class ConstantFoldingTests
{
    /// <summary>r = Reshape(a + b, [2,3]); y = x + r; r is also an output. With <paramref name="aOverridable"/>, a is also a graph input.</summary>
    private static Model AddReshape(bool aOverridable)
    {
        var g = new Graph("fold");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3));
        Value a;
        if (aOverridable)
        {
            a = Input(g, "a", ModelFactory.FloatType(6));
            g.AddInitializer(a, Tensor.FromFloats("a", new long[] { 6 }, new[] { 1f, 2f, 3f, 4f, 5f, 6f }));
        }
        else
        {
            a = FloatInit(g, "a", new long[] { 6 }, 1f, 2f, 3f, 4f, 5f, 6f);
        }
        var b = FloatInit(g, "b", new long[] { 6 }, 0.5f, 0.25f, -1f, -2f, 10f, 0f);
        var shape = Int64Init(g, "shape", new long[] { 2 }, 2, 3);
        var s = Op(g, "Add", new[] { a, b }, "s");
        var r = Op(g, "Reshape", new[] { s, shape }, "r");
        Output(g, Op(g, "Add", new[] { x, r }, "y"), ModelFactory.FloatType(2, 3));
        Output(g, r, ModelFactory.FloatType(2, 3));
        return ModelFactory.Wrap(g);
    }

    [Test]
    public void ConstantChain_IsFolded_IntoAnInitializerOfTheSameName()
    {
        var model = AddReshape(aOverridable: false);
        var original = ModelWriter.ToBytes(model);
        var pass = new ConstantFolding();
        var result = pass.Run(model);

        Assert.That(result.Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add" }), "Add and Reshape of constants folded in one run; the Add reading x stays");
        Assert.That(OutputNames(model.Graph), Is.EqualTo(new[] { "y", "r" }));
        var r = model.Graph.Initializers.Single(v => v.Name == "r");
        Assert.That(r.Initializer!.Dims, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(r.Initializer.ToFloatArray(), Is.EqualTo(new[] { 1.5f, 2.25f, 2f, 2f, 15f, 6f }));
        Assert.That(model.Graph.Outputs[1], Is.SameAs(r));
        Assert.That(model.Graph.Outputs[1].Type, Is.EqualTo(ModelFactory.FloatType(2, 3)), "the output keeps its declared type");
        Assert.That(model.Graph.Nodes[0].Inputs[1], Is.SameAs(r));
        Assert.That(model.Graph.Initializers.Select(v => v.Name), Is.EquivalentTo(new[] { "a", "b", "shape", "s", "r" }),
            "folding leaves the now-unused inputs for dead-code elimination");
        Assert.That(pass.Declined, Is.Empty);
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void NodeReadingAnInitializerThatAGraphInputOverrides_IsNotFolded()
    {
        var model = AddReshape(aOverridable: true);
        var before = ModelWriter.ToBytes(model);
        var result = new ConstantFolding().Run(model);

        Assert.That(result.Modified, Is.False, "'a' is only a default: a caller may feed another value");
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add", "Reshape", "Add" }));

        // The same graph without the override is folded, so the refusal above is the override's doing.
        var plain = AddReshape(aOverridable: false);
        Assert.That(new ConstantFolding().Run(plain).Modified, Is.True);
    }

    [Test]
    public void ConstantOfShape_GrowingTheModelByMoreThanTheLimit_IsNotFolded()
    {
        // 512 × 1024 floats = 2 MiB from a 16-byte shape: more than MaxGrowthBytes (1 MiB).
        var g = new Graph("grow");
        var shape = Int64Init(g, "shape", new long[] { 2 }, 512, 1024);
        var big = Op(g, "ConstantOfShape", new[] { shape }, "big", IrAttribute.FromTensor("value", FloatTensor(new long[] { 1 }, 1.5f)));
        Output(g, big, ModelFactory.FloatType(512, 1024));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);
        var pass = new ConstantFolding();

        Assert.That(pass.Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
        Assert.That(pass.Declined.Single().Node, Is.EqualTo("node 'big_node' (ConstantOfShape)"));
        Assert.That(pass.Declined.Single().Reason, Does.Contain("would grow the model"));
    }

    [Test]
    public void ConstantOfShape_WithinTheGrowthLimit_IsFolded()
    {
        // 512 × 512 floats = exactly 1 MiB: allowed.
        var g = new Graph("grow_ok");
        var x = Input(g, "x", ModelFactory.FloatType(1));
        var shape = Int64Init(g, "shape", new long[] { 2 }, 512, 512);
        var filled = Op(g, "ConstantOfShape", new[] { shape }, "filled", IrAttribute.FromTensor("value", FloatTensor(new long[] { 1 }, 1.5f)));
        Output(g, Op(g, "Add", new[] { filled, x }, "y"), ModelFactory.FloatType(512, 512));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new ConstantFolding().Run(model).Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add" }));
        var filledInit = model.Graph.Initializers.Single(v => v.Name == "filled").Initializer!;
        Assert.That(filledInit.Dims, Is.EqualTo(new long[] { 512, 512 }));
        Assert.That(filledInit.ToFloatArray(), Is.All.EqualTo(1.5f));
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void ConstantInsideASubgraph_IsFoldedThere()
    {
        var g = new Graph("main");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        var cond = Input(g, "cond", ModelFactory.TensorType((int)DT.Bool));
        var then = new Graph("then");
        var k1 = FloatInit(then, "k1", new long[] { 3 }, 1f, 2f, 3f);
        var k2 = FloatInit(then, "k2", new long[] { 3 }, 4f, 5f, 6f);
        var kk = Op(then, "Mul", new[] { k1, k2 }, "kk");
        Output(then, Op(then, "Add", new[] { x, kk }, "ty"), ModelFactory.FloatType(3));
        var els = new Graph("else");
        Output(els, Op(els, "Neg", new[] { x }, "ey"), ModelFactory.FloatType(3));
        Output(g, Op(g, "If", new[] { cond }, "y", IrAttribute.FromGraph("then_branch", then), IrAttribute.FromGraph("else_branch", els)), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new ConstantFolding().Run(model).Modified, Is.True);
        Assert.That(OpTypes(then), Is.EqualTo(new[] { "Add" }));
        Assert.That(then.Initializers.Single(v => v.Name == "kk").Initializer!.ToFloatArray(), Is.EqualTo(new[] { 4f, 10f, 18f }));
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "If" }), "the If itself (a node with subgraphs) is never folded");
        foreach (bool c in new[] { true, false })
            OrtCheck.AssertEquivalent(original, model, Feeds.WithBool(Feeds.Floats("x", new long[] { 3 }, -1, 2, -3), "cond", c));
    }

    [Test]
    public void GraphWithNothingToFold_IsLeftAlone()
    {
        var model = ModelFactory.LinearRelu();
        var before = ModelWriter.ToBytes(model);
        var pass = new ConstantFolding();
        Assert.That(pass.Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
        Assert.That(pass.Declined, Is.Empty);
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Passes.Cleanup.Shapes;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Passes.Shapes;

/// <summary>ShapeFolding on graphs built in code.</summary>
public class ShapeFoldingTests
{
    private static IPass FoldAndClean() => new CompositePass("fold", new IPass[] { new ShapeFolding(), new DeadCodeElimination() });

    private static string Ops(Model m) => string.Join(" ", m.Graph.Nodes.Select(n => n.OpType));

    /// <summary>x [n,116,8,8] → channel shuffle with shapes computed from Shape(x).</summary>
    private static (Model Model, Value Target, Value Back) ChannelShuffle()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", "n", 116, 8, 8);
        var shape = g.Op("Shape", new[] { x });
        var batch = g.Op("Gather", new[] { shape, g.Scalar(0) });
        var channels = g.Op("Gather", new[] { shape, g.Scalar(1) });
        var half = g.Op("Cast", new[] { g.Op("Div", new[] { channels, g.Scalar(2) }) }, ("to", (long)DT.Int64));
        var h = g.Op("Gather", new[] { shape, g.Scalar(2) });
        var w = g.Op("Gather", new[] { shape, g.Scalar(3) });
        Value U(Value v) => g.Op("Unsqueeze", new[] { v, g.Ints(new long[] { 0 }) });
        var target = g.Op("Concat", new[] { U(batch), g.Ints(new long[] { 2 }), U(half), U(h), U(w) }, ("axis", 0L));
        var t = g.Op("Transpose", new[] { g.Op("Reshape", new[] { x, target }) }, ("perm", new long[] { 0, 2, 1, 3, 4 }));
        var hw = g.Op("Concat", new[] { U(channels), U(h), U(w) }, ("axis", 0L));
        var back = g.Op("Concat", new[] { U(batch), hw }, ("axis", 0L));
        var y = g.Op("Reshape", new[] { t, back });
        return (g.Build(13, y), target, back);
    }

    [Test]
    public void ChannelShuffleFoldsStaticPartsAndKeepsTheBatchComputed()
    {
        var (m, target, back) = ChannelShuffle();
        var r = FoldAndClean().Run(m);
        Assert.That(r.Modified, Is.True);
        TestContext.Out.WriteLine(Ops(m));
        Assert.That(m.Graph.Nodes.Count(n => n.OpType == "Shape"), Is.EqualTo(1), "the batch still comes from Shape(x)");
        Assert.That(m.Graph.Nodes.Count(n => n.OpType == "Gather"), Is.EqualTo(1), "only Gather(shape, 0) is left");
        Assert.That(m.Graph.Nodes.Any(n => n.OpType is "Div" or "Cast"), Is.False);
        // The static tail [116, 8, 8] is one initializer now, under its original name.
        var hw = back.Producer!.Inputs[1]!;
        Assert.That(hw.Initializer, Is.Not.Null);
        Assert.That(hw.Initializer!.ToInt64Array(), Is.EqualTo(new long[] { 116, 8, 8 }));
        Assert.That(target.Producer!.Inputs.Skip(1).All(v => v!.Initializer is not null), "everything after the batch is constant");
        var info = ShapeInference.Infer(m);
        Assert.That(info.Describe(m.Graph.Outputs[0]), Is.EqualTo("[n,116,8,8]"));
        Assert.That(new ShapeFolding().Run(m).Modified, Is.False, "a second run finds nothing to do");
    }

    [Test]
    public void StaticShapeChainFoldsCompletely()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", 2, 6);
        var shape = g.Op("Shape", new[] { x });
        var cols = g.Op("Gather", new[] { shape, g.Ints(new long[] { 1 }) });
        var rows = g.Op("Mul", new[] { g.Op("Slice", new[] { shape, g.Ints(new long[] { 0 }), g.Ints(new long[] { 1 }) }), g.Ints(new long[] { 3 }) });
        var target = g.Op("Concat", new[] { rows, g.Op("Div", new[] { cols, g.Ints(new long[] { 3 }) }) }, ("axis", 0L));
        var y = g.Op("Reshape", new[] { x, target });
        var m = g.Build(17, y);
        string name = target.Name;
        Assert.That(FoldAndClean().Run(m).Modified, Is.True);
        Assert.That(Ops(m), Is.EqualTo("Reshape"));
        var folded = m.Graph.Nodes[0].Inputs[1]!;
        Assert.That(folded.Name, Is.EqualTo(name));
        Assert.That(folded.Initializer!.ToInt64Array(), Is.EqualTo(new long[] { 6, 2 }));
        Assert.That(m.Graph.Initializers, Has.Count.EqualTo(1), "the chain's constants were removed with it");
        Assert.That(ShapeInference.Infer(m).Describe(y), Is.EqualTo("[6,2]"));
    }

    [Test]
    public void Int32IsFoldedAsInt32AndOtherTypesAreLeft()
    {
        var g = new ShapeTestGraph();
        var x = g.FloatInput("x", 4, 5);
        var shape = g.Op("Shape", new[] { x });
        var i32 = g.Op("Cast", new[] { shape }, ("to", (long)DT.Int32));
        var f = g.Op("Cast", new[] { shape }, ("to", (long)DT.Float));
        var b = g.Op("Equal", new[] { shape, g.Ints(new long[] { 4, 4 }) });
        var m = g.Build(17, i32, f, b);
        string name = i32.Name;
        Assert.That(new ShapeFolding().Run(m).Modified, Is.True);
        var out0 = m.Graph.Outputs[0];
        Assert.That(out0.Initializer, Is.Not.Null, "a graph output is folded too, keeping its name");
        Assert.That(out0.Name, Is.EqualTo(name));
        Assert.That(out0.Initializer!.DataType, Is.EqualTo((int)DT.Int32));
        Assert.That(out0.Initializer.ReadRawBytes(), Is.EqualTo(BitConverter.GetBytes(4).Concat(BitConverter.GetBytes(5)).ToArray()));
        Assert.That(m.Graph.Outputs[1].Producer?.OpType, Is.EqualTo("Cast"), "float data is not tracked");
        Assert.That(m.Graph.Outputs[2].Producer?.OpType, Is.EqualTo("Equal"), "bool results are not folded");
    }

    [Test]
    public void NothingToFoldIsNotAModification()
    {
        var m = OnnxRev.Tests.Support.ModelFactory.LinearRelu();
        Assert.That(new ShapeFolding().Run(m).Modified, Is.False);
    }

    [Test]
    public void LargeValuesAreLeftComputed()
    {
        var g = new ShapeTestGraph();
        var value = new OnnxRev.Schema.TensorProto { DataType = (int)DT.Int64, Dims = { 1 }, Int64Data = { 7 } };
        var big = g.Op("ConstantOfShape", new[] { g.Ints(new long[] { 10, 10 }) }, ("value", value));
        var m = g.Build(17, g.Op("Add", new[] { big, big }));
        Assert.That(new ShapeFolding(maxElements: 64).Run(m).Modified, Is.False);
        Assert.That(new ShapeFolding().Run(m).Modified, Is.True);
        Assert.That(m.Graph.Outputs[0].Initializer!.ToInt64Array(), Is.All.EqualTo(14));
    }
}

using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Passes.Cleanup;

/// <summary>InitializersToConstants.</summary>
public class InitializersToConstantsTests
{
    [Test]
    public void Initializers_BecomeConstantsAtTheStart_KeepingTheirNames()
    {
        var model = ModelFactory.LinearRelu();
        var original = ModelWriter.ToBytes(model);
        var result = new InitializersToConstants().Run(model);

        Assert.That(result.Modified, Is.True);
        Assert.That(model.Graph.Initializers, Is.Empty);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Constant", "Constant", "MatMul", "Add", "Relu" }));
        Assert.That(model.Graph.Nodes.Take(2).Select(n => n.Outputs[0].Name), Is.EqualTo(new[] { "W", "b" }));
        var w = model.Graph.Nodes[0];
        Assert.That(new Tensor(w.Attributes.Single().TensorValue!).Dims, Is.EqualTo(new long[] { 4, 3 }));
        Assert.That(model.Graph.Nodes[2].Inputs[1], Is.SameAs(w.Outputs[0]));
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void InitializerThatIsAGraphOutput_KeepsTheOutputName()
    {
        var g = new Graph("init_out");
        var x = Input(g, "x", ModelFactory.FloatType(2));
        var c = FloatInit(g, "c", new long[] { 2 }, 3f, 4f);
        Output(g, Op(g, "Add", new[] { x, c }, "y"), ModelFactory.FloatType(2));
        Output(g, c, ModelFactory.FloatType(2));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new InitializersToConstants().Run(model).Modified, Is.True);
        Assert.That(OutputNames(model.Graph), Is.EqualTo(new[] { "y", "c" }));
        Assert.That(model.Graph.Outputs[1].Producer!.OpType, Is.EqualTo("Constant"));
        Assert.That(model.Graph.Outputs[1].Type, Is.EqualTo(ModelFactory.FloatType(2)), "the output keeps its declared type");
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void InitializerOverriddenByAGraphInput_IsLeftAlone()
    {
        // IR < 4 style: the initializer is also a graph input, so it is only a default and must stay an initializer.
        var g = new Graph("overridable");
        var x = Input(g, "x", ModelFactory.FloatType(2));
        var w = Input(g, "w", ModelFactory.FloatType(2));
        g.AddInitializer(w, Tensor.FromFloats("w", new long[] { 2 }, new[] { 1f, 2f }));
        Output(g, Op(g, "Add", new[] { x, w }, "y"), ModelFactory.FloatType(2));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);

        Assert.That(new InitializersToConstants().Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add" }));
    }
}

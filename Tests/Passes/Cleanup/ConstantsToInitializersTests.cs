using Google.Protobuf;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;
using AttrType = OnnxRev.Schema.AttributeProto.Types.AttributeType;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;
using IrAttribute = OnnxRev.Ir.Attribute;

namespace OnnxRev.Tests.Passes.Cleanup;

/// <summary>ConstantsToInitializers, and the round trip back through InitializersToConstants.</summary>
public class ConstantsToInitializersTests
{
    private static Value ConstantAttr(Graph g, string output, IrAttribute a) => Op(g, "Constant", Array.Empty<Value?>(), output, a);

    /// <summary>
    /// Every Constant form the pass handles: value (tensor), value_float, value_floats, value_int, value_ints.
    /// y = Reshape(((x + c0) * c1) - c2, i1), k = n + i0.
    /// </summary>
    internal static Model AllForms()
    {
        var g = new Graph("forms");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        var n = Input(g, "n", ModelFactory.TensorType((int)DT.Int64, 3));
        var c0 = ConstantTensor(g, "c0", FloatTensor(new long[] { 3 }, 1f, -2f, 0.5f));
        var c1 = ConstantAttr(g, "c1", IrAttribute.FromFloat("value_float", 3f));
        var c2 = ConstantAttr(g, "c2", IrAttribute.FromFloats("value_floats", new[] { 0.25f, 4f, -8f }));
        var i0 = ConstantAttr(g, "i0", IrAttribute.FromInt("value_int", 7));
        var i1 = ConstantAttr(g, "i1", IrAttribute.FromInts("value_ints", new long[] { 1, 3 }));
        var s = Op(g, "Add", new[] { x, c0 }, "s");
        var m = Op(g, "Mul", new[] { s, c1 }, "m");
        var d = Op(g, "Sub", new[] { m, c2 }, "d");
        Output(g, Op(g, "Reshape", new[] { d, i1 }, "y"), ModelFactory.FloatType(1, 3));
        Output(g, Op(g, "Add", new[] { n, i0 }, "k"), ModelFactory.TensorType((int)DT.Int64, 3));
        return ModelFactory.Wrap(g);
    }

    [Test]
    public void EveryConstantForm_BecomesAnInitializerOfTheSameName()
    {
        var model = AllForms();
        var original = ModelWriter.ToBytes(model);
        var result = new ConstantsToInitializers().Run(model);

        Assert.That(result.Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add", "Mul", "Sub", "Reshape", "Add" }));
        var inits = model.Graph.Initializers.ToDictionary(v => v.Name);
        Assert.That(inits.Keys, Is.EquivalentTo(new[] { "c0", "c1", "c2", "i0", "i1" }));
        Assert.That(inits["c0"].Initializer!.ToFloatArray(), Is.EqualTo(new[] { 1f, -2f, 0.5f }));
        Assert.That(inits["c0"].Initializer!.Dims, Is.EqualTo(new long[] { 3 }));
        Assert.That(inits["c1"].Initializer!.ToFloatArray(), Is.EqualTo(new[] { 3f }));
        Assert.That(inits["c1"].Initializer!.Dims, Is.Empty, "value_float is a scalar");
        Assert.That(inits["c2"].Initializer!.ToFloatArray(), Is.EqualTo(new[] { 0.25f, 4f, -8f }));
        Assert.That(inits["c2"].Initializer!.Dims, Is.EqualTo(new long[] { 3 }));
        Assert.That(inits["i0"].Initializer!.ToInt64Array(), Is.EqualTo(new long[] { 7 }));
        Assert.That(inits["i0"].Initializer!.Dims, Is.Empty, "value_int is a scalar");
        Assert.That(inits["i1"].Initializer!.ToInt64Array(), Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(inits["i1"].Initializer!.Dims, Is.EqualTo(new long[] { 2 }));
        Assert.That(model.Graph.Nodes[0].Inputs[1], Is.SameAs(inits["c0"]), "uses were redirected to the initializer");
        Assert.That(inits.Values.All(v => v.Uses.Count == 1 && v.IsConstant), Is.True);
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void RoundTripThroughInitializersToConstants_RestoresTheOutputs()
    {
        var model = AllForms();
        var original = ModelWriter.ToBytes(model);
        Assert.That(new ConstantsToInitializers().Run(model).Modified, Is.True);
        Assert.That(new InitializersToConstants().Run(model).Modified, Is.True);

        Assert.That(model.Graph.Initializers, Is.Empty);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Constant", "Constant", "Constant", "Constant", "Constant", "Add", "Mul", "Sub", "Reshape", "Add" }));
        Assert.That(model.Graph.Nodes.Take(5).Select(n => n.Outputs[0].Name), Is.EquivalentTo(new[] { "c0", "c1", "c2", "i0", "i1" }),
            "the Constants produce the original names again");
        Assert.That(model.Graph.Nodes.Take(5).Select(n => n.Attributes.Single().Name), Is.All.EqualTo("value"));
        OrtCheck.AssertEquivalent(original, model);
        Assert.That(OrtCheck.Run(ModelWriter.ToBytes(model)).Keys, Is.EqualTo(new[] { "y", "k" }));

        // And forward again: back to initializers, still equivalent.
        Assert.That(new ConstantsToInitializers().Run(model).Modified, Is.True);
        Assert.That(model.Graph.Nodes.Any(n => n.OpType == "Constant"), Is.False);
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void ConstantInsideAnIfSubgraph_BecomesASubgraphInitializer()
    {
        var g = new Graph("main");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        var cond = Input(g, "cond", ModelFactory.TensorType((int)DT.Bool));
        var then = new Graph("then");
        var tc = ConstantTensor(then, "tc", FloatTensor(new long[] { 3 }, 10f, 20f, 30f));
        Output(then, Op(then, "Add", new[] { x, tc }, "ty"), ModelFactory.FloatType(3));
        var els = new Graph("else");
        var ec = ConstantAttr(els, "ec", IrAttribute.FromFloat("value_float", -1f));
        Output(els, Op(els, "Mul", new[] { x, ec }, "ey"), ModelFactory.FloatType(3));
        Output(g, Op(g, "If", new[] { cond }, "y", IrAttribute.FromGraph("then_branch", then), IrAttribute.FromGraph("else_branch", els)), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new ConstantsToInitializers().Run(model).Modified, Is.True);
        Assert.That(OpTypes(then), Is.EqualTo(new[] { "Add" }));
        Assert.That(OpTypes(els), Is.EqualTo(new[] { "Mul" }));
        Assert.That(then.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "tc" }));
        Assert.That(els.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "ec" }));
        Assert.That(model.Graph.Initializers, Is.Empty, "subgraph constants stay in their subgraph");
        Assert.That(then.Nodes[0].Inputs[1]!.Graph, Is.SameAs(then));
        var proto = ModelWriter.ToProto(model);
        Assert.That(proto.Graph.Node.Single().Attribute.Single(a => a.Name == "then_branch").G.Initializer.Single().Name, Is.EqualTo("tc"));
        foreach (bool c in new[] { true, false })
            OrtCheck.AssertEquivalent(original, model, Feeds.WithBool(Feeds.Floats("x", new long[] { 3 }, 1, 2, 3), "cond", c));
    }

    [Test]
    public void GraphWithoutHandledConstants_IsLeftAlone()
    {
        // Weights already initializers, plus a sparse_value Constant (a form the pass leaves as it is).
        var model = ModelFactory.LinearRelu();
        var sparse = new SparseTensorProto { Values = new TensorProto { DataType = (int)DT.Float, Dims = { 1 }, FloatData = { 5f } }, Indices = new TensorProto { DataType = (int)DT.Int64, Dims = { 1 }, Int64Data = { 2 } } };
        sparse.Dims.Add(4);
        var g = model.Graph;
        var sp = new Value("sp");
        g.InsertBefore(g.Nodes[0], new Node("Constant", Array.Empty<Value?>(), new[] { sp }, name: "sparse_const"));
        g.Nodes[0].Attributes.Add(new IrAttribute(new AttributeProto { Name = "sparse_value", Type = AttrType.SparseTensor, SparseTensor = sparse }));
        Output(g, sp, ModelFactory.FloatType(4));
        var before = ModelWriter.ToBytes(model);

        Assert.That(new ConstantsToInitializers().Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Constant", "MatMul", "Add", "Relu" }));
    }

    [Test]
    public void ValueStringConstant_BecomesAStringInitializer()
    {
        var g = new Graph("strings");
        var s = ConstantAttr(g, "s", new IrAttribute(new AttributeProto { Name = "value_string", Type = AttrType.String, S = ByteString.CopyFromUtf8("hello") }));
        Output(g, Op(g, "Identity", new[] { s }, "y"), ModelFactory.TensorType((int)DT.String));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);
        Assert.That(new ConstantsToInitializers().Run(model).Modified, Is.True);
        var init = model.Graph.Initializers.Single();
        Assert.That(init.Name, Is.EqualTo("s"));
        Assert.That(init.Initializer!.Proto.StringData.Single().ToStringUtf8(), Is.EqualTo("hello"));
        OrtCheck.AssertEquivalent(original, model, new Dictionary<string, OnnxRev.Runtime.DataValue>());
    }
}

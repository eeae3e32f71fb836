using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Patterns;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Pipeline;

/// <summary>RewriteRule / RewritePass with two sample rules defined here.</summary>
public class RewriteRuleTests
{
    /// <summary>Single-element float constant value, or null.</summary>
    private static float? ScalarConstant(Value? v) =>
        v is { IsConstant: true, Initializer: { DataType: (int)Schema.TensorProto.Types.DataType.Float, ElementCount: 1 } t } ? t.ToFloatArray()[0] : null;

    /// <summary><c>Add(Add(x, c1), c2) → Add(x, c1 + c2)</c> for single-element float constants c1, c2.</summary>
    private sealed class FuseAddConstants : RewriteRule
    {
        public override OpKey Root => OpKey.Onnx("Add");

        public override MatchResult Match(Node root, out Match? match)
        {
            match = null;
            if (root.Inputs.Count != 2) return MatchResult.Fail("Add needs two inputs");
            if (ScalarConstant(root.Inputs[1]) is null) return MatchResult.Fail("second input is not a one-element float constant");
            if (root.Inputs[0]?.Producer is not { } inner || inner.Key != OpKey.Onnx("Add")) return MatchResult.Fail("first input is not computed by an Add");
            if (ScalarConstant(inner.Inputs[1]) is null) return MatchResult.Fail("inner Add's second input is not a one-element float constant");
            match = new Match(root);
            match.Nodes.Add(inner);
            match.Values["x"] = inner.Inputs[0]!;
            match.Values["c1"] = inner.Inputs[1]!;
            match.Values["c2"] = root.Inputs[1]!;
            return MatchResult.Ok;
        }

        public override IReadOnlyList<Value> Rewrite(Match match, GraphBuilder builder)
        {
            float sum = ScalarConstant(match.Values["c1"])!.Value + ScalarConstant(match.Values["c2"])!.Value;
            var c = builder.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { sum }), "sum");
            return new[] { builder.Op("Add", new[] { match.Values["x"], c }) };
        }
    }

    /// <summary><c>Mul(x, 1.0) → x</c>.</summary>
    private sealed class MulByOne : RewriteRule
    {
        public override OpKey Root => OpKey.Onnx("Mul");

        public override MatchResult Match(Node root, out Match? match)
        {
            match = null;
            if (ScalarConstant(root.Inputs[1]) is not { } c) return MatchResult.Fail("second input is not a one-element float constant");
            if (c != 1f) return MatchResult.Fail($"constant is {c}, not 1");
            match = new Match(root);
            match.Values["x"] = root.Inputs[0]!;
            return MatchResult.Ok;
        }

        public override IReadOnlyList<Value> Rewrite(Match match, GraphBuilder builder) => new[] { match.Values["x"] };
    }

    /// <summary>x [2,3] → Add(c1=0.5) → a → Add(c2=c2Value) → y (output).</summary>
    private static Model AddAdd(float c2Value = 0.25f, bool c2IsInput = false)
    {
        var g = new Graph("add_add");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3));
        var c1 = FloatInit(g, "c1", Array.Empty<long>(), 0.5f);
        Value c2;
        if (c2IsInput) c2 = Input(g, "c2", ModelFactory.FloatType());
        else c2 = FloatInit(g, "c2", Array.Empty<long>(), c2Value);
        var a = Op(g, "Add", new[] { x, c1 }, "a");
        Output(g, Op(g, "Add", new[] { a, c2 }, "y"), ModelFactory.FloatType(2, 3));
        return ModelFactory.Wrap(g);
    }

    [Test]
    public void Match_NeverChangesTheGraph_WhetherItFailsOrSucceeds()
    {
        var rule = new FuseAddConstants();

        var model = AddAdd();
        var before = ModelWriter.ToBytes(model);
        var inner = model.Graph.Nodes[0];
        var root = model.Graph.Nodes[1];
        var failed = rule.Match(inner, out var noMatch);
        Assert.That(failed.Success, Is.False);
        Assert.That(noMatch, Is.Null);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before), "a failed match changed the model");

        var ok = rule.Match(root, out var match);
        Assert.That(ok.Success, Is.True, ok.Reason);
        Assert.That(match!.Root, Is.SameAs(root));
        Assert.That(match.Nodes, Is.EqualTo(new[] { root, inner }));
        Assert.That(match.Values["x"].Name, Is.EqualTo("x"));
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before), "a successful match changed the model");
        Assert.That(model.Graph.Nodes, Is.EqualTo(new[] { inner, root }));
    }

    [Test]
    public void FailedMatch_RecordsItsReason()
    {
        var model = AddAdd(c2IsInput: true);
        var before = ModelWriter.ToBytes(model);
        var pass = new RewritePass("fuse-add", new RewriteRule[] { new FuseAddConstants() });
        var result = pass.Run(model);

        Assert.That(result.Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
        Assert.That(pass.FailedMatches, Has.Count.EqualTo(2), "both Adds were tried");
        Assert.That(pass.FailedMatches.Select(f => f.Rule), Is.All.EqualTo(nameof(FuseAddConstants)));
        Assert.That(pass.FailedMatches.Select(f => f.Node), Is.EqualTo(new[] { "node 'a_node' (Add)", "node 'y_node' (Add)" }));
        Assert.That(pass.FailedMatches[0].Reason, Is.EqualTo("first input is not computed by an Add"));
        Assert.That(pass.FailedMatches[1].Reason, Is.EqualTo("second input is not a one-element float constant"));
    }

    [Test]
    public void FailedMatches_AreClearedOnEachRun()
    {
        var pass = new RewritePass("mul-by-one", new RewriteRule[] { new MulByOne() });
        var g = new Graph("mul");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        Output(g, Op(g, "Mul", new[] { x, FloatInit(g, "two", Array.Empty<long>(), 2f) }, "y"), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        pass.Run(model);
        pass.Run(model);
        Assert.That(pass.FailedMatches, Has.Count.EqualTo(1));
        Assert.That(pass.FailedMatches[0].Reason, Is.EqualTo("constant is 2, not 1"));
    }

    [Test]
    public void Rewrite_OfAGraphOutput_KeepsTheOutputName_AndComputesTheSame()
    {
        var model = AddAdd();
        var original = ModelWriter.ToBytes(model);
        var pass = new RewritePass("fuse-add", new RewriteRule[] { new FuseAddConstants() });
        var result = pass.Run(model);

        Assert.That(result.Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add" }));
        Assert.That(OutputNames(model.Graph), Is.EqualTo(new[] { "y" }));
        var add = model.Graph.Nodes.Single();
        Assert.That(add.Outputs[0], Is.SameAs(model.Graph.Outputs[0]), "the new Add produces the output directly (no Identity)");
        Assert.That(add.Inputs[0]!.Name, Is.EqualTo("x"));
        Assert.That(add.Inputs[1]!.Initializer!.ToFloatArray(), Is.EqualTo(new[] { 0.75f }));
        Assert.That(model.Graph.Outputs[0].Type, Is.EqualTo(ModelFactory.FloatType(2, 3)), "the output keeps its declared type");
        OrtCheck.AssertEquivalent(original, model);

        // A second run finds nothing left to do.
        Assert.That(pass.Run(model).Modified, Is.False);
    }

    [Test]
    public void Rewrite_ToAGraphInput_KeepsTheOutputName_ThroughAnIdentity()
    {
        var g = new Graph("mul");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3));
        var one = FloatInit(g, "one", Array.Empty<long>(), 1f);
        var m = Op(g, "Mul", new[] { x, one }, "m");
        var r = Op(g, "Relu", new[] { m }, "r");
        Output(g, r, ModelFactory.FloatType(2, 3));
        Output(g, Op(g, "Mul", new[] { x, one }, "y"), ModelFactory.FloatType(2, 3));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        var result = new RewritePass("mul-by-one", new RewriteRule[] { new MulByOne() }).Run(model);
        Assert.That(result.Modified, Is.True);
        Assert.That(OutputNames(model.Graph), Is.EqualTo(new[] { "r", "y" }));
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Relu", "Identity" }));
        Assert.That(model.Graph.Nodes[0].Inputs[0], Is.SameAs(x), "Relu now reads x directly");
        Assert.That(model.Graph.Nodes[1].Inputs[0], Is.SameAs(x));
        Assert.That(model.Graph.Nodes[1].Outputs[0].Name, Is.EqualTo("y"));
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void NoMatch_IsUnmodified_AndLeavesTheBytesAlone()
    {
        var g = new Graph("plain");
        var x = Input(g, "x", ModelFactory.FloatType(3));
        Output(g, Op(g, "Relu", new[] { Op(g, "Add", new[] { x, x }, "s") }, "y"), ModelFactory.FloatType(3));
        var model = ModelFactory.Wrap(g);
        var before = ModelWriter.ToBytes(model);
        var pass = new RewritePass("fuse-add", new RewriteRule[] { new FuseAddConstants(), new MulByOne() });
        Assert.That(pass.Run(model).Modified, Is.False);
        Assert.That(ModelWriter.ToBytes(model), Is.EqualTo(before));
    }

    [Test]
    public void RulesApplyRepeatedly_AndInsideSubgraphs()
    {
        // x → Add(1) → Add(2) → Add(3) → y in the main graph collapses to one Add of 6.
        var g = new Graph("main");
        var x = Input(g, "x", ModelFactory.FloatType(4));
        var a = Op(g, "Add", new[] { x, FloatInit(g, "k1", Array.Empty<long>(), 1f) }, "a");
        var b = Op(g, "Add", new[] { a, FloatInit(g, "k2", Array.Empty<long>(), 2f) }, "b");
        var y = Op(g, "Add", new[] { b, FloatInit(g, "k3", Array.Empty<long>(), 3f) }, "y");
        Output(g, y, ModelFactory.FloatType(4));
        // An If whose then-branch holds Add(Add(x, k4), k5) reading x from the outer scope.
        var cond = Input(g, "cond", ModelFactory.TensorType((int)Schema.TensorProto.Types.DataType.Bool));
        var then = new Graph("then");
        var ta = Op(then, "Add", new[] { x, FloatInit(then, "k4", Array.Empty<long>(), 4f) }, "ta");
        Output(then, Op(then, "Add", new[] { ta, FloatInit(then, "k5", Array.Empty<long>(), 5f) }, "tb"), ModelFactory.FloatType(4));
        var els = new Graph("else");
        Output(els, Op(els, "Neg", new[] { x }, "en"), ModelFactory.FloatType(4));
        Output(g, Op(g, "If", new[] { cond }, "z", Ir.Attribute.FromGraph("then_branch", then), Ir.Attribute.FromGraph("else_branch", els)), ModelFactory.FloatType(4));
        var model = ModelFactory.Wrap(g);
        var original = ModelWriter.ToBytes(model);

        Assert.That(new RewritePass("fuse-add", new RewriteRule[] { new FuseAddConstants() }).Run(model).Modified, Is.True);
        Assert.That(OpTypes(model), Is.EqualTo(new[] { "Add", "If" }));
        Assert.That(model.Graph.Nodes[0].Inputs[1]!.Initializer!.ToFloatArray(), Is.EqualTo(new[] { 6f }));
        Assert.That(OpTypes(then), Is.EqualTo(new[] { "Add" }));
        Assert.That(then.Nodes[0].Inputs[1]!.Initializer!.ToFloatArray(), Is.EqualTo(new[] { 9f }));
        Assert.That(then.Nodes[0].Inputs[1]!.Graph, Is.SameAs(then), "the new constant lives in the subgraph");
        Assert.That(OutputNames(then), Is.EqualTo(new[] { "tb" }));
        foreach (bool c in new[] { true, false })
            OrtCheck.AssertEquivalent(original, model, Feeds.WithBool(Feeds.Floats("x", new long[] { 4 }, 1, -2, 3.5f, 0), "cond", c));
    }
}

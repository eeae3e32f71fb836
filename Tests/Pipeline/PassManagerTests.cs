using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Passes.Cleanup;
using OnnxRev.Tests.Support;
using static OnnxRev.Tests.Support.GraphBuild;

namespace OnnxRev.Tests.Pipeline;

/// <summary>PassManager: order, per-pass records, fixed-point repetition and instruments.</summary>
public class PassManagerTests
{
    /// <summary>A pass that logs its runs and reports Modified for its first <c>modifyRuns</c> runs.</summary>
    private sealed class ScriptedPass(string name, List<string> log, int modifyRuns = 0) : IPass
    {
        public int Runs { get; private set; }

        public string Name => name;

        public PassResult Run(Model model)
        {
            log.Add(name);
            Runs++;
            return new PassResult(model, Runs <= modifyRuns);
        }
    }

    /// <summary>Removes the last node of the main graph (rewiring its uses to its first input) on each run, while there is one.</summary>
    private sealed class RemoveLastRelu : IPass
    {
        public string Name => "remove-last-relu";

        public PassResult Run(Model model)
        {
            var g = model.Graph;
            var relu = g.Nodes.LastOrDefault(n => n.OpType == "Relu" && !g.Outputs.Contains(n.Outputs[0]));
            if (relu is null) return new PassResult(model, false);
            relu.Outputs[0].ReplaceAllUsesWith(relu.Inputs[0]!);
            g.Remove(relu);
            return new PassResult(model, true);
        }
    }

    private sealed class RecordingInstrument(List<string> log, bool throwAfterFirst = false) : IPassInstrument
    {
        public List<(PassRecord Record, Model Model, int NodesSeen)> After { get; } = new();

        public int BeforeCalls { get; private set; }

        public int NodesBefore { get; private set; } = -1;

        public void BeforeAll(Model model)
        {
            BeforeCalls++;
            NodesBefore = model.Graph.Nodes.Count;
            log.Add("before-all");
        }

        public void AfterPass(PassRecord record, Model model)
        {
            After.Add((record, model, model.Graph.Nodes.Count));
            log.Add("after:" + record.Name);
            if (throwAfterFirst) throw new InvalidOperationException("instrument stops the pipeline after " + record.Name);
        }
    }

    /// <summary>x → Relu → Relu → Relu → Neg → y.</summary>
    private static Model ReluChain()
    {
        var g = new Graph("chain");
        var x = Input(g, "x", ModelFactory.FloatType(2, 3));
        var a = Op(g, "Relu", new[] { x }, "a");
        var b = Op(g, "Relu", new[] { a }, "b");
        var c = Op(g, "Relu", new[] { b }, "c");
        Output(g, Op(g, "Neg", new[] { c }, "y"), ModelFactory.FloatType(2, 3));
        return ModelFactory.Wrap(g);
    }

    [Test]
    public void PassesRunInOrder_OneRecordEach()
    {
        var log = new List<string>();
        var pm = new PassManager(new IPass[] { new ScriptedPass("first", log), new ScriptedPass("second", log, 1), new ScriptedPass("third", log) });
        var result = pm.Run(ModelFactory.LinearRelu());

        Assert.That(log, Is.EqualTo(new[] { "first", "second", "third" }), "one run, in list order, even though 'second' modified (not fixed-point)");
        Assert.That(result.Records.Select(r => r.Name), Is.EqualTo(new[] { "first", "second", "third" }));
        Assert.That(result.Records.Select(r => r.Modified), Is.EqualTo(new[] { false, true, false }));
        Assert.That(result.Records.Select(r => r.Iteration), Is.All.EqualTo(0));
        Assert.That(result.Records.Select(r => r.Seconds), Is.All.GreaterThanOrEqualTo(0.0));
        Assert.That(result.Modified, Is.True);
    }

    [Test]
    public void Records_CarryNodeCountAndBytesAfterEachPass()
    {
        var model = ModelFactory.LinearRelu(); // MatMul, Add, Relu; W [4,3] + b [3] floats = 60 bytes
        var dce = new DeadCodeElimination();
        var pm = new PassManager(new IPass[] { dce });
        var r = pm.Run(model).Records.Single();
        Assert.That(r.Name, Is.EqualTo("dead-code-elimination"));
        Assert.That(r.Modified, Is.False);
        Assert.That(r.Nodes, Is.EqualTo(3));
        Assert.That(r.Bytes, Is.EqualTo(60));

        var chain = ReluChain();
        var records = new PassManager(new IPass[] { new RemoveLastRelu(), new RemoveLastRelu() }).Run(chain).Records;
        Assert.That(records.Select(x => x.Nodes), Is.EqualTo(new[] { 3, 2 }), "each record counts the nodes after its own pass");
        Assert.That(records.Select(x => x.Bytes), Is.All.EqualTo(0));
        Assert.That(OpTypes(chain), Is.EqualTo(new[] { "Relu", "Neg" }));
    }

    [Test]
    public void NodeCountIncludesSubgraphNodes()
    {
        var g = new Graph("main");
        var cond = Input(g, "cond", ModelFactory.TensorType((int)Schema.TensorProto.Types.DataType.Bool));
        var then = new Graph("then");
        Output(then, Op(then, "Constant", Array.Empty<Value?>(), "t", Ir.Attribute.FromTensor("value", FloatTensor(new long[] { 1 }, 1f))), ModelFactory.FloatType(1));
        var els = new Graph("else");
        Output(els, Op(els, "Constant", Array.Empty<Value?>(), "e", Ir.Attribute.FromTensor("value", FloatTensor(new long[] { 1 }, 2f))), ModelFactory.FloatType(1));
        Output(g, Op(g, "If", new[] { cond }, "y", Ir.Attribute.FromGraph("then_branch", then), Ir.Attribute.FromGraph("else_branch", els)), ModelFactory.FloatType(1));
        var r = new PassManager(new IPass[] { new ScriptedPass("noop", new List<string>()) }).Run(ModelFactory.Wrap(g)).Records.Single();
        Assert.That(r.Nodes, Is.EqualTo(3));
    }

    [Test]
    public void FixedPoint_RepeatsUntilNothingChanges()
    {
        var log = new List<string>();
        var a = new ScriptedPass("a", log, modifyRuns: 2);
        var b = new ScriptedPass("b", log);
        var result = new PassManager(new IPass[] { a, b }, fixedPoint: true, maxIterations: 10).Run(ModelFactory.LinearRelu());

        // Iterations 0 and 1 change something; iteration 2 changes nothing and ends the loop.
        Assert.That(log, Is.EqualTo(new[] { "a", "b", "a", "b", "a", "b" }));
        Assert.That(result.Records.Select(r => r.Iteration), Is.EqualTo(new[] { 0, 0, 1, 1, 2, 2 }));
        Assert.That(result.Records.Select(r => r.Modified), Is.EqualTo(new[] { true, false, true, false, false, false }));
        Assert.That(result.Modified, Is.True);
    }

    [Test]
    public void FixedPoint_NothingChanges_RunsOnce_AndReportsUnmodified()
    {
        var log = new List<string>();
        var result = new PassManager(new IPass[] { new ScriptedPass("a", log) }, fixedPoint: true).Run(ModelFactory.LinearRelu());
        Assert.That(log, Is.EqualTo(new[] { "a" }));
        Assert.That(result.Modified, Is.False);
    }

    [Test]
    public void FixedPoint_StopsAtMaxIterations()
    {
        var log = new List<string>();
        var always = new ScriptedPass("always", log, modifyRuns: int.MaxValue);
        var pm = new PassManager(new IPass[] { always }, fixedPoint: true, maxIterations: 4);
        var result = pm.Run(ModelFactory.LinearRelu());
        Assert.That(pm.MaxIterations, Is.EqualTo(4));
        Assert.That(always.Runs, Is.EqualTo(4));
        Assert.That(result.Records.Select(r => r.Iteration), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(result.Modified, Is.True);
    }

    [Test]
    public void FixedPoint_WithRealPass_ConvergesOnTheModel()
    {
        var chain = ReluChain();
        var result = new PassManager(new IPass[] { new RemoveLastRelu() }, fixedPoint: true).Run(chain);
        // Three Relus go one per iteration; the fourth iteration finds none.
        Assert.That(result.Records.Select(r => r.Modified), Is.EqualTo(new[] { true, true, true, false }));
        Assert.That(result.Records.Select(r => r.Nodes), Is.EqualTo(new[] { 3, 2, 1, 1 }));
        Assert.That(OpTypes(result.Model), Is.EqualTo(new[] { "Neg" }));
        Assert.That(result.Model.Graph.Nodes[0].Inputs[0]!.Name, Is.EqualTo("x"));
    }

    [Test]
    public void Instruments_SeeBeforeAllOnce_ThenEveryPass()
    {
        var log = new List<string>();
        var chain = ReluChain();
        var inst = new RecordingInstrument(log);
        var pm = new PassManager(new IPass[] { new RemoveLastRelu(), new ScriptedPass("noop", log) });
        pm.Instruments.Add(inst);
        var result = pm.Run(chain);

        Assert.That(log, Is.EqualTo(new[] { "before-all", "after:remove-last-relu", "noop", "after:noop" }), "BeforeAll precedes the first pass; AfterPass follows each");
        Assert.That(inst.BeforeCalls, Is.EqualTo(1));
        Assert.That(inst.NodesBefore, Is.EqualTo(4), "BeforeAll sees the model before any pass");
        Assert.That(inst.After.Select(a => a.NodesSeen), Is.EqualTo(new[] { 3, 3 }), "AfterPass sees the model the pass returned");
        Assert.That(inst.After.Select(a => a.Record), Is.EqualTo(result.Records), "instruments get the same records the result holds");
        Assert.That(inst.After.All(a => ReferenceEquals(a.Model, result.Model)), Is.True);
    }

    [Test]
    public void Instruments_SeeEveryIteration_InFixedPointMode()
    {
        var log = new List<string>();
        var inst = new RecordingInstrument(log);
        var pm = new PassManager(new IPass[] { new ScriptedPass("p", log, modifyRuns: 1) }, fixedPoint: true);
        pm.Instruments.Add(inst);
        pm.Run(ModelFactory.LinearRelu());
        Assert.That(log, Is.EqualTo(new[] { "before-all", "p", "after:p", "p", "after:p" }));
        Assert.That(inst.After.Select(a => a.Record.Iteration), Is.EqualTo(new[] { 0, 1 }));
    }

    [Test]
    public void InstrumentThrowing_StopsThePipeline()
    {
        var log = new List<string>();
        var second = new ScriptedPass("second", log);
        var pm = new PassManager(new IPass[] { new ScriptedPass("first", log, 1), second }, fixedPoint: true);
        var observer = new RecordingInstrument(log);
        pm.Instruments.Add(new RecordingInstrument(log, throwAfterFirst: true));
        pm.Instruments.Add(observer);

        var ex = Assert.Throws<InvalidOperationException>(() => pm.Run(ModelFactory.LinearRelu()));
        Assert.That(ex!.Message, Does.Contain("after first"));
        Assert.That(second.Runs, Is.EqualTo(0), "no pass runs after an instrument throws");
        Assert.That(observer.After, Is.Empty, "later instruments are not called for the pass that was stopped");
        Assert.That(log, Is.EqualTo(new[] { "before-all", "before-all", "first", "after:first" }));
    }

    [Test]
    public void CompositePass_ReportsOneRecord_AndRepeatsItsPassesToAFixedPoint()
    {
        var log = new List<string>();
        var inner = new ScriptedPass("inner", log, modifyRuns: 2);
        var composite = new CompositePass("group", new IPass[] { inner });
        var result = new PassManager(new IPass[] { composite }).Run(ModelFactory.LinearRelu());
        Assert.That(inner.Runs, Is.EqualTo(3));
        Assert.That(result.Records.Single().Name, Is.EqualTo("group"));
        Assert.That(result.Records.Single().Modified, Is.True);

        var capped = new ScriptedPass("capped", log, modifyRuns: int.MaxValue);
        Assert.That(new CompositePass("c", new IPass[] { capped }, maxIterations: 3).Run(ModelFactory.LinearRelu()).Modified, Is.True);
        Assert.That(capped.Runs, Is.EqualTo(3));

        var once = new ScriptedPass("once", log, modifyRuns: int.MaxValue);
        new CompositePass("c", new IPass[] { once }, fixedPoint: false).Run(ModelFactory.LinearRelu());
        Assert.That(once.Runs, Is.EqualTo(1));
    }
}

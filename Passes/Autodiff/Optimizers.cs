using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Autodiff;

/// <summary>Which optimizer the training graph applies.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with optional momentum, Nesterov and (coupled, L2) weight decay.</summary>
    Sgd,
    /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter) and bias correction.</summary>
    AdamW,
}

/// <summary>Optimizer settings. The learning rate and the step number are graph inputs, so schedules need no graph change.</summary>
public sealed record OptimizerOptions(
    OptimizerKind Kind = OptimizerKind.AdamW,
    double Momentum = 0,
    bool Nesterov = false,
    double WeightDecay = 0,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Epsilon = 1e-8,
    double? ClipGlobalNorm = null)
{
    /// <summary>Names of the per-parameter state tensors, in order.</summary>
    public IReadOnlyList<string> StateNames => Kind switch
    {
        OptimizerKind.AdamW => new[] { "m", "v" },
        _ => Momentum != 0 ? new[] { "momentum" } : Array.Empty<string>(),
    };
}

/// <summary>
/// Optimizer updates as standard ONNX subgraphs (t = step, counted from 1):
/// <code>
/// SGD:   g' = g + wd·p;  b = μ·b + g';  u = nesterov ? g' + μ·b : b  (u = g' without momentum);  p ← p − lr·u
/// AdamW: m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);  p ← p − lr·(m̂/(√v̂ + ε) + wd·p)
/// clip:  n = √Σ‖g‖²;  g ← g·min(1, c/(n + 1e−6))  (before the update, over all gradients together)
/// </code>
/// </summary>
public static class Optimizers
{
    /// <summary>Emits the update of every parameter; returns the new parameter and new states for each, in order.</summary>
    public static IReadOnlyList<(Value Param, IReadOnlyList<Value> States)> Emit(GraphBuilder b, OpsetOps ops, OptimizerOptions o, Value lr, Value step,
        IReadOnlyList<(Value Param, Value Grad, IReadOnlyList<Value> States)> items)
    {
        var grads = Clip(b, ops, o, items.Select(i => i.Grad).ToList());
        var (bias1, bias2) = BiasCorrections(b, o, step);
        return items.Select((item, k) => UpdateOne(b, o, lr, bias1, bias2, item.Param, grads[k], item.States)).ToList();
    }

    /// <summary>
    /// Global-norm clipping when the options ask for it (all gradients scaled by min(1, c/(‖g‖ + 1e−6)));
    /// otherwise the gradients unchanged.
    /// </summary>
    public static IReadOnlyList<Value> Clip(GraphBuilder b, OpsetOps ops, OptimizerOptions o, IReadOnlyList<Value> grads)
    {
        if (o.ClipGlobalNorm is not { } clip) return grads;
        var squares = grads.Select(g => ops.ReduceSum(b.Op("Mul", new[] { g, g }), Array.Empty<long>(), keepDims: false)).ToList();
        var total = squares.Count == 1 ? squares[0] : b.Op("Sum", squares);
        var norm = b.Op("Sqrt", new[] { total }, hint: "grad_norm");
        var scale = b.Op("Min", new[] { Const(b, 1), b.Op("Div", new[] { Const(b, clip), b.Op("Add", new[] { norm, Const(b, 1e-6) }) }) }, hint: "clip_scale");
        return grads.Select(g => b.Op("Mul", new[] { g, scale })).ToList();
    }

    /// <summary>Names of the inputs and outputs of <see cref="UpdateModel"/>.</summary>
    public static class UpdateNames
    {
        /// <summary>The parameter's current value.</summary>
        public const string Param = "param";
        /// <summary>Its gradient (already clipped).</summary>
        public const string Grad = "grad";
        /// <summary>The updated parameter.</summary>
        public const string ParamOut = "param.out";
        /// <summary>Input name of optimizer state <paramref name="state"/> (e.g. "m").</summary>
        public static string State(string state) => state;
        /// <summary>Output name of the updated optimizer state <paramref name="state"/>.</summary>
        public static string StateOut(string state) => state + ".out";
    }

    /// <summary>
    /// The update of one parameter as a model of its own: inputs <c>param</c>, <c>grad</c>, the optimizer states
    /// (<see cref="OptimizerOptions.StateNames"/>), <c>lr</c> and <c>step</c>; outputs <c>param.out</c> and the states'
    /// <c>.out</c>. The tensors have no declared shape, so one session updates parameters of every shape, one at a
    /// time: a trainer that runs it parameter by parameter needs only one spare buffer per distinct shape for the
    /// new values, instead of a second copy of every parameter and state as an update inside the step graph holds.
    /// The arithmetic is the same nodes <see cref="Emit"/> puts in a step graph.
    /// </summary>
    public static Model UpdateModel(OptimizerOptions o)
    {
        var header = new Schema.ModelProto { IrVersion = 8, ProducerName = "onnxrev", ProducerVersion = "optimizer", DocString = $"{o.Kind} update of one parameter" };
        header.OpsetImport.Add(new Schema.OperatorSetIdProto { Domain = "", Version = 17 });
        var model = new Model(new Graph("optimizer_update"), header);
        var g = model.Graph;
        foreach (var n in new[] { UpdateNames.Param, UpdateNames.Grad, UpdateNames.ParamOut }.Concat(o.StateNames).Concat(o.StateNames.Select(UpdateNames.StateOut))
            .Append(TrainingArtifacts.LrInput).Append(TrainingArtifacts.StepInput))
            model.Names.Reserve(n);
        Value In(string name, bool scalar) => g.AddInput(new Value(name, FloatType(scalar)));
        var p = In(UpdateNames.Param, false);
        var grad = In(UpdateNames.Grad, false);
        var states = o.StateNames.Select(s => In(UpdateNames.State(s), false)).ToList();
        var lr = In(TrainingArtifacts.LrInput, true);
        var step = In(TrainingArtifacts.StepInput, true);
        var b = new GraphBuilder(g);
        var (bias1, bias2) = BiasCorrections(b, o, step);
        var (newP, newStates) = UpdateOne(b, o, lr, bias1, bias2, p, grad, states);
        void Out(Value v, string name)
        {
            var o2 = new Value(name, FloatType(false));
            g.Append(new Node("Identity", new[] { v }, new[] { o2 }, name: name + "_identity"));
            g.Outputs.Add(o2);
        }
        Out(newP, UpdateNames.ParamOut);
        for (int s = 0; s < newStates.Count; s++) Out(newStates[s], UpdateNames.StateOut(o.StateNames[s]));
        return model;
    }

    private static Schema.TypeProto FloatType(bool scalar) => new()
    {
        TensorType = new Schema.TypeProto.Types.Tensor { ElemType = (int)Schema.TensorProto.Types.DataType.Float, Shape = scalar ? new Schema.TensorShapeProto() : null },
    };

    private static Value Const(GraphBuilder b, double v) => b.Initializer(Tensor.FromFloats("", Array.Empty<long>(), new[] { (float)v }), "opt_const");

    private static (Value? Bias1, Value? Bias2) BiasCorrections(GraphBuilder b, OptimizerOptions o, Value step) => o.Kind != OptimizerKind.AdamW
        ? (null, null)
        : (b.Op("Sub", new[] { Const(b, 1), b.Op("Pow", new[] { Const(b, o.Beta1), step }) }, hint: "adam_bias1"),
           b.Op("Sub", new[] { Const(b, 1), b.Op("Pow", new[] { Const(b, o.Beta2), step }) }, hint: "adam_bias2"));

    private static (Value Param, IReadOnlyList<Value> States) UpdateOne(GraphBuilder b, OptimizerOptions o, Value lr, Value? bias1, Value? bias2,
        Value p, Value g, IReadOnlyList<Value> states)
    {
        Value F(double v) => Const(b, v);
        if (o.Kind == OptimizerKind.AdamW)
        {
            var m = b.Op("Add", new[] { b.Op("Mul", new[] { states[0], F(o.Beta1) }), b.Op("Mul", new[] { g, F(1 - o.Beta1) }) }, hint: p.Name + ".m");
            var v = b.Op("Add", new[] { b.Op("Mul", new[] { states[1], F(o.Beta2) }), b.Op("Mul", new[] { b.Op("Mul", new[] { g, g }), F(1 - o.Beta2) }) }, hint: p.Name + ".v");
            var mhat = b.Op("Div", new[] { m, bias1! });
            var vhat = b.Op("Div", new[] { v, bias2! });
            Value update = b.Op("Div", new[] { mhat, b.Op("Add", new[] { b.Op("Sqrt", new[] { vhat }), F(o.Epsilon) }) });
            if (o.WeightDecay != 0) update = b.Op("Add", new[] { update, b.Op("Mul", new[] { p, F(o.WeightDecay) }) });
            var newP = b.Op("Sub", new[] { p, b.Op("Mul", new[] { update, lr }) }, hint: p.Name + ".updated");
            return (newP, new[] { m, v });
        }
        if (o.WeightDecay != 0) g = b.Op("Add", new[] { g, b.Op("Mul", new[] { p, F(o.WeightDecay) }) });
        Value step = g;
        var newStates = new List<Value>();
        if (o.Momentum != 0)
        {
            var buf = b.Op("Add", new[] { b.Op("Mul", new[] { states[0], F(o.Momentum) }), g }, hint: p.Name + ".momentum");
            newStates.Add(buf);
            step = o.Nesterov ? b.Op("Add", new[] { g, b.Op("Mul", new[] { buf, F(o.Momentum) }) }) : buf;
        }
        return (b.Op("Sub", new[] { p, b.Op("Mul", new[] { step, lr }) }, hint: p.Name + ".updated"), newStates);
    }
}

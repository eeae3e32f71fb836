using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Shapes;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff;

/// <summary>The gradients the engine added: one value per requested parameter, in request order.</summary>
public sealed record GradientResult(IReadOnlyList<(Value Parameter, Value Gradient)> Gradients, IReadOnlyList<string> Unreached);

/// <summary>
/// Reverse-mode automatic differentiation over the IR. Given seed gradients for some values (the
/// loss, or the logits with a fused loss gradient) and the values to differentiate with respect to,
/// it walks the forward nodes in reverse order, calls each node's gradient rule, sums fan-out once
/// here (not in rules), reduces broadcast gradients here, and appends standard ai.onnx nodes only.
/// </summary>
public static class GradientEngine
{
    /// <summary>Adds gradient nodes to the model's main graph.</summary>
    /// <param name="model">The model; gradient nodes are appended to its main graph.</param>
    /// <param name="seeds">Gradient of each seed value (e.g. loss → 1, or logits → dLoss/dLogits).</param>
    /// <param name="wrt">Values to differentiate with respect to (trainable parameters).</param>
    /// <param name="registry">Gradient rules.</param>
    /// <param name="plan">Optional: decides which value a rule reads in place of a forward value (recomputed or reconstructed twins).</param>
    public static GradientResult Build(Model model, IReadOnlyDictionary<Value, Value> seeds, IReadOnlyList<Value> wrt,
        GradientRegistry registry, IActivationPlan? plan = null)
    {
        var run = new Run(model, wrt, plan, registry);
        foreach (var (v, g) in seeds) run.Accumulate(v, g);
        var forward = model.Graph.Nodes.ToList();
        var seedsSet = seeds.Keys.ToHashSet();
        var onPath = run.BackwardReachable(seedsSet);
        for (int i = forward.Count - 1; i >= 0; i--)
        {
            var node = forward[i];
            if (!onPath.Contains(node) || !node.Inputs.Any(v => v is not null && run.NeedsGrad(v))) continue;
            if (!node.Outputs.Any(o => run.HasGrad(o))) continue;
            var key = node.Key;
            if (!registry.TryGet(key, run.Opset, out var rule))
                throw new OnnxRevException($"no gradient rule for operator '{key}' ({node.Describe()}), which lies between a trainable parameter and the loss; freeze the parameters before it or use another operator");
            if (rule is null) continue;
            if (node.Subgraphs.Any())
                throw new OnnxRevException($"{node.Describe()} has subgraphs; gradients through control flow are not supported");
            run.Current = node;
            rule(new GradientContext(run, node));
            run.Current = null;
        }
        var result = new List<(Value, Value)>();
        var unreached = new List<string>();
        foreach (var p in wrt)
        {
            var g = run.GradOf(p);
            if (g is null)
            {
                unreached.Add(p.Name);
                g = run.Ops.Fill(p, 0, run.FloatTypeOf(p));
            }
            result.Add((p, g));
        }
        return new GradientResult(result, unreached);
    }

    /// <summary>The state of one gradient construction.</summary>
    internal sealed class Run
    {
        private readonly Dictionary<Value, List<Value>> _pending = new();
        private readonly Dictionary<Value, Value> _summed = new();
        private readonly HashSet<Value> _needs = new();
        private readonly HashSet<Value> _wrt = new();
        private readonly List<Value> _newParameterGradients = new();
        private readonly IActivationPlan? _plan;
        private BackwardContext? _context;
        private readonly Dictionary<(int, double), Value> _scalars = new();

        private readonly GradientRegistry? _registry;

        public Run(Model model, IReadOnlyList<Value> wrt, IActivationPlan? plan, GradientRegistry? registry = null)
        {
            _registry = registry;
            Model = model;
            Opset = (int)(model.OpsetVersion("") ?? 1);
            Shapes = ShapeInference.Infer(model);
            Builder = new GraphBuilder(model.Graph);
            Ops = new OpsetOps(Builder, Opset, Int64s);
            _plan = plan;
            ForwardReachable(wrt);
        }

        public Model Model { get; }
        public int Opset { get; }
        public ShapeInfo Shapes { get; }
        public GraphBuilder Builder { get; }
        public OpsetOps Ops { get; }

        /// <summary>The forward node whose rule is running.</summary>
        public Node? Current { get; set; }

        public Value Substitute(Value v) => _plan is null ? v : _plan.Resolve(v, _context ??= new BackwardContext(this));

        /// <summary>Gives <paramref name="twin"/> the shape and type facts of <paramref name="original"/>.</summary>
        public void Alias(Value twin, Value original)
        {
            if (Shapes.TryGetType(original, out int t, out var dims)) Shapes.Set(twin, t, dims);
            if (Shapes.TryGetData(original, out var data)) Shapes.SetData(twin, data);
        }

        /// <summary>
        /// Marks every float value computed from a trainable parameter, and the integer outputs of ops the registry
        /// declares straight-through (QuantizeLinear: its gradient passes on to the DequantizeLinear reading it).
        /// </summary>
        private void ForwardReachable(IReadOnlyList<Value> wrt)
        {
            foreach (var p in wrt) { _needs.Add(p); _wrt.Add(p); }
            foreach (var n in Model.Graph.Nodes)
                if (n.Inputs.Any(v => v is not null && _needs.Contains(v)))
                    foreach (var o in n.Outputs)
                        if (IsFloat(o) || _registry?.IsStraightThrough(n.Key) == true) _needs.Add(o);
        }

        public HashSet<Node> BackwardReachable(HashSet<Value> seeds)
        {
            var nodes = new HashSet<Node>();
            var stack = new Stack<Value>(seeds);
            var seen = new HashSet<Value>(seeds);
            while (stack.Count > 0)
            {
                var v = stack.Pop();
                if (v.Producer is not { } p || !ReferenceEquals(p.Graph, Model.Graph) || !nodes.Add(p)) continue;
                foreach (var i in p.Inputs)
                    if (i is not null && seen.Add(i)) stack.Push(i);
            }
            return nodes;
        }

        private bool IsFloat(Value v)
        {
            int t = Shapes.TryGetType(v, out int et, out _) && et != 0 ? et : v.ElementType;
            return t is 0 or (int)DT.Float or (int)DT.Double or (int)DT.Float16 or (int)DT.Bfloat16;
        }

        public int FloatTypeOf(Value v)
        {
            int t = Shapes.TryGetType(v, out int et, out _) && et != 0 ? et : v.ElementType;
            return t == 0 ? (int)DT.Float : t;
        }

        public bool NeedsGrad(Value v) => _needs.Contains(v);

        public bool HasGrad(Value v) => _summed.ContainsKey(v) || _pending.ContainsKey(v);

        public void Accumulate(Value v, Value grad)
        {
            if (_summed.ContainsKey(v)) throw new InvalidOperationException($"gradient of '{v.Name}' was already consumed before all contributions arrived");
            if (!_pending.TryGetValue(v, out var list)) _pending[v] = list = new List<Value>();
            list.Add(grad);
            if (_wrt.Contains(v)) _newParameterGradients.Add(grad);
        }

        /// <summary>Contributions to parameter gradients emitted since the last call.</summary>
        public IReadOnlyList<Value> DrainParameterGradients()
        {
            var list = _newParameterGradients.ToList();
            _newParameterGradients.Clear();
            return list;
        }

        /// <summary>The total gradient of a value: its contributions summed once, here.</summary>
        public Value? GradOf(Value v)
        {
            ArgumentNullException.ThrowIfNull(v);
            if (_summed.TryGetValue(v, out var g)) return g;
            if (!_pending.TryGetValue(v, out var list)) return null;
            g = list.Count == 1 ? list[0] : Builder.Op("Sum", list, hint: "grad_sum");
            _pending.Remove(v);
            _summed[v] = g;
            return g;
        }

        public Value Int64s(long[] values)
        {
            return Builder.Initializer(Tensor.FromInt64s("", new long[] { values.Length }, values), "grad_const");
        }

        public Value Scalar(double value, int elemType)
        {
            if (_scalars.TryGetValue((elemType, value), out var v)) return v;
            var t = elemType switch
            {
                (int)DT.Double => Tensor.FromRawBytes("", elemType, Array.Empty<long>(), BitConverter.GetBytes(value)),
                (int)DT.Float16 => Tensor.FromRawBytes("", elemType, Array.Empty<long>(), BitConverter.GetBytes((Half)value)),
                _ => Tensor.FromRawBytes("", (int)DT.Float, Array.Empty<long>(), BitConverter.GetBytes((float)value)),
            };
            v = Builder.Initializer(t, "grad_scalar");
            _scalars[(elemType, value)] = v;
            return v;
        }

        /// <summary>
        /// Sums a gradient shaped like <paramref name="broadcastOf"/> down to the shape of
        /// <paramref name="target"/> (numpy broadcasting in reverse), from shapes known statically.
        /// </summary>
        public Value ReduceToShape(Value grad, Value broadcastOf, Value target)
        {
            var from = DimsOf(broadcastOf);
            var to = DimsOf(target);
            if (from is null || to is null)
                throw new OnnxRevException($"cannot reduce the broadcast gradient of '{target.Name}': the shapes of '{broadcastOf.Name}' or '{target.Name}' are not known statically");
            int lead = from.Length - to.Length;
            var axes = new List<long>();
            for (int a = 0; a < from.Length; a++)
            {
                if (a < lead) { axes.Add(a); continue; }
                var t = to[a - lead];
                var f = from[a];
                if (t.SameAs(f)) continue;
                if (t.Is(1)) { axes.Add(a); continue; }
                throw new OnnxRevException($"cannot tell whether dimension {a} of '{target.Name}' ({t}) was broadcast to {f} in '{broadcastOf.Name}'");
            }
            if (axes.Count == 0) return grad;
            var reduced = Ops.ReduceSum(grad, axes.ToArray(), keepDims: true);
            return lead > 0 ? Ops.ReshapeLike(reduced, target) : reduced;
        }

        private Dim[]? DimsOf(Value v)
        {
            if (Shapes.TryGetType(v, out _, out var dims) && dims is not null) return dims;
            var s = v.Shape;
            return s?.Select(d => d is null ? Dim.Unknown : Dim.Of(d.Value)).ToArray();
        }
    }
}

using Google.Protobuf;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Support;

/// <summary>One input of a gradient-check case.</summary>
/// <param name="Shape">Static shape.</param>
/// <param name="Differentiable">Whether its gradient is checked.</param>
/// <param name="Values">Fixed values (required for integer inputs); null for seeded random values in [-1, 1]. A non-differentiable input with fixed values becomes a constant initializer.</param>
/// <param name="ElemType">Element type; 0 means the case's float type.</param>
public sealed record GradInput(long[] Shape, bool Differentiable = true, double[]? Values = null, int ElemType = 0);

/// <summary>
/// A single-node gradient check. The loss is Σ_k ReduceSum(Y_k · R_k) over the node's float
/// outputs with fixed random R_k, so dL/dY_k = R_k; the engine's gradient (run in ONNX Runtime, graph
/// optimizations off) is compared with central finite differences of that loss, computed in float64
/// by default: |analytic − numeric| ≤ atol + rtol·|numeric|.
/// </summary>
public sealed class GradCheck
{
    /// <summary>Operator type.</summary>
    public required string Op { get; init; }

    /// <summary>Inputs in order (null entries are omitted optional inputs).</summary>
    public required IReadOnlyList<GradInput?> Inputs { get; init; }

    /// <summary>
    /// Optional: builds a forward subgraph from the inputs (in place of one <see cref="Op"/> node) and returns its
    /// <see cref="Outputs"/> outputs; <see cref="Op"/> then only names the case in messages.
    /// </summary>
    public Func<Graph, IReadOnlyList<Value?>, IReadOnlyList<Value>>? Build { get; init; }

    /// <summary>Node attributes.</summary>
    public IReadOnlyList<Ir.Attribute> Attributes { get; init; } = Array.Empty<Ir.Attribute>();

    /// <summary>Number of node outputs.</summary>
    public int Outputs { get; init; } = 1;

    /// <summary>Which outputs feed the loss (default: all floating-point outputs).</summary>
    public IReadOnlyList<int>? LossOutputs { get; init; }

    /// <summary>Opset of the test model.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>Float type of the check: double (default) or float where ORT has no double kernel.</summary>
    public int FloatType { get; init; } = (int)DT.Double;

    /// <summary>Finite-difference step.</summary>
    public double Eps { get; init; } = 1e-6;

    /// <summary>Relative tolerance.</summary>
    public double Rtol { get; init; } = 1e-6;

    /// <summary>Absolute tolerance.</summary>
    public double Atol { get; init; } = 1e-8;

    /// <summary>At most this many elements per input are perturbed (chosen with the seed).</summary>
    public int MaxElements { get; init; } = 40;

    /// <summary>Seed for values, R and the perturbed elements.</summary>
    public int Seed { get; init; } = 1;

    private static readonly RunnerOptions Options = new() { OptimizationLevel = OptimizationLevel.None };

    /// <summary>Runs the check; fails the test with the worst element on a mismatch. Returns the largest relative error seen.</summary>
    public double Run()
    {
        var rng = new Random(Seed);
        var feeds = new Dictionary<string, TensorProto>();
        for (int i = 0; i < Inputs.Count; i++)
        {
            if (Inputs[i] is not { } inp) continue;
            int type = inp.ElemType == 0 ? FloatType : inp.ElemType;
            long n = inp.Shape.Aggregate(1L, (a, b) => a * b);
            var values = inp.Values ?? Enumerable.Range(0, (int)n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            if (IsConstantInput(inp)) continue;
            feeds[$"x{i}"] = Make($"x{i}", type, inp.Shape, values);
        }

        // Forward once to learn the output shapes and types.
        var forward = BuildForward();
        var outputs = RunModel(forward, feeds);
        var lossOutputs = LossOutputs ?? Enumerable.Range(0, Outputs).Where(k => IsFloat(outputs[$"y{k}"].DataType)).ToList();
        var weights = lossOutputs.ToDictionary(k => k, k =>
        {
            var y = outputs[$"y{k}"];
            long n = y.Dims.Aggregate(1L, (a, b) => a * b);
            return Make($"r{k}", y.DataType, y.Dims.ToArray(), Enumerable.Range(0, (int)n).Select(_ => rng.NextDouble() * 2 - 1).ToArray());
        });

        var lossBytes = ModelWriter.ToBytes(WithLoss(BuildForward(), weights, out _));
        var gradModel = WithLoss(BuildForward(), weights, out var loss);
        var wrt = Enumerable.Range(0, Inputs.Count).Where(i => Inputs[i]?.Differentiable == true)
            .Select(i => gradModel.Graph.Inputs.Find($"x{i}")!).ToList();
        var seed = gradModel.Graph.AddInitializer(new Value("loss_seed"), Scalar(FloatType, 1.0));
        var result = GradientEngine.Build(gradModel, new Dictionary<Value, Value> { [loss] = seed }, wrt, StandardGradients.Registry);
        foreach (var (p, gv) in result.Gradients)
        {
            var o = new Value($"grad_{p.Name}");
            gradModel.Graph.Append(new Node("Identity", new[] { gv }, new[] { o }));
            gradModel.Graph.Outputs.Add(o);
        }
        var analytic = RunModel(gradModel, feeds);

        double worstRel = 0;
        foreach (var p in wrt)
        {
            var grad = ToDoubles(analytic[$"grad_{p.Name}"]);
            var x = feeds[p.Name];
            var xs = ToDoubles(x);
            Assert.That(grad, Has.Length.EqualTo(xs.Length), $"gradient of {p.Name} has the wrong size");
            var indices = Enumerable.Range(0, xs.Length).OrderBy(_ => rng.Next()).Take(MaxElements).ToList();
            foreach (int idx in indices)
            {
                double Loss(double delta)
                {
                    var moved = (double[])xs.Clone();
                    moved[idx] += delta;
                    var f = new Dictionary<string, TensorProto>(feeds) { [p.Name] = Make(p.Name, x.DataType, x.Dims.ToArray(), moved) };
                    return ToDoubles(RunBytes(lossBytes, f)["loss"])[0];
                }
                double numeric = (Loss(Eps) - Loss(-Eps)) / (2 * Eps);
                double err = Math.Abs(grad[idx] - numeric);
                double allowed = Atol + Rtol * Math.Abs(numeric);
                worstRel = Math.Max(worstRel, err / Math.Max(Math.Abs(numeric), 1e-12));
                Assert.That(err, Is.LessThanOrEqualTo(allowed),
                    $"{Op}: d loss / d {p.Name}[{idx}] analytic {grad[idx]:R} vs finite difference {numeric:R} (rtol {Rtol}, atol {Atol}, eps {Eps})");
            }
        }
        return worstRel;
    }

    private Model BuildForward()
    {
        var g = new Graph("gradcheck");
        var inputs = new List<Value?>();
        for (int i = 0; i < Inputs.Count; i++)
        {
            if (Inputs[i] is not { } inp) { inputs.Add(null); continue; }
            if (IsConstantInput(inp))
            {
                // Fixed non-differentiable inputs (axes, indices, shapes) are constants, as in real models.
                var t = Make($"x{i}", inp.ElemType == 0 ? FloatType : inp.ElemType, inp.Shape, inp.Values!);
                inputs.Add(g.AddInitializer(new Value($"x{i}"), new Tensor(t)));
                continue;
            }
            var v = new Value($"x{i}", ModelFactory.TensorType(inp.ElemType == 0 ? FloatType : inp.ElemType, inp.Shape)) { Graph = g };
            g.Inputs.Add(v);
            inputs.Add(v);
        }
        var outs = Enumerable.Range(0, Outputs).Select(k => new Value($"y{k}")).ToArray();
        if (Build is not null)
        {
            var m = ModelFactory.Wrap(g, Opset);
            var built = Build(g, inputs);
            for (int k = 0; k < outs.Length; k++) g.Append(new Node("Identity", new[] { built[k] }, new[] { outs[k] }, name: $"y{k}_identity"));
            foreach (var o in outs) g.Outputs.Add(o);
            return m;
        }
        var node = new Node(Op, inputs, outs, name: "under_test");
        node.Attributes.AddRange(Attributes);
        g.Append(node);
        foreach (var o in outs) g.Outputs.Add(o);
        return ModelFactory.Wrap(g, Opset);
    }

    private static Model WithLoss(Model m, Dictionary<int, TensorProto> weights, out Value loss)
    {
        var g = m.Graph;
        var terms = new List<Value>();
        foreach (var (k, r) in weights)
        {
            var rv = g.AddInitializer(new Value($"r{k}"), new Tensor(r.Clone()));
            var prod = new Value($"prod{k}");
            g.Append(new Node("Mul", new[] { g.Outputs[k], rv }, new[] { prod }));
            var term = new Value($"term{k}");
            var sum = new Node("ReduceSum", new[] { prod }, new[] { term });
            sum.Attributes.Add(Ir.Attribute.FromInt("keepdims", 0));
            g.Append(sum);
            terms.Add(term);
        }
        loss = new Value("loss");
        g.Append(new Node("Sum", terms, new[] { loss }));
        g.Outputs.Clear();
        g.Outputs.Add(loss);
        return m;
    }

    private static Dictionary<string, TensorProto> RunModel(Model m, Dictionary<string, TensorProto> feeds) => RunBytes(ModelWriter.ToBytes(m), feeds);

    private static Dictionary<string, TensorProto> RunBytes(byte[] model, Dictionary<string, TensorProto> feeds)
    {
        using var runner = new OrtRunner(model, Options, "gradcheck");
        var inputs = runner.Inputs.ToDictionary(i => i.Name, i => DataValue.Tensor(feeds[i.Name]));
        return runner.Run(inputs).ToDictionary(kv => kv.Key, kv => kv.Value.AsTensor());
    }

    private static bool IsConstantInput(GradInput inp) => !inp.Differentiable && inp.Values is not null;

    private static bool IsFloat(int t) => t is (int)DT.Float or (int)DT.Double or (int)DT.Float16;

    private static Tensor Scalar(int type, double v) => type == (int)DT.Double
        ? Tensor.FromRawBytes("", type, Array.Empty<long>(), BitConverter.GetBytes(v))
        : Tensor.FromRawBytes("", (int)DT.Float, Array.Empty<long>(), BitConverter.GetBytes((float)v));

    /// <summary>A tensor of the given type from doubles.</summary>
    public static TensorProto Make(string name, int type, long[] shape, double[] values)
    {
        byte[] raw = type switch
        {
            (int)DT.Double => values.SelectMany(BitConverter.GetBytes).ToArray(),
            (int)DT.Float => values.SelectMany(v => BitConverter.GetBytes((float)v)).ToArray(),
            (int)DT.Int64 => values.SelectMany(v => BitConverter.GetBytes((long)v)).ToArray(),
            (int)DT.Int32 => values.SelectMany(v => BitConverter.GetBytes((int)v)).ToArray(),
            (int)DT.Bool => values.Select(v => v != 0 ? (byte)1 : (byte)0).ToArray(),
            (int)DT.Uint8 => values.Select(v => (byte)v).ToArray(),
            (int)DT.Int8 => values.Select(v => unchecked((byte)(sbyte)v)).ToArray(),
            _ => throw new ArgumentException($"type {type}"),
        };
        var t = new TensorProto { Name = name, DataType = type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(shape);
        return t;
    }

    /// <summary>The elements of a float or double tensor as doubles.</summary>
    public static double[] ToDoubles(TensorProto t)
    {
        var raw = TensorEncoding.InlineRawBytes(t);
        return t.DataType == (int)DT.Double
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw).ToArray()
            : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray().Select(f => (double)f).ToArray();
    }
}

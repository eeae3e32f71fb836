using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup.Shapes;
using OnnxRev.Schema;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff;

/// <summary>Which loss to attach.</summary>
public enum LossKind
{
    /// <summary>Softmax cross-entropy of logits [N, C] against int64 class labels [N] (mean over non-ignored rows).</summary>
    CrossEntropy,
    /// <summary>Mean squared error against float targets shaped like the prediction.</summary>
    Mse,
    /// <summary>Mean absolute error.</summary>
    L1,
    /// <summary>Binary cross-entropy on logits against float targets in [0, 1].</summary>
    BceWithLogits,
    /// <summary>A scalar output of the model is the loss itself.</summary>
    Output,
}

/// <summary>Loss settings.</summary>
/// <param name="Kind">The loss.</param>
/// <param name="IgnoreIndex">Cross-entropy: rows with this label count neither in the loss nor in the mean.</param>
/// <param name="LabelSmoothing">Cross-entropy: ε, the target is (1−ε)·onehot + ε/C.</param>
/// <param name="Prediction">Name of the model output the loss reads (default: the first output), or the loss output for <see cref="LossKind.Output"/>.</param>
public sealed record LossOptions(LossKind Kind, long IgnoreIndex = -100, float LabelSmoothing = 0f, string? Prediction = null)
{
    /// <summary>Parses the CLI's loss names.</summary>
    public static LossKind Parse(string name) => name switch
    {
        "cross-entropy" => LossKind.CrossEntropy,
        "mse" => LossKind.Mse,
        "l1" => LossKind.L1,
        "bce-with-logits" => LossKind.BceWithLogits,
        "output" => LossKind.Output,
        _ => throw new OnnxRevException($"unknown loss '{name}'; choose cross-entropy, mse, l1, bce-with-logits or output"),
    };
}

/// <summary>The loss attached to a model: its scalar value, the seed gradients for the engine, and the labels input (if any).</summary>
public sealed record LossResult(Value Loss, IReadOnlyDictionary<Value, Value> Seeds, Value? Labels, Value Prediction);

/// <summary>
/// Attaches a loss built from core ONNX ops to a model, together with its gradient with respect to
/// the prediction written in closed form (the way fused loss kernels do it), which seeds the engine:
/// <code>
/// cross-entropy: L = Σ_valid −Σ_c t·log_softmax(z) / n_valid,  dL/dz = (softmax(z)·valid − t) / n_valid
/// mse:           L = mean((p − y)²),                           dL/dp = 2(p − y) / numel
/// l1:            L = mean(|p − y|),                            dL/dp = sign(p − y) / numel
/// bce-logits:    L = mean(max(z,0) − z·y + log(1 + e^−|z|)),   dL/dz = (σ(z) − y) / numel
/// </code>
/// </summary>
public static class Losses
{
    /// <summary>Name of the labels graph input the loss adds.</summary>
    public const string LabelsInput = "labels";

    /// <summary>Name of the loss graph output.</summary>
    public const string LossOutput = "loss";

    /// <summary>Adds the loss to the model's main graph (and a "labels" input where the loss needs one).</summary>
    public static LossResult Attach(Model model, LossOptions options)
    {
        var g = model.Graph;
        var prediction = options.Prediction is null ? g.Outputs[0]
            : g.Outputs.Find(options.Prediction) ?? throw new OnnxRevException($"the model has no output '{options.Prediction}' to take the loss of (outputs: {string.Join(", ", g.Outputs.Select(o => o.Name))})");
        var b = new GraphBuilder(g);
        var shapes = ShapeInference.Infer(model);
        shapes.TryGetType(prediction, out int elem, out var dims);
        if (elem == 0) elem = prediction.ElementType;
        if (elem != (int)DT.Float && elem != (int)DT.Double)
            throw new OnnxRevException($"output '{prediction.Name}' is {TensorEncoding.TypeName(elem)}; losses need a float or double prediction");
        int opset = (int)(model.OpsetVersion("") ?? 1);
        var ops = new OpsetOps(b, opset, v => b.Initializer(Tensor.FromInt64s("", new long[] { v.Length }, v), "loss_const"));
        Value Scalar(double v) => b.Initializer(elem == (int)DT.Double
            ? Tensor.FromRawBytes("", elem, Array.Empty<long>(), BitConverter.GetBytes(v))
            : Tensor.FromRawBytes("", elem, Array.Empty<long>(), BitConverter.GetBytes((float)v)), "loss_scalar");

        if (options.Kind == LossKind.Output)
        {
            var one = ops.Fill(prediction, 1.0, elem);
            return new LossResult(prediction, new Dictionary<Value, Value> { [prediction] = one }, null, prediction);
        }

        Value labels;
        Value loss, grad;
        if (options.Kind == LossKind.CrossEntropy)
        {
            if (dims is null || dims.Length != 2 || !dims[1].IsKnown)
                throw new OnnxRevException($"cross-entropy needs logits shaped [N, C] with C known; output '{prediction.Name}' is {Dim.Format(dims)}");
            long classes = dims[1].Value;
            labels = AddInput(g, model, LabelsInput, (int)DT.Int64, new[] { dims[0] });
            var logp = b.Op("LogSoftmax", new[] { prediction }, new[] { Attr.FromInt("axis", opset >= 13 ? -1 : 1) }, hint: "loss_logp");
            var onOff = b.Initializer(elem == (int)DT.Double
                ? Tensor.FromRawBytes("", elem, new long[] { 2 }, BitConverter.GetBytes(0.0).Concat(BitConverter.GetBytes(1.0)).ToArray())
                : Tensor.FromFloats("", new long[] { 2 }, new[] { 0f, 1f }), "loss_onoff");
            var depth = b.Initializer(Tensor.FromInt64s("", Array.Empty<long>(), new[] { classes }), "loss_depth");
            var onehot = b.Op("OneHot", new[] { labels, depth, onOff }, new[] { Attr.FromInt("axis", -1) }, hint: "loss_onehot");
            var ignore = b.Initializer(Tensor.FromInt64s("", Array.Empty<long>(), new[] { options.IgnoreIndex }), "loss_ignore");
            var valid = ops.Cast(b.Op("Not", new[] { b.Op("Equal", new[] { labels, ignore }) }), elem);
            var valid2 = ops.Unsqueeze(valid, 1);
            Value target = onehot;
            if (options.LabelSmoothing > 0)
                target = b.Op("Add", new[] { b.Op("Mul", new[] { onehot, Scalar(1 - options.LabelSmoothing) }), Scalar(options.LabelSmoothing / classes) });
            target = b.Op("Mul", new[] { target, valid2 }, hint: "loss_target");
            var perRow = b.Op("Neg", new[] { ops.ReduceSum(b.Op("Mul", new[] { target, logp }), new long[] { 1 }, keepDims: false) });
            var count = b.Op("Max", new[] { ops.ReduceSum(valid, Array.Empty<long>(), keepDims: false), Scalar(1) }, hint: "loss_count");
            loss = b.Op("Div", new[] { ops.ReduceSum(perRow, Array.Empty<long>(), keepDims: false), count });
            grad = b.Op("Div", new[] { b.Op("Sub", new[] { b.Op("Mul", new[] { b.Op("Exp", new[] { logp }), valid2 }), target }), count }, hint: "loss_grad");
        }
        else
        {
            labels = AddInput(g, model, LabelsInput, elem, dims ?? throw new OnnxRevException($"the shape of output '{prediction.Name}' is unknown"));
            var numel = ops.Cast(b.Op("Size", new[] { prediction }), elem);
            var diff = b.Op("Sub", new[] { prediction, labels });
            switch (options.Kind)
            {
                case LossKind.Mse:
                    loss = b.Op("Div", new[] { ops.ReduceSum(b.Op("Mul", new[] { diff, diff }), Array.Empty<long>(), false), numel });
                    grad = b.Op("Div", new[] { b.Op("Mul", new[] { diff, Scalar(2) }), numel });
                    break;
                case LossKind.L1:
                    loss = b.Op("Div", new[] { ops.ReduceSum(b.Op("Abs", new[] { diff }), Array.Empty<long>(), false), numel });
                    grad = b.Op("Div", new[] { b.Op("Sign", new[] { diff }), numel });
                    break;
                default:
                    var z = prediction;
                    var relu = b.Op("Relu", new[] { z });
                    var softplus = b.Op("Log", new[] { b.Op("Add", new[] { Scalar(1), b.Op("Exp", new[] { b.Op("Neg", new[] { b.Op("Abs", new[] { z }) }) }) }) });
                    var per = b.Op("Add", new[] { b.Op("Sub", new[] { relu, b.Op("Mul", new[] { z, labels }) }), softplus });
                    loss = b.Op("Div", new[] { ops.ReduceSum(per, Array.Empty<long>(), false), numel });
                    grad = b.Op("Div", new[] { b.Op("Sub", new[] { b.Op("Sigmoid", new[] { z }), labels }), numel });
                    break;
            }
        }
        var named = new Value(model.Names.Fresh(LossOutput));
        g.Append(new Node("Identity", new[] { loss }, new[] { named }, name: model.Names.Fresh("loss_identity")));
        named.Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elem, Shape = new TensorShapeProto() } };
        return new LossResult(named, new Dictionary<Value, Value> { [prediction] = grad }, labels, prediction);
    }

    private static Value AddInput(Graph g, Model model, string name, int elem, IReadOnlyList<Dim> dims)
    {
        if (g.Inputs.Find(name) is not null || model.Names.IsUsed(name))
            throw new OnnxRevException($"the model already has a value named '{name}'; rename it before adding a loss");
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d.IsKnown ? new TensorShapeProto.Types.Dimension { DimValue = d.Value }
                : d.IsSymbol ? new TensorShapeProto.Types.Dimension { DimParam = d.Symbol } : new TensorShapeProto.Types.Dimension());
        return g.AddInput(new Value(name, new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elem, Shape = shape } }));
    }
}

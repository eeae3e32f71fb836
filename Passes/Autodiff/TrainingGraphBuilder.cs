using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Autodiff;

/// <summary>Everything that defines a training step.</summary>
/// <param name="Loss">The loss.</param>
/// <param name="Optimizer">The optimizer.</param>
/// <param name="Trainable">Which parameters train (with LoRA: which Gemm/MatMul weights get adapters).</param>
/// <param name="Untie">Which shared initializers get one copy per use first.</param>
/// <param name="LoraRank">0 for full training; r &gt; 0 trains rank-r adapters on frozen weights instead.</param>
/// <param name="LoraAlpha">LoRA α (the adapter is scaled by α/r); 0 means α = r.</param>
/// <param name="Memory">How activations are kept for the backward.</param>
/// <param name="KeepZeros">Pruned (exactly zero) weights of the trainable parameters stay zero: see <see cref="Compression.ZeroMasks"/>.</param>
/// <param name="Update">Where the optimizer update runs: in a graph of its own, parameter by parameter (the default,
/// what <c>Trainer</c> runs), or inside the step graph (one self-contained graph, as <c>make-training</c> writes).</param>
public sealed record TrainingOptions(LossOptions Loss, OptimizerOptions Optimizer, TrainableSpec Trainable, UntieMode Untie = UntieMode.Constant, int LoraRank = 0, float LoraAlpha = 0,
    MemoryMode Memory = MemoryMode.Store, bool KeepZeros = false, UpdatePlacement Update = UpdatePlacement.Separate);

/// <summary>Where a training step's optimizer update runs.</summary>
public enum UpdatePlacement
{
    /// <summary>
    /// The step graph ends at the (clipped) gradients; <see cref="TrainingArtifacts.Update"/> updates one parameter per
    /// run, in place of the old value's buffer, so a step holds no second copy of the parameters and optimizer states.
    /// </summary>
    Separate,
    /// <summary>The step graph itself outputs the updated parameters and states (a functional, out-of-place update).</summary>
    InStep,
}

/// <summary>One trainable parameter of a training graph: its input, its updated output, its optimizer states.</summary>
/// <param name="Name">Initializer name in the original model (also the step graph's input name).</param>
/// <param name="Initial">Its value in the original model.</param>
/// <param name="Output">Step-graph output holding the updated value; with a separate update graph
/// (<see cref="TrainingArtifacts.Update"/>), the output holding the parameter's gradient.</param>
/// <param name="StateInputs">Optimizer-state names (e.g. NAME.m, NAME.v): step-graph inputs when the update is in the
/// step graph; with a separate update graph, only the names under which the states are kept (and checkpointed).</param>
/// <param name="StateOutputs">The matching updated-state outputs of the step graph (none with a separate update graph).</param>
public sealed record TrainableParameter(string Name, Tensor Initial, string Output, IReadOnlyList<string> StateInputs, IReadOnlyList<string> StateOutputs);

/// <summary>
/// A training step and its evaluation graph: the step runs forward, loss, backward and optimizer
/// in one standard ONNX graph (inputs: data, labels, lr, step, parameters, optimizer states;
/// outputs: loss, prediction, updated parameters and states), or — with <see cref="Update"/> set — forward, loss
/// and backward (outputs: loss, prediction, gradients), the update then running parameter by parameter in
/// <see cref="Update"/> (<see cref="Optimizers.UpdateModel"/>). The eval graph is the original forward with the
/// same parameters as inputs, so all sessions share the resident weights.
/// </summary>
public sealed record TrainingArtifacts(
    Model Step,
    Model Eval,
    IReadOnlyList<TrainableParameter> Parameters,
    IReadOnlyList<string> DataInputs,
    string? LabelsInput,
    string LossOutput,
    string PredictionOutput,
    UntieMode Untie = UntieMode.Constant,
    IReadOnlyList<LoraAdapter>? Lora = null,
    Model? Update = null)
{
    /// <summary>Name of the learning-rate input (float scalar).</summary>
    public const string LrInput = "lr";

    /// <summary>Name of the step-count input (float scalar, 1 for the first step; for bias correction).</summary>
    public const string StepInput = "step";
}

/// <summary>Builds training and gradient graphs from a forward model.</summary>
public static class TrainingGraphBuilder
{
    /// <summary>A deep copy of a model (external data loaded inline).</summary>
    public static Model Clone(Model model) => ModelReader.FromProto(ModelWriter.ToProto(model), model.BaseDirectory, "model");

    /// <summary>The training step and eval graphs.</summary>
    public static TrainingArtifacts Build(Model forward, TrainingOptions options, GradientRegistry? registry = null)
    {
        registry ??= StandardGradients.Registry;
        var model = Clone(forward);
        ParameterUntying.Untie(model, options.Untie);
        var g = model.Graph;
        var dataInputs = g.Inputs.Where(v => v.Initializer is null).Select(v => v.Name).ToList();
        var originalOutputs = g.Outputs.Select(o => o.Name).ToList();
        IReadOnlyList<LoraAdapter>? lora = null;
        IReadOnlyList<Value> trainable;
        if (options.LoraRank > 0)
        {
            lora = LoraAdapters.Insert(model, options.LoraRank, options.LoraAlpha > 0 ? options.LoraAlpha : options.LoraRank, options.Trainable);
            trainable = new TrainableSpec("names:" + string.Join(",", lora.SelectMany(a => new[] { a.A, a.B }))).Select(model);
        }
        else trainable = options.Trainable.Select(model);
        if (options.KeepZeros && options.LoraRank == 0) Compression.ZeroMasks.Insert(model, trainable);
        // Blocks are found while parameters are still initializers (constants to the finder).
        var plan = options.Memory == MemoryMode.Store ? null : Memory.ActivationPlan.Create(model, options.Memory);
        var initial = trainable.ToDictionary(v => v, v => g.PromoteInitializerToInput(v));
        CheckFloat32(initial);

        var loss = Losses.Attach(model, options.Loss);
        var result = GradientEngine.Build(model, loss.Seeds, trainable, registry, plan);
        var b = new GraphBuilder(g);
        var ops = new OpsetOps(b, (int)(model.OpsetVersion("") ?? 1), v => b.Initializer(Tensor.FromInt64s("", new long[] { v.Length }, v), "opt_axes"));
        var stateNames = options.Optimizer.StateNames;
        bool separate = options.Update == UpdatePlacement.Separate;
        // Per parameter: the value the step graph outputs (its gradient, or its updated value), the names its optimizer
        // states are kept under, and the updated states the step graph outputs (none with a separate update).
        var rows = new List<(Value Param, Value Out, IReadOnlyList<string> States, IReadOnlyList<Value> StatesOut)>();
        Model? update = null;
        if (separate)
        {
            var grads = Optimizers.Clip(b, ops, options.Optimizer, result.Gradients.Select(x => x.Gradient).ToList());
            for (int k = 0; k < grads.Count; k++)
            {
                var p = result.Gradients[k].Parameter;
                rows.Add((p, grads[k], stateNames.Select(s => Fresh(model, $"{p.Name}.{s}")).ToList(), Array.Empty<Value>()));
            }
            update = Optimizers.UpdateModel(options.Optimizer);
        }
        else
        {
            var lr = g.AddInput(new Value(Fresh(model, TrainingArtifacts.LrInput), Scalar()));
            var step = g.AddInput(new Value(Fresh(model, TrainingArtifacts.StepInput), Scalar()));
            var items = new List<(Value, Value, IReadOnlyList<Value>)>();
            foreach (var (p, grad) in result.Gradients)
            {
                var states = stateNames.Select(s => g.AddInput(new Value(Fresh(model, $"{p.Name}.{s}"), p.Type))).ToList();
                items.Add((p, grad, states));
            }
            var updates = Optimizers.Emit(b, ops, options.Optimizer, lr, step, items);
            for (int k = 0; k < items.Count; k++)
            {
                var (p, _, states) = items[k];
                rows.Add((p, updates[k].Param, states.Select(s => s.Name).ToList(), updates[k].States));
            }
        }

        g.Outputs.Clear();
        g.OutputDeclarations.Clear();
        AddOutput(model, loss.Loss, "loss");
        var prediction = AddOutput(model, loss.Prediction, loss.Prediction.Name);
        var parameters = new List<TrainableParameter>();
        foreach (var (p, output, states, statesOut) in rows)
        {
            string outName = AddOutput(model, output, p.Name + (separate ? ".grad" : ".out"));
            var stateOut = statesOut.Select((s, i) => AddOutput(model, s, states[i] + ".out")).ToList();
            parameters.Add(new TrainableParameter(p.Name, initial[p], outName, states, stateOut));
        }
        new Cleanup.DeadCodeElimination().Run(model);
        return new TrainingArtifacts(model, BuildEval(forward, options, trainable, originalOutputs), parameters, dataInputs, loss.Labels?.Name, "loss", prediction, options.Untie, lora, update);
    }

    /// <summary>The original forward with the trainable parameters (or LoRA adapters) as inputs.</summary>
    private static Model BuildEval(Model forward, TrainingOptions options, IReadOnlyList<Value> trainable, IReadOnlyList<string> originalOutputs)
    {
        var eval = Clone(forward);
        ParameterUntying.Untie(eval, options.Untie);
        if (options.LoraRank > 0) LoraAdapters.Insert(eval, options.LoraRank, options.LoraAlpha > 0 ? options.LoraAlpha : options.LoraRank, options.Trainable);
        foreach (var p in trainable.Select(p => eval.Graph.Initializers.First(v => v.Name == p.Name)).ToList())
            eval.Graph.PromoteInitializerToInput(p);
        if (eval.Graph.Outputs.Select(o => o.Name).SequenceEqual(originalOutputs) is false)
            throw new InvalidOperationException("the eval graph must keep the model's outputs");
        return eval;
    }

    /// <summary>
    /// The forward model plus a loss and the gradient of every selected parameter as outputs
    /// (named "grad." + parameter); parameters stay initializers. For one-batch checks (`onnxrev grad`).
    /// </summary>
    public static (Model Model, IReadOnlyList<(string Parameter, string Output)> Gradients, string? Labels) BuildGradient(Model forward, LossOptions lossOptions, TrainableSpec trainable,
        UntieMode untie = UntieMode.Constant, MemoryMode memory = MemoryMode.Store, GradientRegistry? registry = null)
    {
        registry ??= StandardGradients.Registry;
        var model = Clone(forward);
        ParameterUntying.Untie(model, untie);
        var parameters = trainable.Select(model);
        var plan = memory == MemoryMode.Store ? null : Memory.ActivationPlan.Create(model, memory);
        var loss = Losses.Attach(model, lossOptions);
        var result = GradientEngine.Build(model, loss.Seeds, parameters, registry, plan);
        var g = model.Graph;
        g.Outputs.Clear();
        g.OutputDeclarations.Clear();
        AddOutput(model, loss.Loss, "loss");
        var names = result.Gradients.Select(x => (x.Parameter.Name, AddOutput(model, x.Gradient, "grad." + x.Parameter.Name))).ToList();
        new Cleanup.DeadCodeElimination().Run(model);
        return (model, names, loss.Labels?.Name);
    }

    private static string AddOutput(Model model, Value v, string name)
    {
        var g = model.Graph;
        if (v.Name != name && !model.Names.IsUsed(name) && v.Producer is not null && !g.Outputs.Contains(v) && !g.Inputs.Contains(v))
        {
            v.Name = name;
            model.Names.Reserve(name);
        }
        else if (v.Name != name || g.Inputs.Contains(v))
        {
            var o = new Value(Fresh(model, name));
            g.Append(new Node("Identity", new[] { v }, new[] { o }, name: model.Names.Fresh(name + "_identity")));
            v = o;
        }
        g.Outputs.Add(v);
        return v.Name;
    }

    private static string Fresh(Model model, string name)
    {
        if (model.Names.IsUsed(name)) throw new OnnxRevException($"the model already has a value named '{name}', which the training graph needs; rename it first");
        model.Names.Reserve(name);
        return name;
    }

    private static TypeProto Scalar() => new() { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DT.Float, Shape = new TensorShapeProto() } };

    private static void CheckFloat32(Dictionary<Value, Tensor> initial)
    {
        var other = initial.FirstOrDefault(kv => kv.Value.DataType != (int)DT.Float);
        if (other.Key is not null)
            throw new OnnxRevException($"parameter '{other.Key.Name}' is {TensorEncoding.TypeName(other.Value.DataType)}; training graphs update float32 parameters");
    }
}

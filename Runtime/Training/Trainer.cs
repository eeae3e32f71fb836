using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime.Data;
using OnnxRev.Schema;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Training;

/// <summary>Accuracy and mean cross-entropy of a classifier on a dataset.</summary>
public sealed record EvalResult(double Accuracy, double Loss, int Samples);

/// <summary>What a training run did.</summary>
public sealed record TrainResult(long Steps, int Epochs, double FinalLoss, IReadOnlyList<double> EpochLosses, double Seconds);

/// <summary>
/// Runs a training graph step after step in ONNX Runtime. Parameters and optimizer states stay in
/// ONNX Runtime's memory on the chosen device, with no host copy; only the batch, the learning rate,
/// the step number and the scalar loss cross to and from the host. With a separate update graph
/// (<see cref="TrainingArtifacts.Update"/>, the default) the step writes the gradients into buffers of their
/// own and the update replaces one parameter at a time through a pool of spare buffers (one set per shape);
/// with the update inside the step graph, each step's updated outputs (bound to the device) become the next
/// step's inputs. The eval graph reads the same resident parameters.
/// </summary>
public sealed class Trainer : IDisposable
{
    /// <summary>What the trainer keeps of a parameter (not its initial value, which would pin a copy of every weight).</summary>
    private sealed record Slot(string Name, string Output, IReadOnlyList<string> StateInputs, IReadOnlyList<string> StateOutputs, long[] Dims)
    {
        /// <summary>The parameter and its states: the buffers one update replaces.</summary>
        public IReadOnlyList<string> Buffers { get; } = StateInputs.Prepend(Name).ToList();

        /// <summary>Spare buffers are shared by parameters of the same shape.</summary>
        public string ShapeKey { get; } = string.Join(",", Dims);
    }

    private readonly TrainerOptions _o;
    private readonly OrtRunner _step;
    private readonly Lazy<OrtRunner> _eval;
    private readonly OrtRunner? _update;
    private readonly OrtMemoryInfo _device;
    private readonly OrtAllocator _allocator;
    private readonly IReadOnlyList<Slot> _slots;
    private readonly IReadOnlyList<string> _stateNames;
    private readonly string? _labelsInput;
    private readonly string _lossOutput;
    private readonly UntieMode _untie;
    private readonly IReadOnlyList<LoraAdapter>? _lora;
    private readonly Dictionary<string, OrtValue> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OrtValue> _grads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Stack<OrtValue>> _spare = new(StringComparer.Ordinal);
    private readonly OrtValue[] _fresh;
    private OrtIoBinding? _updateBinding;
    /// <summary>Values in host memory while the step's device is a GPU (the initial parameters and states).</summary>
    private readonly HashSet<OrtValue> _onHost = new(ReferenceEqualityComparer.Instance);
    private readonly string _dataInput;
    private readonly long?[] _inputShape;

    /// <summary>Creates sessions for the step and update graphs (the eval session on first use) and loads the initial parameters.</summary>
    public Trainer(TrainingArtifacts artifacts, TrainerOptions options)
    {
        _o = options;
        if (artifacts.DataInputs.Count != 1)
            throw new OnnxRevException($"training needs a model with exactly one data input; this one has {artifacts.DataInputs.Count} ({string.Join(", ", artifacts.DataInputs)})");
        _dataInput = artifacts.DataInputs[0];
        _labelsInput = artifacts.LabelsInput;
        _lossOutput = artifacts.LossOutput;
        _untie = artifacts.Untie;
        _lora = artifacts.Lora;
        _slots = artifacts.Parameters.Select(p => new Slot(p.Name, p.Output, p.StateInputs, p.StateOutputs, p.Initial.Dims.ToArray())).ToList();
        _step = new OrtRunner(ModelWriter.ToBytes(artifacts.Step), options.Runner, "training step");
        // The eval session is created on first use: a run that never evaluates does not hold it.
        var evalBytes = ModelWriter.ToBytes(artifacts.Eval);
        _eval = new Lazy<OrtRunner>(() => new OrtRunner(evalBytes, options.Runner, "eval"));
        if (artifacts.Update is { } update)
        {
            _update = new OrtRunner(ModelWriter.ToBytes(update), options.Runner, "optimizer update");
            _stateNames = update.Graph.Inputs.Select(i => i.Name)
                .Where(n => n is not (Optimizers.UpdateNames.Param or Optimizers.UpdateNames.Grad or TrainingArtifacts.LrInput or TrainingArtifacts.StepInput)).ToList();
        }
        else _stateNames = Array.Empty<string>();
        _fresh = new OrtValue[_stateNames.Count + 1];
        var info = _step.Inputs.First(i => i.Name == _dataInput);
        if (info.ElementType != (int)TensorProto.Types.DataType.Float)
            throw new OnnxRevException($"data input '{_dataInput}' is {ElementTypes.Name(info.ElementType)}; the trainer feeds float32 features");
        _inputShape = info.Shape;
        _device = options.Runner.Device == ExecutionDevice.Cuda
            ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, 0, OrtMemType.Default)
            : OrtMemoryInfo.DefaultInstance;
        _allocator = options.Runner.Device == ExecutionDevice.Cuda ? new OrtAllocator(_step.Session, _device) : OrtAllocator.DefaultInstance;
        foreach (var p in artifacts.Parameters)
        {
            var dims = p.Initial.Dims.ToArray();
            _current[p.Name] = Resident(dims, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(p.Initial.ReadRawBytes()));
            foreach (var s in p.StateInputs) _current[s] = Resident(dims, ReadOnlySpan<float>.Empty);
            // With a separate update, the gradients are written into buffers of their own, allocated once.
            if (_update is not null) _grads[p.Name] = OrtValue.CreateAllocatedTensorValue(_allocator, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, dims);
        }
        // Building the sessions parsed and optimized the graphs in native memory that is free now but still mapped;
        // a device that trains near its memory limit needs it back.
        MemoryStats.TrimNativeHeap();
    }

    /// <summary>
    /// ONNX Runtime's CPU arena statistics of the training-step session (peak bytes in use at once, …), or null where
    /// ORT does not report them; see <see cref="MemoryStats.CpuArenaStats"/>.
    /// </summary>
    public ArenaStats? StepArenaStats() => MemoryStats.CpuArenaStats(_step);

    /// <summary>The same statistics for the optimizer-update session; null when the update is inside the step graph.</summary>
    public ArenaStats? UpdateArenaStats() => _update is null ? null : MemoryStats.CpuArenaStats(_update);

    /// <summary>
    /// Bytes of the buffers the trainer holds outside ONNX Runtime's arenas: parameters, optimizer states, gradients
    /// (separate update) and the spare buffers the update writes into (one set per distinct parameter shape).
    /// </summary>
    public long ResidentBufferBytes() =>
        4 * _current.Values.Concat(_grads.Values).Concat(_spare.Values.SelectMany(s => s)).Sum(v => v.GetTensorTypeAndShape().ElementCount);

    /// <summary>
    /// A float tensor in ONNX Runtime's own CPU memory (not the managed heap), filled from <paramref name="data"/>
    /// or with zeros: when the first step replaces it, its memory goes back to the system at once.
    /// </summary>
    private static OrtValue Native(long[] dims, ReadOnlySpan<float> data)
    {
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, dims);
        var span = value.GetTensorMutableDataAsSpan<float>();
        if (data.IsEmpty) span.Clear(); else data.CopyTo(span);
        return value;
    }

    /// <summary>
    /// <see cref="Native"/>, remembered as host memory when the step runs on a GPU: such a value is dropped, not kept as
    /// a spare, once the update has replaced it with one in device memory.
    /// </summary>
    private OrtValue Resident(long[] dims, ReadOnlySpan<float> data)
    {
        var value = Native(dims, data);
        if (_o.Runner.Device == ExecutionDevice.Cuda) _onHost.Add(value);
        return value;
    }

    /// <summary>Completed optimizer steps.</summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// One optimizer step on one batch given by the caller (<paramref name="features"/>: batch × the data input's
    /// sample shape, row-major; <paramref name="labels"/>: one class per row), at the configured learning rate
    /// (no schedule): for loops of one's own, such as benchmarks that interleave several trainers. Returns the loss.
    /// </summary>
    public double TrainStep(float[] features, long[] labels)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length == 0 || features.Length % labels.Length != 0)
            throw new OnnxRevException($"a batch of {labels.Length} labels cannot go with {features.Length} feature values");
        var sample = _inputShape.Skip(1).Select(d => d ?? throw new OnnxRevException($"data input '{_dataInput}' has a dynamic non-batch dimension; use Fit")).ToArray();
        if (sample.Aggregate(1L, (a, b) => a * b) * labels.Length != features.Length)
            throw new OnnxRevException($"data input '{_dataInput}' takes samples of shape [{string.Join(",", sample)}]; {features.Length} values do not make {labels.Length} of them");
        using var f = OrtValue.CreateTensorValueFromMemory(features, sample.Prepend((long)labels.Length).ToArray());
        using var l = OrtValue.CreateTensorValueFromMemory(labels, new long[] { labels.Length });
        using var lr = OrtValue.CreateTensorValueFromMemory(new[] { (float)_o.LearningRate }, Array.Empty<long>());
        using var step = OrtValue.CreateTensorValueFromMemory(new[] { (float)(StepCount + 1) }, Array.Empty<long>());
        using var runOptions = new RunOptions();
        double loss = RunStep(runOptions, f, l, lr, step);
        if (!double.IsFinite(loss)) throw new TrainingDivergedException($"the loss became {loss} at step {StepCount + 1}; nothing was updated");
        StepCount++;
        return loss;
    }

    /// <summary>Trains on <paramref name="train"/> for the configured epochs (resuming from a checkpoint when asked).</summary>
    public TrainResult Fit(Dataset train)
    {
        train = train.ReshapeFor(_inputShape, _dataInput);
        var start = new BatchPosition(0, 0);
        if (_o.Resume)
        {
            if (_o.CheckpointDir is null) throw new OnnxRevException("--resume needs --checkpoint DIR");
            start = Restore(Checkpoint.Load(_o.CheckpointDir));
        }
        var it = new BatchIterator(train, _o.BatchSize, _o.Seed, shuffle: true, dropLast: true, start: start);
        long total = (long)it.BatchesPerEpoch * _o.Epochs;
        if (_o.MaxSteps is long max) total = Math.Min(total, max);
        var shape = new long[] { _o.BatchSize }.Concat(train.SampleShape.Select(d => (long)d)).ToArray();
        using var features = OrtValue.CreateTensorValueFromMemory(it.Features, shape);
        using var labels = OrtValue.CreateTensorValueFromMemory(it.Labels, new long[] { _o.BatchSize });
        var lr = new float[1];
        var stepNo = new float[1];
        using var lrValue = OrtValue.CreateTensorValueFromMemory(lr, Array.Empty<long>());
        using var stepValue = OrtValue.CreateTensorValueFromMemory(stepNo, Array.Empty<long>());
        using var runOptions = new RunOptions();
        var epochLosses = new List<double>();
        double lossSum = 0, lastLoss = double.NaN;
        int lossCount = 0;
        var clock = Stopwatch.StartNew();
        var window = Stopwatch.StartNew();
        long windowSamples = 0;
        while (StepCount < total && it.Position.Epoch < _o.Epochs)
        {
            if (!it.TryNext(out var batch))
            {
                epochLosses.Add(lossCount > 0 ? lossSum / lossCount : double.NaN);
                lossSum = 0; lossCount = 0;
                Save(it.Position);
                continue;
            }
            lr[0] = (float)LearningRate(StepCount, total);
            stepNo[0] = StepCount + 1;
            double loss = RunStep(runOptions, features, labels, lrValue, stepValue);
            if (!double.IsFinite(loss))
                throw new TrainingDivergedException($"the loss became {loss} at step {StepCount + 1} (epoch {batch.Epoch + 1}, batch {batch.Index + 1}); training stopped" +
                    (_o.CheckpointDir is null ? "" : $", the last good checkpoint in '{_o.CheckpointDir}' is intact") + "; lower the learning rate or clip gradients (--clip-norm)");
            StepCount++;
            lastLoss = loss;
            lossSum += loss; lossCount++;
            windowSamples += batch.Count;
            double rate = windowSamples / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
            if (window.Elapsed.TotalSeconds > 2) { window.Restart(); windowSamples = 0; }
            _o.Progress?.Invoke(new TrainingProgress(StepCount, total, batch.Epoch, batch.Index, it.BatchesPerEpoch, loss, rate));
            if (_o.CheckpointDir is not null && _o.CheckpointEvery > 0 && StepCount % _o.CheckpointEvery == 0) Save(it.Position);
        }
        if (lossCount > 0) epochLosses.Add(lossSum / lossCount);
        Save(it.Position);
        return new TrainResult(StepCount, (int)Math.Ceiling((double)StepCount / it.BatchesPerEpoch), lastLoss, epochLosses, clock.Elapsed.TotalSeconds);
    }

    /// <summary>One training step on the bound batch; returns the loss (nothing is updated when it is not finite).</summary>
    private double RunStep(RunOptions runOptions, OrtValue features, OrtValue labels, OrtValue lrValue, OrtValue stepValue) => _update is null
        ? StepInGraph(runOptions, features, labels, lrValue, stepValue)
        : StepSeparate(runOptions, features, labels, lrValue, stepValue);

    /// <summary>One step of a graph that updates in itself: the updated values (outputs bound to the device) replace the current ones.</summary>
    private double StepInGraph(RunOptions runOptions, OrtValue features, OrtValue labels, OrtValue lrValue, OrtValue stepValue)
    {
        var session = _step.Session;
        using var binding = session.CreateIoBinding();
        binding.BindInput(_dataInput, features);
        if (_labelsInput is not null) binding.BindInput(_labelsInput, labels);
        binding.BindInput(TrainingArtifacts.LrInput, lrValue);
        binding.BindInput(TrainingArtifacts.StepInput, stepValue);
        foreach (var (name, value) in _current) binding.BindInput(name, value);
        binding.BindOutputToDevice(_lossOutput, OrtMemoryInfo.DefaultInstance);
        var outputNames = new List<string>();
        foreach (var p in _slots)
        {
            binding.BindOutputToDevice(p.Output, _device);
            outputNames.Add(p.Name);
            for (int s = 0; s < p.StateOutputs.Count; s++)
            {
                binding.BindOutputToDevice(p.StateOutputs[s], _device);
                outputNames.Add(p.StateInputs[s]);
            }
        }
        try { session.RunWithBinding(runOptions, binding); }
        catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed("training step", e); }
        // The values are ours from here on (the collection is not disposed): parameters move into _current.
        var fresh = binding.GetOutputValues().ToArray();
        double loss = fresh[0].GetTensorDataAsSpan<float>()[0];
        fresh[0].Dispose();
        if (!double.IsFinite(loss))
        {
            foreach (var f in fresh.Skip(1)) f.Dispose();
            return loss;
        }
        for (int k = 0; k < outputNames.Count; k++)
        {
            _current[outputNames[k]].Dispose();
            _current[outputNames[k]] = fresh[k + 1];
        }
        return loss;
    }

    /// <summary>
    /// One step with a separate update: the step graph writes every gradient into its own buffer; then the update
    /// session runs once per parameter, writing the new parameter and states into spare buffers of the same shape,
    /// and the old buffers become the spares for the next parameter of that shape. So a step holds one spare set per
    /// distinct shape, not a second copy of everything. Nothing changes before the loss is known to be finite.
    /// </summary>
    private double StepSeparate(RunOptions runOptions, OrtValue features, OrtValue labels, OrtValue lrValue, OrtValue stepValue)
    {
        var session = _step.Session;
        double loss;
        using (var binding = session.CreateIoBinding())
        {
            binding.BindInput(_dataInput, features);
            if (_labelsInput is not null) binding.BindInput(_labelsInput, labels);
            foreach (var p in _slots) binding.BindInput(p.Name, _current[p.Name]);
            binding.BindOutputToDevice(_lossOutput, OrtMemoryInfo.DefaultInstance);
            foreach (var p in _slots) binding.BindOutput(p.Output, _grads[p.Name]);
            try { session.RunWithBinding(runOptions, binding); }
            catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed("training step", e); }
            using var outputs = binding.GetOutputValues();
            loss = outputs[0].GetTensorDataAsSpan<float>()[0];
        }
        if (!double.IsFinite(loss)) return loss;
        var update = _update!.Session;
        var ub = _updateBinding ??= update.CreateIoBinding();
        foreach (var p in _slots)
        {
            var names = p.Buffers;
            for (int k = 0; k < names.Count; k++) _fresh[k] = TakeSpare(p.ShapeKey, p.Dims);
            ub.ClearBoundInputs();
            ub.ClearBoundOutputs();
            ub.BindInput(Optimizers.UpdateNames.Param, _current[p.Name]);
            ub.BindInput(Optimizers.UpdateNames.Grad, _grads[p.Name]);
            ub.BindInput(TrainingArtifacts.LrInput, lrValue);
            ub.BindInput(TrainingArtifacts.StepInput, stepValue);
            ub.BindOutput(Optimizers.UpdateNames.ParamOut, _fresh[0]);
            for (int s = 0; s < _stateNames.Count; s++)
            {
                ub.BindInput(_stateNames[s], _current[p.StateInputs[s]]);
                ub.BindOutput(Optimizers.UpdateNames.StateOut(_stateNames[s]), _fresh[s + 1]);
            }
            try { update.RunWithBinding(runOptions, ub); }
            catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed("optimizer update", e); }
            for (int k = 0; k < names.Count; k++)
            {
                var old = _current[names[k]];
                _current[names[k]] = _fresh[k];
                // Initial values live in host memory; on a GPU they are not worth keeping as spares.
                if (_onHost.Remove(old) == _onHost.Contains(_fresh[k])) Spares(p.ShapeKey).Push(old);
                else old.Dispose();
            }
        }
        return loss;
    }

    private Stack<OrtValue> Spares(string key)
    {
        if (!_spare.TryGetValue(key, out var stack)) _spare[key] = stack = new Stack<OrtValue>();
        return stack;
    }

    private OrtValue TakeSpare(string key, long[] dims) =>
        Spares(key).TryPop(out var v) ? v : OrtValue.CreateAllocatedTensorValue(_allocator, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, dims);

    private double LearningRate(long step, long total)
    {
        double baseLr = _o.LearningRate;
        return _o.Schedule switch
        {
            LrSchedule.Cosine => baseLr * 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(1, total))),
            LrSchedule.WarmupCosine when step < _o.WarmupSteps => baseLr * (step + 1) / _o.WarmupSteps,
            LrSchedule.WarmupCosine => baseLr * 0.5 * (1 + Math.Cos(Math.PI * (step - _o.WarmupSteps) / Math.Max(1, total - _o.WarmupSteps))),
            _ => baseLr,
        };
    }

    /// <summary>Accuracy and mean cross-entropy of the eval graph's first output (logits) against the labels.</summary>
    public EvalResult Evaluate(Dataset data, int batchSize = 256) =>
        Evaluation.Classify(_eval.Value, _eval.Value.Inputs.First(i => i.Name == _dataInput), data, batchSize,
            _slots.ToDictionary(p => p.Name, p => _current[p.Name]));

    /// <summary>Host copies of the current parameter (and state) values, by name.</summary>
    public Dictionary<string, TensorProto> Snapshot(bool includeStates)
    {
        var names = _slots.SelectMany(p => includeStates ? p.Buffers : new[] { p.Name });
        var result = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var v = _current[name];
            if (v.GetTensorMemoryInfo().GetDeviceType() != OrtMemoryInfoDeviceType.CPU)
                throw new OnnxRevException("reading parameters back from the GPU is not supported in this build");
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.AddRange(v.GetTensorTypeAndShape().Shape);
            t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.GetTensorDataAsSpan<float>()));
            result[name] = t;
        }
        return result;
    }

    /// <summary>The forward model with the trained parameter values written into its initializers.</summary>
    public Model Export(Model forward)
    {
        var model = TrainingGraphBuilder.Clone(forward);
        ParameterUntying.Untie(model, _untie);
        var values = Snapshot(includeStates: false);
        if (_lora is { } adapters)
        {
            // Fold W + (α/r)·A·B into each adapted float weight: the exported model has the original structure.
            // A quantized weight cannot absorb it: its adapter stays a float branch beside the quantized product.
            foreach (var adapter in adapters)
            {
                if (adapter.Quantized)
                {
                    LoraAdapters.Attach(model, adapter, new Tensor(values[adapter.A].Clone()), new Tensor(values[adapter.B].Clone()));
                    continue;
                }
                var w = model.Graph.Initializers.First(v => v.Name == adapter.Weight);
                float[] Floats(string name) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(TensorEncoding.InlineRawBytes(values[name])).ToArray();
                var merged = LoraAdapters.Merge(adapter, w.Initializer!.ToFloatArray(), w.Initializer.Dims, Floats(adapter.A), Floats(adapter.B));
                model.Graph.ReplaceInitializer(w, Tensor.FromFloats(w.Name, w.Initializer.Dims, merged));
            }
            return model;
        }
        foreach (var v in model.Graph.Initializers.ToList())
            if (values.TryGetValue(v.Name, out var t)) model.Graph.ReplaceInitializer(v, new Tensor(t.Clone()));
        return model;
    }

    private void Save(BatchPosition position)
    {
        if (_o.CheckpointDir is null) return;
        new Checkpoint(StepCount, position.Epoch, position.Batch, _o.Seed, Snapshot(includeStates: true)).Save(_o.CheckpointDir);
    }

    private BatchPosition Restore(Checkpoint c)
    {
        if (c.Seed != _o.Seed) throw new OnnxRevException($"the checkpoint was written with --seed {c.Seed}, not {_o.Seed}; resume with the same seed");
        foreach (var name in _current.Keys.ToList())
        {
            if (!c.Tensors.TryGetValue(name, out var t)) throw new OnnxRevException($"the checkpoint has no tensor '{name}'; it belongs to another model or training setup");
            var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(TensorEncoding.InlineRawBytes(t));
            var dims = t.Dims.ToArray();
            if (dims.Aggregate(1L, (a, b) => a * b) != _current[name].GetTensorTypeAndShape().ElementCount)
                throw new OnnxRevException($"checkpoint tensor '{name}' has shape [{string.Join(",", dims)}], which does not fit the model");
            _onHost.Remove(_current[name]);
            _current[name].Dispose();
            _current[name] = Resident(dims, data);
        }
        StepCount = c.Step;
        return new BatchPosition(c.Epoch, c.Batch);
    }

    /// <summary>Frees the sessions and the resident values.</summary>
    public void Dispose()
    {
        foreach (var v in _current.Values.Concat(_grads.Values).Concat(_spare.Values.SelectMany(s => s))) v.Dispose();
        _current.Clear();
        _grads.Clear();
        _spare.Clear();
        _step.Dispose();
        if (_eval.IsValueCreated) _eval.Value.Dispose();
        _updateBinding?.Dispose();
        _update?.Dispose();
        if (!ReferenceEquals(_allocator, OrtAllocator.DefaultInstance)) _allocator.Dispose();
    }
}

/// <summary>The loss became NaN or infinite: training stopped (exit code 1).</summary>
public sealed class TrainingDivergedException(string message) : CheckFailedException(message);

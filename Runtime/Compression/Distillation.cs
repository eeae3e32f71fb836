using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime.Text;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Compression;

/// <summary>How <see cref="Distillation.Run"/> fine-tunes a compressed student against its original.</summary>
public sealed record DistillationOptions
{
    /// <summary>Passes over the training sentences.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Sentences per step (batched by token length so little padding enters).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>AdamW learning rate (cosine decay to 0 over all steps).</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Which student parameters train (<see cref="TrainableSpec"/> syntax).</summary>
    public string Trainable { get; init; } = "all";

    /// <summary>Sentences are truncated to this many tokens ([SEP] kept); every batch is padded to the longest one kept.</summary>
    public int MaxLength { get; init; } = 64;

    /// <summary>Seeds the batch order.</summary>
    public int Seed { get; init; }

    /// <summary>Stop after this many steps (null: all epochs).</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Progress lines; null for silence.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>What a distillation run did.</summary>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="FirstLoss">Mean loss of the first 10 steps.</param>
/// <param name="LastLoss">Mean loss of the last 10 steps.</param>
/// <param name="Seconds">Wall time of the training loop (teacher outputs included).</param>
public sealed record DistillationResult(int Steps, double FirstLoss, double LastLoss, double Seconds);

/// <summary>
/// Knowledge distillation for text encoders (Hinton et al.; teacher = the original model): the student's training
/// step is built by <see cref="TrainingGraphBuilder"/> with the MSE loss of its first output against a "labels"
/// input that receives the teacher's output for the same batch (computed in ONNX Runtime), so no labels are needed:
/// unlabelled sentences are enough. Parameters and AdamW states stay in ONNX Runtime values between steps.
/// </summary>
public static class Distillation
{
    /// <summary>Fine-tunes <paramref name="student"/> towards the teacher model at <paramref name="teacherPath"/> on <paramref name="sentences"/>; returns the trained student.</summary>
    public static (Model Model, DistillationResult Result) Run(string teacherPath, Model student, string vocab, IReadOnlyList<string> sentences, DistillationOptions o)
    {
        var tokenizer = WordPieceTokenizer.FromFile(vocab);
        // An export with static input shapes (e.g. [2, 16]) fixes the batch and the padded length.
        var idsShape = student.Graph.Inputs.Find("input_ids")?.Shape;
        long? staticBatch = idsShape is { Length: 2 } ? idsShape[0] : null, staticLength = idsShape is { Length: 2 } ? idsShape[1] : null;
        var encoded = sentences.Select(x => tokenizer.Encode(x, (int)Math.Min(o.MaxLength, staticLength ?? int.MaxValue))).ToList();
        int length = (int)(staticLength ?? encoded.Max(e => e.Length)), batchSize = (int)(staticBatch ?? Math.Min(o.BatchSize, encoded.Count));
        if (encoded.Count < batchSize) throw new OnnxRevException($"distillation needs at least {batchSize} sentences (one batch), got {encoded.Count}");
        var training = MaskedCopy(student, batchSize, length);
        var artifacts = TrainingGraphBuilder.Build(training, new TrainingOptions(new LossOptions(LossKind.Mse, Prediction: MaskedOutput), new OptimizerOptions(OptimizerKind.AdamW), new TrainableSpec(o.Trainable), Update: UpdatePlacement.InStep));
        if (artifacts.LabelsInput is null) throw new InvalidOperationException("the MSE loss has a labels input");
        var runnerOptions = new RunnerOptions();
        using var teacher = new OrtRunner(teacherPath, runnerOptions);
        using var step = new OrtRunner(ModelWriter.ToBytes(artifacts.Step), runnerOptions, "distillation step");
        var dataNames = artifacts.DataInputs;
        int perEpoch = encoded.Count / batchSize;
        var current = new Dictionary<string, OrtValue>(StringComparer.Ordinal);
        foreach (var p in artifacts.Parameters)
        {
            current[p.Name] = OrtValue.CreateTensorValueFromMemory(p.Initial.ToFloatArray(), p.Initial.Dims.ToArray());
            foreach (var s in p.StateInputs) current[s] = OrtValue.CreateTensorValueFromMemory(new float[p.Initial.ElementCount], p.Initial.Dims.ToArray());
        }
        int total = perEpoch * o.Epochs;
        var order = Enumerable.Range(0, encoded.Count).ToList();
        if (o.MaxSteps is int max) total = Math.Min(total, max);
        var rng = new Random(o.Seed);
        var losses = new List<double>();
        var clock = Stopwatch.StartNew();
        var session = step.Session;
        using var runOptions = new RunOptions();
        try
        {
            for (int k = 0; k < total; k++)
            {
                if (k % perEpoch == 0) Shuffle(order, rng);
                var rows = order.Skip(k % perEpoch * batchSize).Take(batchSize).Select(i => encoded[i]).ToList();
                var (feeds, mask) = Padded(rows, length, tokenizer.PadId);
                var target = teacher.Run(feeds.Where(f => teacher.Inputs.Any(i => i.Name == f.Key)).ToDictionary()).Values.First().AsTensor();
                var masked = TensorProtoData.Floats(target);
                if (target.Dims.Count == 3)
                {
                    int hidden = masked.Length / mask.Length;
                    for (int t = 0; t < mask.Length; t++)
                        if (mask[t] == 0) Array.Clear(masked, t * hidden, hidden);
                }
                var labels = new Schema.TensorProto { Name = artifacts.LabelsInput, DataType = target.DataType };
                labels.Dims.AddRange(target.Dims);
                labels.RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(masked.AsSpan()));
                using var binding = session.CreateIoBinding();
                var owned = new List<OrtValue>();
                foreach (var name in dataNames) owned.Add(Bind(binding, name, TensorConversion.ToOrtValue(feeds[name], name)));
                owned.Add(Bind(binding, artifacts.LabelsInput, TensorConversion.ToOrtValue(labels)));
                float lr = (float)(o.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * k / total)));
                owned.Add(Bind(binding, TrainingArtifacts.LrInput, OrtValue.CreateTensorValueFromMemory(new[] { lr }, Array.Empty<long>())));
                owned.Add(Bind(binding, TrainingArtifacts.StepInput, OrtValue.CreateTensorValueFromMemory(new[] { (float)(k + 1) }, Array.Empty<long>())));
                foreach (var (name, value) in current) binding.BindInput(name, value);
                binding.BindOutputToDevice(artifacts.LossOutput, OrtMemoryInfo.DefaultInstance);
                var names = new List<string>();
                foreach (var p in artifacts.Parameters)
                {
                    binding.BindOutputToDevice(p.Output, OrtMemoryInfo.DefaultInstance);
                    names.Add(p.Name);
                    for (int s = 0; s < p.StateOutputs.Count; s++)
                    {
                        binding.BindOutputToDevice(p.StateOutputs[s], OrtMemoryInfo.DefaultInstance);
                        names.Add(p.StateInputs[s]);
                    }
                }
                try { session.RunWithBinding(runOptions, binding); }
                catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed("distillation step", e); }
                var fresh = binding.GetOutputValues().ToArray();
                double loss = fresh[0].GetTensorDataAsSpan<float>()[0];
                fresh[0].Dispose();
                for (int i = 0; i < names.Count; i++)
                {
                    current[names[i]].Dispose();
                    current[names[i]] = fresh[i + 1];
                }
                foreach (var v in owned) v.Dispose();
                if (!double.IsFinite(loss)) throw new CheckFailedException($"distillation diverged: the loss became {loss} at step {k + 1}; lower --lr");
                losses.Add(loss);
                if ((k + 1) % 20 == 0 || k + 1 == total) o.Log?.Invoke($"distill step {k + 1}/{total}: loss {losses.Skip(Math.Max(0, losses.Count - 20)).Average():G4} ({clock.Elapsed.TotalSeconds:F0} s)");
            }
            var model = TrainingGraphBuilder.Clone(student);
            ParameterUntying.Untie(model, artifacts.Untie);
            foreach (var p in artifacts.Parameters)
            {
                var v = model.Graph.Initializers.First(x => x.Name == p.Name);
                model.Graph.ReplaceInitializer(v, Tensor.FromFloats(p.Name, p.Initial.Dims, current[p.Name].GetTensorDataAsSpan<float>()));
            }
            return (model, new DistillationResult(total, losses.Take(10).Average(), losses.Skip(Math.Max(0, losses.Count - 10)).Average(), clock.Elapsed.TotalSeconds));
        }
        finally
        {
            foreach (var v in current.Values) v.Dispose();
        }
    }

    private const string MaskedOutput = "distill_masked_output";

    /// <summary>
    /// The student as the training graph sees it: inputs fixed to [batch, length] (so every broadcast in the backward is
    /// known statically) and one output, its first output times the attention mask when it is per token [b, s, h]
    /// (padding contributes no loss), or the first output itself.
    /// </summary>
    private static Model MaskedCopy(Model student, int batch, int length)
    {
        var model = TrainingGraphBuilder.Clone(student);
        var g = model.Graph;
        foreach (var input in g.Inputs.Where(i => i.Initializer is null))
        {
            var shape = new Schema.TensorShapeProto();
            shape.Dim.Add(new Schema.TensorShapeProto.Types.Dimension { DimValue = batch });
            shape.Dim.Add(new Schema.TensorShapeProto.Types.Dimension { DimValue = length });
            input.Type = new Schema.TypeProto { TensorType = new Schema.TypeProto.Types.Tensor { ElemType = input.ElementType, Shape = shape } };
        }
        var mask = g.Inputs.Find("attention_mask") ?? throw new OnnxRevException("distillation of a text encoder needs an 'attention_mask' input");
        var b = new Building.GraphBuilder(g);
        if (g.Outputs[0].Shape is { } outShape && outShape.Length != 3)
        {
            // A per-sentence output (pooled embedding, logits): nothing to mask.
            var same = b.Op("Identity", new[] { g.Outputs[0] });
            same.Name = MaskedOutput;
            model.Names.Reserve(MaskedOutput);
            g.Outputs.Clear();
            g.OutputDeclarations.Clear();
            g.Outputs.Add(same);
            return model;
        }
        var axes = b.Initializer(Tensor.FromInt64s("", new long[] { 1 }, new long[] { -1 }), "distill_axes");
        var unsqueezed = (model.OpsetVersion("") ?? 13) >= 13 ? b.Op("Unsqueeze", new[] { mask, axes }) : b.Op("Unsqueeze", new[] { mask }, new[] { Ir.Attribute.FromInts("axes", new long[] { -1 }) });
        var m = b.Op("Cast", new[] { unsqueezed }, new[] { Ir.Attribute.FromInt("to", (long)Schema.TensorProto.Types.DataType.Float) });
        var y = b.Op("Mul", new[] { g.Outputs[0], m });
        y.Name = MaskedOutput;
        model.Names.Reserve(MaskedOutput);
        g.Outputs.Clear();
        g.OutputDeclarations.Clear();
        g.Outputs.Add(y);
        return model;
    }

    /// <summary>Token rows padded with [PAD] to <paramref name="length"/>: the encoder's three inputs and the mask.</summary>
    private static (Dictionary<string, DataValue> Feeds, long[] Mask) Padded(List<int[]> rows, int length, int padId)
    {
        var ids = new long[rows.Count * length];
        var mask = new long[ids.Length];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows.Count; r++)
            for (int t = 0; t < rows[r].Length; t++)
            {
                ids[r * length + t] = rows[r][t];
                mask[r * length + t] = 1;
            }
        DataValue Int64(string name, long[] values)
        {
            var t = new Schema.TensorProto { Name = name, DataType = (int)Schema.TensorProto.Types.DataType.Int64 };
            t.Dims.Add(rows.Count);
            t.Dims.Add(length);
            t.RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            return DataValue.Tensor(t);
        }
        return (new Dictionary<string, DataValue> { ["input_ids"] = Int64("input_ids", ids), ["attention_mask"] = Int64("attention_mask", mask), ["token_type_ids"] = Int64("token_type_ids", new long[ids.Length]) }, mask);
    }

    private static OrtValue Bind(OrtIoBinding binding, string name, OrtValue value)
    {
        binding.BindInput(name, value);
        return value;
    }

    private static void Shuffle<T>(List<T> list, Random rng)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}

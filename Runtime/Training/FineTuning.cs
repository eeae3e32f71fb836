using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime.Data;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Runtime.Training;

/// <summary>How <see cref="FineTuning.Run"/> fine-tunes a classifier head on a frozen pretrained image backbone.</summary>
public sealed record FineTuneOptions
{
    /// <summary>The preprocessing model (one image input, e.g. CNTK's ResNetPreprocess.onnx: [1,3,224,224] pixels 0–255 minus a mean image).</summary>
    public required string PreprocessModel { get; init; }

    /// <summary>The pretrained backbone (e.g. CNTK's ResNet18.onnx: [1,3,224,224] → pooled [1,512,1,1]).</summary>
    public required string BackboneModel { get; init; }

    /// <summary>A folder of IDX files with train and test splits of grey images in [0,1] (Fashion-MNIST).</summary>
    public required string DataDir { get; init; }

    /// <summary>Training images (a stratified seeded subset of the train split).</summary>
    public int TrainCount { get; init; } = 2000;

    /// <summary>Test images (a stratified seeded subset of the test split).</summary>
    public int TestCount { get; init; } = 1000;

    /// <summary>Training epochs of the head.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Head batch size.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>AdamW base learning rate (cosine schedule).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>ONNX Runtime intra-op threads for every session.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Seeds the subsets, the head's initialization and the batch order.</summary>
    public int Seed { get; init; }

    /// <summary>Test images the composed model is run on and checked against the feature pipeline.</summary>
    public int CheckCount { get; init; } = 100;

    /// <summary>Where the composed model is written.</summary>
    public required string OutputPath { get; init; }

    /// <summary>Progress lines (stderr in the benchmark); null for silence.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>What a fine-tuning run measured.</summary>
/// <param name="TrainCount">Training images.</param>
/// <param name="TestCount">Test images.</param>
/// <param name="FeatureSeconds">Time to run preprocess → backbone on every train and test image.</param>
/// <param name="TrainSeconds">Time the trainer took.</param>
/// <param name="Before">The untrained (randomly initialized) head on the test features.</param>
/// <param name="After">The trained head on the test features.</param>
/// <param name="Training">The trainer's report.</param>
/// <param name="HeadCheck">The trained head on the features of the first <see cref="FineTuneOptions.CheckCount"/> test images.</param>
/// <param name="ComposedCheck">The composed model on the same images, from their pixels.</param>
/// <param name="CheckAgreement">How many of those images both give the same class.</param>
/// <param name="CheckMaxAbsLogitDiff">Largest |logit difference| between the two on those images.</param>
/// <param name="ModelPath">The composed model's file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="MeanImageRange">Smallest and largest value of the mean image the preprocessing model subtracts.</param>
public sealed record FineTuneResult(int TrainCount, int TestCount, double FeatureSeconds, double TrainSeconds, EvalResult Before, EvalResult After,
    TrainResult Training, EvalResult HeadCheck, EvalResult ComposedCheck, int CheckAgreement, double CheckMaxAbsLogitDiff, string ModelPath, long Bytes,
    (float Min, float Max) MeanImageRange);

/// <summary>
/// Fine-tunes a linear head on a frozen pretrained image backbone: grey images are upscaled (bilinear) to
/// the backbone's input and repeated into 3 channels of pixel values 0–255, run through the preprocessing
/// model and the backbone in ONNX Runtime one image at a time (the models are fixed at batch 1) to give
/// pooled features; a <see cref="ModelZoo.LinearClassifier"/> head is trained on them with the
/// <see cref="Trainer"/> (AdamW, cross-entropy); preprocessing, backbone, Flatten and the trained head are then
/// composed into one model at the backbone's opset, whose predictions are checked against the feature
/// pipeline's on real test images.
/// </summary>
public static class FineTuning
{
    /// <summary>Runs the whole fine-tuning and check; see the class summary.</summary>
    /// <exception cref="OnnxRevException">Bad inputs (missing files, models of unexpected shape).</exception>
    /// <exception cref="CheckFailedException">The composed model disagrees with the feature pipeline.</exception>
    public static FineTuneResult Run(FineTuneOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var log = o.Log ?? (_ => { });
        var runner = new RunnerOptions { IntraOpThreads = o.Threads };
        var preprocess = ModelReader.Load(o.PreprocessModel);
        var backbone = ModelReader.Load(o.BackboneModel);
        var mean = MeanImageRange(preprocess);
        log($"preprocess: {Path.GetFileName(o.PreprocessModel)} subtracts a mean image with values {mean.Min:F1}…{mean.Max:F1} (so it takes pixel values 0–255)");

        var train = StratifiedSubset(DatasetLoader.Load(o.DataDir, new DataOptions { Split = "train" }), o.TrainCount, o.Seed, 1);
        var test = StratifiedSubset(DatasetLoader.Load(o.DataDir, new DataOptions { Split = "test" }), o.TestCount, o.Seed, 2);
        log($"data: {train.Count} train / {test.Count} test images of [{string.Join(",", train.SampleShape)}] from {o.DataDir}");

        var clock = Stopwatch.StartNew();
        Dataset trainFeatures, testFeatures;
        using (var chain = new ModelChain(new[] { new OrtRunner(o.PreprocessModel, runner), new OrtRunner(o.BackboneModel, runner) }))
        {
            trainFeatures = Extract(chain, train, "train features", log);
            testFeatures = Extract(chain, test, "test features", log);
        }
        double featureSeconds = clock.Elapsed.TotalSeconds;
        int width = trainFeatures.FeatureCount;
        log($"features: {train.Count + test.Count} images → [{width}] in {featureSeconds:F1} s ({(train.Count + test.Count) / featureSeconds:F1} images/s)");

        var head = ModelZoo.LinearClassifier(width, train.ClassCount, o.Seed);
        var artifacts = TrainingGraphBuilder.Build(head, new TrainingOptions(new LossOptions(LossKind.CrossEntropy),
            new OptimizerOptions(OptimizerKind.AdamW, WeightDecay: 0.01), TrainableSpec.All));
        var trainerOptions = new TrainerOptions
        {
            Epochs = o.Epochs, BatchSize = o.BatchSize, LearningRate = o.LearningRate, Schedule = LrSchedule.Cosine, Seed = o.Seed, Runner = runner,
        };
        Model trained;
        EvalResult before, after;
        TrainResult fit;
        using (var trainer = new Trainer(artifacts, trainerOptions))
        {
            before = trainer.Evaluate(testFeatures);
            log($"head before training: test accuracy {before.Accuracy:P1}, loss {before.Loss:F3}");
            fit = trainer.Fit(trainFeatures);
            after = trainer.Evaluate(testFeatures);
            log($"head after {fit.Epochs} epochs ({fit.Steps} steps, {fit.Seconds:F1} s): test accuracy {after.Accuracy:P1}, loss {after.Loss:F3}");
            trained = trainer.Export(head);
        }

        var composed = Compose(preprocess, backbone, trained);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(o.OutputPath));
        if (dir is not null) Directory.CreateDirectory(dir);
        ModelWriter.Save(composed, o.OutputPath);
        long bytes = new FileInfo(o.OutputPath).Length;
        log($"composed: {composed.Graph.Nodes.Count} nodes, opset {composed.OpsetVersion("")}, {bytes / 1e6:F1} MB → {o.OutputPath}");

        // The check: the composed model from pixels vs the trained head on the features, same images.
        var check = test.Take(o.CheckCount);
        float[] expected;
        using (var headRunner = new OrtRunner(ModelWriter.ToBytes(trained), runner, "trained head"))
            expected = Logits(headRunner, testFeatures.Take(o.CheckCount));
        float[] actual;
        using (var chain = new ModelChain(new[] { new OrtRunner(o.OutputPath, runner) }))
            actual = Extract(chain, check, "composed model check", log).Features;
        var headMetrics = new ClassifierMetrics();
        headMetrics.Add(expected, check.Labels, check.Count);
        var composedMetrics = new ClassifierMetrics();
        composedMetrics.Add(actual, check.Labels, check.Count);
        int classes = train.ClassCount, agree = 0;
        double maxDiff = 0;
        for (int i = 0; i < check.Count; i++)
        {
            var e = expected.AsSpan(i * classes, classes);
            var a = actual.AsSpan(i * classes, classes);
            if (ArgMax(e) == ArgMax(a)) agree++;
            for (int c = 0; c < classes; c++) maxDiff = Math.Max(maxDiff, Math.Abs(e[c] - a[c]));
        }
        log($"check on {check.Count} test images: composed accuracy {composedMetrics.Result.Accuracy:P1}, feature pipeline {headMetrics.Result.Accuracy:P1}, " +
            $"same class on {agree}, max |logit diff| {maxDiff:G3}");
        if (composedMetrics.Result.Accuracy != headMetrics.Result.Accuracy)
            throw new CheckFailedException($"the composed model's accuracy on {check.Count} test images ({composedMetrics.Result.Accuracy:P1}) differs from the feature pipeline's ({headMetrics.Result.Accuracy:P1})");
        return new FineTuneResult(train.Count, test.Count, featureSeconds, fit.Seconds, before, after, fit, headMetrics.Result, composedMetrics.Result,
            agree, maxDiff, o.OutputPath, bytes, mean);
    }

    /// <summary>
    /// One model: <paramref name="preprocess"/> → <paramref name="backbone"/> → Flatten → <paramref name="head"/>, each copied
    /// under its own name prefix, at the backbone's default-domain opset (the head's Gemm and Identity mean the same there),
    /// with the preprocessing model's input and a "logits" output.
    /// </summary>
    public static Model Compose(Model preprocess, Model backbone, Model head)
    {
        ArgumentNullException.ThrowIfNull(preprocess);
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(head);
        long opset = backbone.OpsetVersion("") ?? throw new OnnxRevException("the backbone imports no default-domain opset");
        var header = new ModelProto
        {
            IrVersion = Math.Max(4, backbone.IrVersion),   // IR 4: initializers need not be listed as inputs
            ProducerName = "onnxrev",
            ProducerVersion = "finetune",
            DocString = "preprocess + pretrained backbone + Flatten + fine-tuned linear head, composed by OnnxRev",
        };
        header.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        var model = new Model(new Graph("finetuned_classifier"), header);
        var image = DataInput(preprocess);
        var x = model.Graph.AddInput(new Value(image.Name, image.Type?.Clone()));
        var prepared = Single(ModelComposer.Inline(model, preprocess, "preprocess/", new Dictionary<string, Value> { [image.Name] = x }), "preprocess");
        var pooled = Single(ModelComposer.Inline(model, backbone, "backbone/", new Dictionary<string, Value> { [DataInput(backbone).Name] = prepared }), "backbone");
        var features = new GraphBuilder(model.Graph).Op("Flatten", new[] { pooled }, new[] { Attr.FromInt("axis", 1) }, hint: "features");
        var logits = Single(ModelComposer.Inline(model, head, "head/", new Dictionary<string, Value> { [DataInput(head).Name] = features }), "head");
        long batch = image.Shape is { Length: > 0 } s && s[0] is long b ? b : 1;
        long classes = logits.Shape is { Length: 2 } ls && ls[1] is long c ? c : head.Graph.Outputs[0].Shape?[^1] ?? 0;
        var output = new Value("logits", ModelComposer.FloatTensor(batch, classes));
        model.Graph.Append(new Node("Identity", new[] { logits }, new[] { output }, name: model.Names.Fresh("output")));
        model.Graph.Outputs.Add(output);
        return model;
    }

    /// <summary>
    /// A seeded stratified subset of <paramref name="count"/> samples (as equal a share of each class as the
    /// data allows, in a random order); all of them when there are fewer.
    /// </summary>
    public static Dataset StratifiedSubset(Dataset data, int count, int seed, int stream = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        count = Math.Min(count, data.Count);
        var order = new int[data.Count];
        new SeededRandom(seed, 0xF17E, stream).Permutation(order);
        var available = data.LabelCounts();
        var quota = new int[data.ClassCount];
        // Hand out the count one per class round-robin, skipping classes that have run out.
        for (int given = 0; given < count;)
            for (int c = 0; c < quota.Length && given < count; c++)
                if (quota[c] < available[c]) { quota[c]++; given++; }
        var chosen = new List<int>(count);
        foreach (int i in order)
        {
            int label = (int)data.Labels[i];
            if (quota[label] == 0) continue;
            quota[label]--;
            chosen.Add(i);
            if (chosen.Count == count) break;
        }
        return data.Subset(chosen);
    }

    private static Dataset Extract(ModelChain chain, Dataset images, string what, Action<string> log)
    {
        if (images.SampleShape.Count != 2) throw new OnnxRevException($"images in '{images.Source}' have shape [{string.Join(",", images.SampleShape)}]; grey H×W images are expected");
        int h = images.SampleShape[0], w = images.SampleShape[1];
        int size = (int)Math.Round(Math.Sqrt(chain.InputLength / 3.0));
        if (3 * size * size != chain.InputLength) throw new OnnxRevException($"the model takes {chain.InputLength} values, not a 3×S×S image");
        var clock = Stopwatch.StartNew();
        var last = Stopwatch.StartNew();
        var rows = chain.Map(images.Count, (i, buffer) => ImageTransforms.GreyToChannels(images.Sample(i), h, w, buffer, size, 255f), done =>
        {
            if (done != images.Count && last.Elapsed.TotalSeconds < 5) return;
            last.Restart();
            log($"{what}: {done}/{images.Count} ({done / clock.Elapsed.TotalSeconds:F1} images/s)");
        });
        return new Dataset(rows, images.Labels, new[] { rows.Length / Math.Max(1, images.Count) }, images.ClassCount, $"{what} of {images.Source}");
    }

    private static float[] Logits(OrtRunner runner, Dataset features)
    {
        var input = runner.Inputs[0];
        using var x = OrtValue.CreateTensorValueFromMemory(features.Features, new long[] { features.Count, features.FeatureCount });
        using var runOptions = new RunOptions();
        try
        {
            using var results = runner.Session.Run(runOptions, new[] { input.Name }, new[] { x }, new[] { runner.Outputs[0].Name });
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        catch (OnnxRuntimeException e) { throw OrtErrors.RunFailed(runner.ModelName, e); }
    }

    private static (float Min, float Max) MeanImageRange(Model preprocess)
    {
        var sub = preprocess.Graph.Nodes.FirstOrDefault(n => n.OpType == "Sub" && n.Inputs.Count == 2 && n.Inputs[1]?.Initializer is not null)
            ?? throw new OnnxRevException("the preprocessing model has no Sub of a constant (mean image)");
        var mean = sub.Inputs[1]!.Initializer!.ToFloatArray();
        return (mean.Min(), mean.Max());
    }

    private static Value DataInput(Model m)
    {
        var inputs = m.Graph.Inputs.Where(v => v.Initializer is null).ToList();
        return inputs.Count == 1 ? inputs[0] : throw new OnnxRevException($"'{m.Graph.Name}' has {inputs.Count} data inputs; composition needs exactly one");
    }

    private static Value Single(IReadOnlyList<Value> outputs, string what) =>
        outputs.Count == 1 ? outputs[0] : throw new OnnxRevException($"the {what} model has {outputs.Count} outputs; composition needs exactly one");

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
        return best;
    }
}

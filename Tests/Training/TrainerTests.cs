using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>The trainer on real data: learning, exact resume, divergence handling, export.</summary>
public class TrainerTests
{
    private static Dataset Digits() => DatasetLoader.Load(Path.Combine(RepoPaths.Root, "models", "data", "digits.csv.gz"), new DataOptions { Scale = 1f / 16 });

    private static TrainingArtifacts Artifacts(OptimizerOptions? optimizer = null) =>
        TrainingGraphBuilder.Build(ModelZoo.ResidualMlp(depth: 2, width: 32, seed: 3),
            new TrainingOptions(new LossOptions(LossKind.CrossEntropy), optimizer ?? new OptimizerOptions(WeightDecay: 0.01), TrainableSpec.All));

    private static TrainerOptions Options(string? checkpoint = null, long? maxSteps = null, bool resume = false) => new()
    {
        Epochs = 3, BatchSize = 32, LearningRate = 1e-3, Seed = 5, CheckpointDir = checkpoint, CheckpointEvery = 7,
        MaxSteps = maxSteps, Resume = resume, Runner = new RunnerOptions { IntraOpThreads = 1 },
    };

    [Test]
    public void ResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne()
    {
        var data = Digits().Take(640);
        string dir = RepoPaths.NewTempDir();
        try
        {
            Dictionary<string, Schema.TensorProto> straight;
            using (var t = new Trainer(Artifacts(), Options(maxSteps: 50))) { t.Fit(data); straight = t.Snapshot(includeStates: true); }

            string ckpt = Path.Combine(dir, "ckpt");
            using (var t = new Trainer(Artifacts(), Options(ckpt, maxSteps: 23))) t.Fit(data);   // stops mid-epoch
            using var resumed = new Trainer(Artifacts(), Options(ckpt, maxSteps: 50, resume: true));
            resumed.Fit(data);
            Assert.That(resumed.StepCount, Is.EqualTo(50));
            var after = resumed.Snapshot(includeStates: true);
            Assert.That(after.Keys, Is.EquivalentTo(straight.Keys));
            foreach (var (name, t) in straight)
                Assert.That(after[name].RawData.ToByteArray(), Is.EqualTo(t.RawData.ToByteArray()), $"'{name}' differs after resume");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void DivergenceStopsWithAClearMessageAndKeepsTheLastCheckpoint()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string ckpt = Path.Combine(dir, "ckpt");
            var sgd = new OptimizerOptions(OptimizerKind.Sgd);
            var opts = Options(ckpt) with { LearningRate = 1e8, CheckpointEvery = 1 };
            using var t = new Trainer(Artifacts(sgd), opts);
            var e = Assert.Throws<TrainingDivergedException>(() => t.Fit(Digits()))!;
            Assert.That(e.Message, Does.Contain("loss became"));
            var c = Checkpoint.Load(ckpt);
            Assert.That(c.Step, Is.EqualTo(t.StepCount), "the checkpoint is the last step that finished with a finite loss");
            Assert.That(c.Tensors.Values.SelectMany(GradCheck.ToDoubles).All(double.IsFinite), Is.True, "the kept checkpoint holds only finite weights");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void TrainingLearnsAndExportKeepsTheInterface()
    {
        var (train, val) = Digits().Split(0.2, seed: 1);
        var forward = ModelZoo.ResidualMlp(depth: 2, width: 32, seed: 3);
        using var t = new Trainer(TrainingGraphBuilder.Build(forward, new TrainingOptions(new LossOptions(LossKind.CrossEntropy), new OptimizerOptions(WeightDecay: 0.01), TrainableSpec.All)),
            Options() with { Epochs = 10 });
        double before = t.Evaluate(val).Accuracy;
        var result = t.Fit(train);
        double after = t.Evaluate(val).Accuracy;
        Assert.That(after, Is.GreaterThan(0.9), $"validation accuracy {after:P1} (before {before:P1})");
        Assert.That(result.EpochLosses[^1], Is.LessThan(result.EpochLosses[0]));
        var exported = t.Export(forward);
        Assert.That(exported.Graph.Inputs.Select(i => i.Name), Is.EqualTo(forward.Graph.Inputs.Select(i => i.Name)));
        Assert.That(exported.Graph.Outputs.Select(o => o.Name), Is.EqualTo(forward.Graph.Outputs.Select(o => o.Name)));
        using var runner = new OrtRunner(ModelWriter.ToBytes(exported));
        Assert.That(Evaluation.Classify(runner, val).Accuracy, Is.EqualTo(after).Within(1e-9), "the exported model scores what the trainer measured");
    }
}
